// Runtime facts about libtorch in this process (see runtime.h).
#include "model/runtime.h"

#include <sched.h>

#include <fstream>
#include <set>
#include <thread>
#include <utility>

#include <malloc.h>

#include <chrono>
#include <fstream>

#include "common/error.h"

namespace mpjudge {

void tune_process_allocator() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // tensors below 256 MiB come from the heap...
  mallopt(M_TRIM_THRESHOLD, 1 << 30);    // ...and the heap is not trimmed after each free
  // One arena: the media workers (Scorer) would otherwise each keep an arena at its own peak. Measured on
  // 24 new pairs (score --pairs, 2 workers): peak RSS 1014 -> 671 MB, and 13.1 -> 11.5 s.
  mallopt(M_ARENA_MAX, 1);
}

int physical_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return int(std::max(1u, std::thread::hardware_concurrency()));
  std::set<std::pair<std::string, std::string>> cores;  // (package, core) of each CPU this process may use
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/";
    std::ifstream pkg(dir + "physical_package_id"), core(dir + "core_id");
    std::string p, k;
    if (!(pkg >> p) || !(core >> k)) return std::max(1, CPU_COUNT(&set));  // no topology: count CPUs
    cores.insert({p, k});
  }
  return std::max<int>(1, int(cores.size()));
}

void set_threads(int threads) {
  if (threads > 256) fail_usage("--threads must be at most 256, got " + std::to_string(threads));
  if (threads > 0) torch::set_num_threads(threads);
}

void set_default_threads() {
  // libtorch's own guess is 1 on some virtual machines (2 cores here), which made ranking 1.4x slower
  // than with 2 threads.
  const int cores = physical_cores();
  if (torch::get_num_threads() < cores) torch::set_num_threads(cores);
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
