// Whole-file reading and content sniffing shared by the audio and image front-ends.
// Sniffing looks at magic bytes only; decoding is the front-ends' job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mpjudge {

// Reads a whole file. Throws Error(Input): missing, a directory, unreadable, or larger than max_bytes.
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes = 1ULL << 31);

// What the first bytes say a file is: "wav", "flac", "ogg", "mp3", "aiff", "midi", "png", "jpeg",
// "webp", "tiff", "bmp", "gif", "pdf", "zip", "html", "text", "empty", or "" when unknown.
std::string sniff(const uint8_t* data, size_t size);
bool is_audio_kind(const std::string& kind);
bool is_image_kind(const std::string& kind);
// Human name for error messages: "a PNG image", "MIDI (symbolic music, not audio)", "an empty file" ...
std::string describe_kind(const std::string& kind);

}  // namespace mpjudge
