// libFuzzer harness for the image decoders (sniffing, header parsing, OpenCV imgcodecs) and descriptors.
// Any input must either decode or throw mpjudge::Error; crashes, hangs and sanitizer reports are bugs.
#include <mpjudge/mpjudge.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  mpjudge::ImageConfig cfg;
  cfg.max_pixels = 4 * 1024 * 1024;  // keep single inputs cheap
  try {
    mpjudge::RgbImage img = mpjudge::decode_image(bytes, "fuzz", cfg);
    mpjudge::describe_image(img);
  } catch (const mpjudge::Error&) {
  }
  return 0;
}
