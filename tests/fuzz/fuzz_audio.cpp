// libFuzzer harness for the audio decoders (sniffing, container checks, libsndfile, libmpg123, soxr).
// Any input must either decode or throw mpjudge::Error; crashes, hangs and sanitizer reports are bugs.
#include <mpjudge/mpjudge.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  mpjudge::AudioConfig cfg;
  cfg.max_duration_s = 60;  // keep single inputs cheap
  cfg.threads = 1;
  try {
    mpjudge::Pcm pcm = mpjudge::decode_audio(bytes, "fuzz", cfg);
    if (pcm.duration_s() >= 1.0 && pcm.duration_s() < 5.0) mpjudge::describe_pcm(pcm, "fuzz");
  } catch (const mpjudge::Error&) {
  }
  return 0;
}
