// What the torch runtime looks like on this machine: versions, threads, which BLAS libtorch calls,
// and a quick SGEMM rate. Backs `mpjudge info`, so a user can see whether OpenBLAS is in use.
#pragma once

#include <string>

namespace mpjudge {

struct RuntimeInfo {
  std::string torch_version;
  int threads = 0;
  std::string blas_library;  // resolved path of the libblas.so.3 mapped into the process
  double sgemm_gflops = 0;   // 512x512x512 float matmul, best of 5
};

// For executables (the CLI, the server, benchmarks), not for a host application: keeps freed tensor
// memory in the heap instead of returning it to the kernel after every forward. glibc otherwise
// mmaps each large tensor and unmaps it on free, so every forward page-faults its activations in
// again: MobileNetV2's warm latency halves with this (measured 42-49 ms -> 22-23 ms, 1 thread).
void tune_process_allocator();

// Sets torch's intra-op thread count (<= 0: leave the default). Throws Error(Usage) for absurd values.
void set_threads(int threads);
RuntimeInfo runtime_info(bool measure_sgemm);

}  // namespace mpjudge
