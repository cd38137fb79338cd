// JSON forms of the public result structs, shared by the CLI and the server so both print the same keys.
#pragma once

#include <mpjudge/mpjudge.h>

#include <nlohmann/json.hpp>

namespace mpjudge {

using Json = nlohmann::ordered_json;

Json to_json(const MusicDescriptors& d);
Json to_json(const PaintingDescriptors& d);
Json to_json(const Spectrogram& s);  // shape and summary statistics, not the values

}  // namespace mpjudge
