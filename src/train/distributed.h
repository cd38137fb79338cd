// Data-parallel plumbing on torch's own distributed engine: c10d ProcessGroupGloo over a TCPStore
// (both in Debian's libtorch). Rank 0 hosts the store at master_addr:master_port; every rank creates its
// Gloo device on its own interface (the one that routes to the master, or a named one), so ranks on other
// hosts can join. Joining, each collective and the waits between phases are bounded, and failures name
// the rank.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mpjudge {

struct DistOptions {
  std::string master_addr = "127.0.0.1";
  int master_port = 29517;
  int rank = 0, world = 1;
  int timeout_s = 600;    // joining (store and peers) and each collective
  std::string interface;  // network interface for Gloo ("" = the one that routes to master_addr)
};

class Distributed {
 public:
  // Blocks until all ranks have joined. Throws Error(Usage) when the store cannot be reached or a rank
  // does not join within timeout_s, naming the missing ranks.
  explicit Distributed(const DistOptions& opt);
  ~Distributed();
  // Collectives. Throw Error(Internal) naming this rank when a peer is gone or the timeout passes.
  void barrier();
  void broadcast(std::vector<at::Tensor>& tensors);  // from rank 0, in place
  // Sums `grads` (flattened into one buffer) and `extra` over the ranks, in place.
  void allreduce_sum(std::vector<at::Tensor>& grads, at::Tensor& extra);
  // Phase marks through the store: mark(phase) records this rank's arrival; wait(phase, ranks, s) waits
  // until those ranks have marked it, for at most s seconds (s <= 0: as long as the store answers).
  void mark(const std::string& phase);
  void wait(const std::string& phase, const std::vector<int>& ranks, double seconds);
  const DistOptions& options() const { return opt_; }
  std::string device_address() const;  // the local address Gloo listens on

 private:
  struct Impl;
  DistOptions opt_;
  std::unique_ptr<Impl> impl_;
};

// The local IPv4 address whose route leads to `host` (resolved by name or dotted quad); throws
// Error(Usage) when the host does not resolve or no route leads there.
std::string local_address_towards(const std::string& host, int port);

}  // namespace mpjudge
