// libFuzzer harness for the checkpoint reader (model/checkpoint.cpp): any file must either load or
// throw mpjudge::Error (Model); crashes, huge allocations, other exceptions and sanitizer reports are
// bugs. load_checkpoint reads a path, so each input is written to one scratch file first.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/error.h"
#include "model/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/mpjudge_fuzz_checkpoint." + std::to_string(getpid()) + ".mpjc";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    mpjudge::Checkpoint ck = mpjudge::load_checkpoint(path);
    for (const auto& [name, t] : ck.tensors) (void)t.sum().item<double>();
  } catch (const mpjudge::Error& e) {
    if (e.kind() != mpjudge::ErrorKind::Model) __builtin_trap();
  }
  return 0;
}
