// The pairs file of batch scoring (`mpjudge score --pairs`): CSV with a header naming `music` and
// `painting` (and optionally `id`), or JSON Lines of {"music", "painting", "id"?} objects. Relative
// media paths are taken from the pairs file's folder, as a dataset's are from its root. Torch-free.
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>
#include <vector>

namespace mpjudge {

// Pairs in file order; a pair without an id gets its 1-based row number ("3"). Error(Input) naming
// "file:row" for a missing column, an empty field, a line that is not a JSON object, or no pairs at all.
std::vector<ScorePair> read_pairs_file(const std::string& path);

}  // namespace mpjudge
