// c10d Gloo process group (see distributed.h).
#include "train/distributed.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "common/error.h"
#include "model/torch_pch.h"

namespace mpjudge {

struct Distributed::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::string address;
};

std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
    fail_usage("distributed: cannot resolve the master address '" + host + "'", "check --master-addr / MASTER_ADDR");
  // A UDP "connect" sends nothing; it only asks the kernel which local address routes there.
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  const bool ok = fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0;
  const int err = errno;
  if (fd >= 0) close(fd);
  freeaddrinfo(res);
  if (!ok)
    fail_usage("distributed: no route from this host to the master " + host + " (" + std::strerror(err) + ")",
               "check the network, or name the interface with --interface / GLOO_SOCKET_IFNAME");
  char buf[INET_ADDRSTRLEN] = {0};
  inet_ntop(AF_INET, &local.sin_addr, buf, sizeof buf);
  return buf;
}

namespace {

// c10::Error's what() carries a C++ backtrace; the user needs its first line.
std::string message(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

// The store lives in rank 0: when it stops answering, rank 0 is gone.
[[noreturn]] void lost_store(const DistOptions& o, const std::string& doing, const std::exception& e) {
  fail_internal("distributed: rank " + std::to_string(o.rank) + " lost the store at " + o.master_addr + ":" +
                std::to_string(o.master_port) + doing + " (" + message(e) + "): rank 0 has stopped");
}

std::string key_of(const std::string& phase, int rank) { return "mpjudge/" + phase + "/" + std::to_string(rank); }

std::string rank_list(const std::vector<int>& ranks) {
  std::string s;
  for (int r : ranks) s += (s.empty() ? "" : ", ") + std::to_string(r);
  return s;
}

}  // namespace

Distributed::Distributed(const DistOptions& opt) : opt_(opt), impl_(std::make_unique<Impl>()) {
  if (opt.world < 1 || opt.rank < 0 || opt.rank >= opt.world)
    fail_usage("distributed: expected 0 <= rank < world size, found rank " + std::to_string(opt.rank) + " of " +
               std::to_string(opt.world));
  if (opt.master_port <= 0 || opt.master_port > 65535)
    fail_usage("distributed: --master-port must be 1..65535, found " + std::to_string(opt.master_port));
  if (opt.timeout_s < 1) fail_usage("distributed: --timeout must be at least 1 s");
  const std::string where = opt.master_addr + ":" + std::to_string(opt.master_port);
  const std::string me = "rank " + std::to_string(opt.rank) + " of " + std::to_string(opt.world);
  // 1. The store: rank 0 serves it, the others connect (retrying until the timeout).
  try {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(opt.master_port);
    so.isServer = opt.rank == 0;
    so.numWorkers = opt.world;
    so.waitWorkers = false;  // joining is checked below, so a missing rank can be named
    so.timeout = std::chrono::seconds(opt.timeout_s);
    impl_->store = c10::make_intrusive<c10d::TCPStore>(opt.master_addr, so);
  } catch (const std::exception& e) {
    fail_usage("distributed: " + me + " cannot " + (opt.rank == 0 ? "serve" : "reach") + " the store at " + where +
                   " within " + std::to_string(opt.timeout_s) + " s (" + message(e) + ")",
               opt.rank == 0 ? "is the port free on this machine, and is --master-addr one of its addresses?"
                             : "is rank 0 running, and are --master-addr/--master-port reachable from here?");
  }
  // 2. Everyone announces itself and waits for the others, naming whoever is missing.
  mark("joined");
  std::vector<int> all;
  for (int r = 0; r < opt.world; ++r) all.push_back(r);
  wait("joined", all, opt.timeout_s);
  // 3. Gloo on this rank's own interface: named, or the one whose route leads to the master (the master's
  //    address itself is a local address only on the master).
  try {
    auto go = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(opt.timeout_s));
    if (!opt.interface.empty()) {
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(opt.interface));
      impl_->address = opt.interface;
    } else {
      impl_->address = local_address_towards(opt.master_addr, opt.master_port);
      go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(impl_->address));
    }
    go->threads = 2;
    impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, opt.rank, opt.world, go);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail_usage("distributed: " + me + " cannot connect to its peers through " +
                   (opt.interface.empty() ? "address " + impl_->address : "interface " + opt.interface) + " (" +
                   message(e) + ")",
               "every rank must reach every other on Gloo's ports; pick the interface with --interface or "
               "GLOO_SOCKET_IFNAME");
  }
}

Distributed::~Distributed() = default;

std::string Distributed::device_address() const { return impl_->address; }

void Distributed::mark(const std::string& phase) {
  try {
    impl_->store->set(key_of(phase, opt_.rank), std::vector<uint8_t>{1});
  } catch (const std::exception& e) {
    lost_store(opt_, "", e);
  }
}

void Distributed::wait(const std::string& phase, const std::vector<int>& ranks, double seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int> missing = ranks;
  for (;;) {
    std::vector<int> still;
    try {
      for (int r : missing)
        if (!impl_->store->check({key_of(phase, r)})) still.push_back(r);
    } catch (const std::exception& e) {
      lost_store(opt_, " waiting for '" + phase + "'", e);
    }
    missing = still;
    if (missing.empty()) return;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (seconds > 0 && waited > seconds)
      throw Error(phase == "joined" ? ErrorKind::Usage : ErrorKind::Internal,
                  "distributed: rank(s) " + rank_list(missing) + " of " + std::to_string(opt_.world) + " did not " +
                      (phase == "joined" ? "join" : "reach '" + phase + "'") + " within " +
                      std::to_string(int(seconds)) + " s (seen from rank " + std::to_string(opt_.rank) + ")",
                  "start every rank with the same --master-addr/--master-port/--world-size, or raise --timeout");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

namespace {

template <class F>
void collective(const DistOptions& o, const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Internal,
                "distributed: rank " + std::to_string(o.rank) + " of " + std::to_string(o.world) + ": " + what +
                    " failed (" + message(e) + "); another rank has stopped or is unreachable",
                "restart every rank, with --resume on rank 0: training continues from the last checkpoint");
  }
}

}  // namespace

void Distributed::barrier() {
  collective(opt_, "barrier", [&] { impl_->pg->barrier()->wait(); });
}

void Distributed::broadcast(std::vector<at::Tensor>& tensors) {
  collective(opt_, "broadcast", [&] {
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      impl_->pg->broadcast(one)->wait();
    }
  });
}

void Distributed::allreduce_sum(std::vector<at::Tensor>& grads, at::Tensor& extra) {
  collective(opt_, "all-reduce", [&] {
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
  });
}

}  // namespace mpjudge
