// Runtime facts about libtorch in this process (see runtime.h).
#include "model/runtime.h"

#include <malloc.h>

#include <chrono>
#include <fstream>

#include "common/error.h"

namespace mpjudge {

void tune_process_allocator() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // tensors below 256 MiB come from the heap...
  mallopt(M_TRIM_THRESHOLD, 1 << 30);    // ...and the heap is not trimmed after each free
}

void set_threads(int threads) {
  if (threads > 256) fail_usage("--threads must be at most 256, got " + std::to_string(threads));
  if (threads > 0) torch::set_num_threads(threads);
}

RuntimeInfo runtime_info(bool measure_sgemm) {
  RuntimeInfo r;
  r.torch_version = TORCH_VERSION;
  r.threads = torch::get_num_threads();
  torch::NoGradGuard no_grad;
  auto a = torch::ones({512, 512}), b = torch::ones({512, 512});
  auto c = torch::mm(a, b);  // maps the BLAS into the process
  if (measure_sgemm) {
    double best = 1e9;
    for (int i = 0; i < 5; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      c = torch::mm(a, b);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    r.sgemm_gflops = 2.0 * 512 * 512 * 512 / best / 1e9;
  }
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    std::string path = line.substr(pos);
    if (path.find("libblas") != std::string::npos || path.find("libopenblas") != std::string::npos) {
      r.blas_library = path;
      if (path.find("openblas") != std::string::npos) break;
    }
  }
  return r;
}

}  // namespace mpjudge
