// Data-parallel plumbing on torch's own distributed engine: c10d ProcessGroupGloo over a TCPStore
// (both in Debian's libtorch). Rank 0 hosts the store at master_addr:master_port.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mpjudge {

class Distributed {
 public:
  // Blocks until all `world` ranks have joined; after timeout_s, Error(Usage) naming the address.
  Distributed(const std::string& master_addr, int master_port, int rank, int world, int timeout_s);
  ~Distributed();
  void barrier();
  void broadcast(std::vector<at::Tensor>& tensors);  // from rank 0, in place
  // Sums `grads` (flattened into one buffer) and `extra` over the ranks, in place.
  void allreduce_sum(std::vector<at::Tensor>& grads, at::Tensor& extra);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpjudge
