// Decoding images from bytes in memory and reading their headers (the image front-end's entry for the
// model layer, the server and the tests).
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>

namespace mpjudge {

// decode_image over bytes the caller owns (a file read by MappedFile, an upload buffer): no copy.
RgbImage decode_image_bytes(const uint8_t* data, size_t size, const std::string& name, const ImageConfig& cfg);

// Pixels handed over in memory, held to what a decoded file must be: positive dimensions, width * height
// * 3 bytes, at most cfg.max_pixels. Error(Input) naming `name` otherwise.
void check_rgb(const RgbImage& img, const std::string& name, const ImageConfig& cfg);

// Width and height from the file header of a sniffed image kind; false when the header is unreadable.
bool image_header_dims(const uint8_t* data, size_t size, const std::string& kind, int64_t& w, int64_t& h);

}  // namespace mpjudge
