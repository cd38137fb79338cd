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

// Sets torch's intra-op thread count (<= 0: leave the default). Throws Error(Usage) for absurd values.
void set_threads(int threads);
RuntimeInfo runtime_info(bool measure_sgemm);

}  // namespace mpjudge
