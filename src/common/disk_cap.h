// Size caps for folders of files that can be recomputed or sent again (the server's uploads and map
// images, the feature cache): when a folder passes its cap, its least recently used files are deleted
// until it is at 90% of the cap. "Used" is a file's modification time: code that reuses a file calls
// touch(). Caps are process-wide, one per folder (several Scorers writing one cache share its cap);
// another process writing the same folder is counted at the next eviction, which rescans it.
#pragma once

#include <cstdint>
#include <string>

namespace mpjudge {

// Sets the cap of `dir` (bytes; <= 0 removes it). The folder is scanned at the first write after this.
void set_disk_cap(const std::string& dir, int64_t max_bytes);
// Reports `bytes` newly written under `dir` (a capped folder, or one inside it); evicts when over the
// cap. A folder without a cap: nothing happens.
void disk_cap_added(const std::string& dir, int64_t bytes);
// Marks a file as used now (its modification time); errors are ignored (an evicted file is a miss).
void touch_file(const std::string& path);

}  // namespace mpjudge
