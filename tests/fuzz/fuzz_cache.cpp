// libFuzzer harness for the feature-cache reader (model/feature_cache.cpp): any entry must either read
// or be a miss (nullopt); crashes, huge allocations, exceptions and sanitizer reports are bugs.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "model/feature_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mpjudge::FeatureCache cache("/tmp/mpjudge_fuzz_cache." + std::to_string(getpid()));
  static const std::string key = "entry";
  static const bool made = [] {
    cache.put(key, {});  // makes the folder
    return true;
  }();
  (void)made;
  FILE* f = std::fopen(cache.path_for(key).c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto hit = cache.get(key);
  if (hit)
    for (const auto& [name, t] : *hit) (void)t.sum().item<double>();
  return 0;
}
