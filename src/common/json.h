// JSON forms of the public result structs, shared by the CLI and the server so both print the same keys.
#pragma once

#include <mpjudge/mpjudge.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace mpjudge {

using Json = nlohmann::ordered_json;

// A number rounded to `decimals` places (stable, readable output); null when not finite or absent.
Json json_number(double v, int decimals = 4);
Json json_number(const std::optional<double>& v, int decimals = 4);
// Milliseconds since `t0`, to 0.1 ms.
Json json_ms_since(std::chrono::steady_clock::time_point t0);

Json to_json(const MusicDescriptors& d);
Json to_json(const PaintingDescriptors& d);
Json to_json(const Spectrogram& s);  // shape and summary statistics, not the values
// `mpjudge features`: encoder, hash, size, summary statistics, the nsfwjs classes or the most active
// pitches; the whole vector too when `values`.
Json to_json(const PaintingFeatures& f, bool values);
Json to_json(const MusicFeatures& f, bool values);
// A score (`mpjudge score`, the server): score, its percentile among the model's reference scores (null
// without them), model, its sha256 and version, arch, the two files, whether each came from the cache.
Json score_json(const ScoreResult& r, const std::string& music, const std::string& painting);

}  // namespace mpjudge
