// c10d Gloo process group (see distributed.h).
#include "train/distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "common/error.h"
#include "model/torch_pch.h"

namespace mpjudge {

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

Distributed::Distributed(const std::string& addr, int port, int rank, int world, int timeout_s)
    : impl_(std::make_unique<Impl>()) {
  if (world < 1 || rank < 0 || rank >= world)
    fail_usage("distributed: expected 0 <= rank < world size, found rank " + std::to_string(rank) + " of " +
               std::to_string(world));
  if (port <= 0 || port > 65535)
    fail_usage("distributed: --master-port must be 1..65535, found " + std::to_string(port));
  try {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(port);
    so.isServer = rank == 0;
    so.numWorkers = world;
    so.waitWorkers = true;
    so.timeout = std::chrono::seconds(timeout_s);
    impl_->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
    auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::minutes(30));
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(rank == 0 ? addr : addr));
    opts->threads = 2;
    impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, rank, world, opts);
  } catch (const c10::Error& e) {
    fail_usage("distributed: cannot join the process group at " + addr + ":" + std::to_string(port) + " as rank " +
                   std::to_string(rank) + " of " + std::to_string(world) + " (" + e.what_without_backtrace() + ")",
               "check --master-addr/--master-port, that the port is free on the master and reachable from every rank");
  }
}

Distributed::~Distributed() = default;

void Distributed::barrier() { impl_->pg->barrier()->wait(); }

void Distributed::broadcast(std::vector<at::Tensor>& tensors) {
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    impl_->pg->broadcast(one)->wait();
  }
}

void Distributed::allreduce_sum(std::vector<at::Tensor>& grads, at::Tensor& extra) {
  std::vector<at::Tensor> flat_parts;
  for (auto& g : grads) flat_parts.push_back(g.reshape(-1));
  std::vector<at::Tensor> bufs{torch::cat(flat_parts)};
  impl_->pg->allreduce(bufs)->wait();
  int64_t off = 0;
  for (auto& g : grads) {
    const int64_t n = g.numel();
    g = bufs[0].narrow(0, off, n).view(g.sizes());
    off += n;
  }
  std::vector<at::Tensor> e{extra};
  impl_->pg->allreduce(e)->wait();
}

}  // namespace mpjudge
