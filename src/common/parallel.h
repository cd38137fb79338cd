// A small work-sharing loop: `threads` workers (the caller's thread included) take indices 0..n-1 in
// turn. body(i, worker) may keep per-worker state indexed by `worker` (0..threads-1). The first
// exception stops the remaining work and is rethrown once every worker has finished.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mpjudge {

template <class F>
void parallel_for(size_t n, int threads, F&& body) {
  threads = std::max(1, threads);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr first;
  auto worker = [&](int w) {
    for (size_t i; (i = next++) < n;) {
      try {
        body(i, w);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!first) first = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& t : pool) t.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace mpjudge
