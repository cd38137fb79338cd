// Internals of the image front-end shared between its .cpp files and the tests; not public API.
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>

namespace mpjudge {

// decode_image over bytes the caller owns (a file read by MappedFile, an upload buffer): no copy.
RgbImage decode_image_bytes(const uint8_t* data, size_t size, const std::string& name, const ImageConfig& cfg);

// Width and height from the file header of a sniffed image kind; false when the header is unreadable.
bool image_header_dims(const uint8_t* data, size_t size, const std::string& kind, int64_t& w, int64_t& h);

// The BCP-37 colour table of Palmer et al. (2013): Lab and mean happy/sad/angry ratings (-100..100).
struct Bcp37Colour {
  const char* name;
  double L, a, b, happy, sad, angry;
};
const Bcp37Colour* bcp37_colours();  // 37 entries
constexpr int kBcp37Count = 37;

}  // namespace mpjudge
