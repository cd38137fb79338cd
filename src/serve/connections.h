// The server's connection handling: an httplib::Server whose sockets this project serves itself, so that
// slow, idle and oversized clients cannot exhaust it (cpp-httplib 0.11.4, as Debian ships it, has no
// connection cap, reads a declared Content-Length to its end before answering 413, and gives every idle
// keep-alive socket a thread). Here:
// - a connection holds no thread until its request line and headers are complete: one poller watches
//   every idle socket, collects header bytes as they come and hands the connection to the thread pool
//   once they are in, so idle clients and clients that send headers slowly cost a socket, not a thread;
// - the headers must arrive within header_timeout, the whole request within request_timeout (both from
//   its first byte), a response write may stall at most write_timeout; a client that sends its body
//   slowly holds a thread up to request_timeout (a proxy in front buffers bodies: docs/deploy.md);
// - at most max_connections sockets are open; a new one beyond that closes the longest-idle socket, or,
//   when none is idle, is answered 503 and closed;
// - a handler that answers without reading the body (413, 429, ...) asks for the connection to be closed
//   after the response, so the unread body is never parsed as a next request.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mpjudge {

struct ConnectionLimits {
  int max_connections = 512;
  double idle_timeout_s = 5;     // a keep-alive socket (or a new one) with no request is closed after this
  double header_timeout_s = 10;  // request line and headers
  double request_timeout_s = 120;
  double write_timeout_s = 30;
  int max_requests_per_connection = 100;
  size_t threads = 16;  // request threads (a thread serves one connection with bytes to read)
};

struct ConnectionStats {
  int open = 0;
  int idle = 0;
  uint64_t refused = 0;    // 503: the cap was reached with no idle socket to close
  uint64_t evicted = 0;    // idle sockets closed to admit a new connection
  uint64_t timed_out = 0;  // reads or writes that ran past their deadline
};

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(const ConnectionLimits& limits);
  ~GuardedServer() override;

  // On a handler's thread (the pre-routing and 100-continue handlers included): the headers are in,
  // the body may take until request_timeout from the request's first byte.
  static void body_phase();
  // On a handler's thread: close the connection after this response (its body was left unread).
  static void close_after_response(httplib::Response& res);

  ConnectionStats stats() const;

  struct Connection;

 private:
  bool process_and_close_socket(socket_t sock) override;
  void serve(Connection* c);
  void park(Connection* c);
  void close_connection(Connection* c);
  void poll_loop();
  void on_queue_shutdown();
  class Queue;

  ConnectionLimits limits_;
  mutable std::mutex mu_;
  Queue* queue_ = nullptr;  // the task queue of the current listen (owned by httplib)
  bool closing_ = false;
  std::vector<Connection*> idle_;  // parked, oldest first
  std::atomic<int> open_{0};
  std::atomic<uint64_t> refused_{0}, evicted_{0};
  int wake_fd_ = -1;
  std::atomic<bool> stop_poller_{false};
  std::thread poller_;
};

}  // namespace mpjudge
