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

// Sets torch's intra-op thread count (<= 0: leave it as it is, as a library in a host application
// must). Throws Error(Usage) for absurd values.
void set_threads(int threads);
// For executables: one intra-op thread per physical core the process may run on, unless libtorch's own
// default is higher.
void set_default_threads();
// Physical cores among the CPUs of this process's affinity mask (sysfs topology; 1 at least).
int physical_cores();
RuntimeInfo runtime_info(bool measure_sgemm);

}  // namespace mpjudge
