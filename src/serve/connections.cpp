// Connection handling for the server (see connections.h).
#include "serve/connections.h"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace mpjudge {

using Clock = std::chrono::steady_clock;

namespace {

Clock::duration span(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

Clock::time_point after(double seconds) { return Clock::now() + span(seconds); }

int ms_until(Clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return int(std::clamp<int64_t>(ms, 0, 1 << 30));
}

// poll() one socket for `events` until `deadline`; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, ms_until(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

void addr_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof(a);
  if ((peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
            : getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len)) != 0)
    return;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&a), len, host, sizeof(host), serv, sizeof(serv),
                  NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

}  // namespace

struct GuardedServer::Connection {
  int fd = -1;
  std::vector<char> buf = std::vector<char>(16384);
  size_t begin = 0, end = 0;  // buffered, unread bytes
  int served = 0;
  Clock::time_point idle_until;  // while parked: closed after this
  Clock::time_point started;     // the current request's first byte
  Clock::time_point deadline;    // the current read phase's
  bool close_after = false;
  double request_timeout_s = 120, write_timeout_s = 30;
  uint64_t id = 0;  // tells a parked connection from a later one at the same address

  bool has_headers() const {
    static const char kEnd[] = "\r\n\r\n";
    return std::search(buf.begin() + long(begin), buf.begin() + long(end), kEnd, kEnd + 4) != buf.begin() + long(end);
  }
  // Reads what has arrived without waiting: 1 read something, 0 nothing yet, -1 closed or failed.
  int read_available() {
    if (begin > 0) {
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    if (end == buf.size()) return 1;  // full: httplib answers an over-long header itself
    ssize_t n;
    do n = ::recv(fd, buf.data() + end, buf.size() - end, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n > 0) end += size_t(n);
    return n > 0 ? 1 : n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  }
};

namespace {

thread_local GuardedServer::Connection* t_current = nullptr;
std::atomic<uint64_t> g_timed_out{0}, g_next_id{1};

// httplib's Stream over a Connection: reads buffered and bounded by the connection's deadline.
class DeadlineStream : public httplib::Stream {
 public:
  explicit DeadlineStream(GuardedServer::Connection& c) : c_(c) {}
  bool is_readable() const override { return c_.begin < c_.end || wait_for(c_.fd, POLLIN, c_.deadline); }
  bool is_writable() const override { return wait_for(c_.fd, POLLOUT, after(c_.write_timeout_s)); }
  ssize_t read(char* ptr, size_t size) override {
    if (c_.begin == c_.end) {
      if (!wait_for(c_.fd, POLLIN, c_.deadline)) {
        g_timed_out++;
        return -1;
      }
      ssize_t n;
      do n = ::recv(c_.fd, c_.buf.data(), c_.buf.size(), 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      c_.begin = 0;
      c_.end = size_t(n);
    }
    const size_t k = std::min(size, c_.end - c_.begin);
    std::memcpy(ptr, c_.buf.data() + c_.begin, k);
    c_.begin += k;
    return ssize_t(k);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!wait_for(c_.fd, POLLOUT, after(c_.write_timeout_s))) {
      g_timed_out++;
      return -1;
    }
    ssize_t n;
    do n = ::send(c_.fd, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { addr_of(c_.fd, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { addr_of(c_.fd, false, ip, port); }
  socket_t socket() const override { return c_.fd; }

 private:
  GuardedServer::Connection& c_;
};

// A connection closed with its request body unread: stop sending, then read and drop what the client
// still sends for a moment, so that closing does not reset the connection before the client has read
// the answer (as nginx's lingering close does).
void linger(GuardedServer::Connection& c) {
  ::shutdown(c.fd, SHUT_WR);
  const Clock::time_point until = after(2.0);
  std::vector<char> sink(65536);
  for (size_t dropped = 0; dropped < (16u << 20) && wait_for(c.fd, POLLIN, until);) {
    const ssize_t n = ::recv(c.fd, sink.data(), sink.size(), 0);
    if (n <= 0) break;
    dropped += size_t(n);
  }
}

}  // namespace

// The task queue httplib runs accepted sockets on; its shutdown (the end of listen) first tells the
// server to stop parking, so that no connection is handed to a queue that is going away.
class GuardedServer::Queue : public httplib::TaskQueue {
 public:
  Queue(GuardedServer* s, size_t threads) : s_(s), pool_(threads) {}
  void enqueue(std::function<void()> fn) override { pool_.enqueue(std::move(fn)); }
  void shutdown() override {
    s_->on_queue_shutdown();
    pool_.shutdown();
  }

 private:
  GuardedServer* s_;
  httplib::ThreadPool pool_;
};

GuardedServer::GuardedServer(const ConnectionLimits& limits) : limits_(limits) {
  limits_.max_connections = std::max(1, limits_.max_connections);
  limits_.max_requests_per_connection = std::max(1, limits_.max_requests_per_connection);
  // What httplib writes in its Keep-Alive header.
  set_keep_alive_max_count(size_t(limits_.max_requests_per_connection));
  set_keep_alive_timeout(time_t(std::max(1.0, limits_.idle_timeout_s)));
  new_task_queue = [this] {
    auto* q = new Queue(this, std::max<size_t>(1, limits_.threads));
    std::lock_guard<std::mutex> lock(mu_);
    queue_ = q;
    closing_ = false;
    return q;
  };
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  poller_ = std::thread([this] { poll_loop(); });
}

GuardedServer::~GuardedServer() {
  stop_poller_ = true;
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof(one)) < 0) { /* the poller also wakes on its own timeout */
  }
  poller_.join();
  for (Connection* c : idle_) close_connection(c);
  idle_.clear();
  ::close(wake_fd_);
}

void GuardedServer::body_phase() {
  if (t_current) t_current->deadline = t_current->started + span(t_current->request_timeout_s);
}

void GuardedServer::close_after_response(httplib::Response& res) {
  if (t_current) t_current->close_after = true;
  res.set_header("Connection", "close");
}

ConnectionStats GuardedServer::stats() const {
  ConnectionStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.idle = int(idle_.size());
  }
  s.open = open_.load();
  s.refused = refused_.load();
  s.evicted = evicted_.load();
  s.timed_out = g_timed_out.load();
  return s;
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  if (open_.fetch_add(1) >= limits_.max_connections) {
    Connection* oldest = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        oldest = idle_.front();
        idle_.erase(idle_.begin());
      }
    }
    if (oldest) {
      evicted_++;
      close_connection(oldest);
    } else {
      const std::string body =
          "{\"error\":{\"status\":503,\"message\":\"too many open connections to this server; retry shortly\"}}";
      const std::string busy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "Retry-After: 1\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      if (::send(sock, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) { /* the client is gone */
      }
      refused_++;
      ::shutdown(sock, SHUT_RDWR);
      ::close(sock);
      open_--;
      return false;
    }
  }
  auto* c = new Connection;
  c->fd = sock;
  c->id = g_next_id++;
  c->request_timeout_s = limits_.request_timeout_s;
  c->write_timeout_s = limits_.write_timeout_s;
  c->idle_until = after(limits_.idle_timeout_s);
  park(c);
  return true;
}

// Serves the requests whose headers are buffered, then parks the connection (or closes it).
void GuardedServer::serve(Connection* c) {
  DeadlineStream strm(*c);
  t_current = c;
  auto header_time = span(limits_.header_timeout_s);
  for (;;) {
    c->deadline = c->started + header_time;
    c->close_after = false;
    const bool last = ++c->served >= limits_.max_requests_per_connection;
    bool closed_by_client = false;
    const bool ok = process_request(strm, last, closed_by_client, nullptr);
    if (c->close_after) {
      linger(*c);
      break;
    }
    if (!ok || closed_by_client || last) break;
    c->started = Clock::now();
    if (c->has_headers()) continue;  // a pipelined request is already buffered
    t_current = nullptr;
    // Part of a next request (its headers still coming) or none.
    c->idle_until = c->begin < c->end ? c->started + header_time : after(limits_.idle_timeout_s);
    park(c);
    return;
  }
  t_current = nullptr;
  close_connection(c);
}

void GuardedServer::park(Connection* c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_ && !stop_poller_) {
      idle_.push_back(c);
      c = nullptr;
    }
  }
  if (c) {
    close_connection(c);
    return;
  }
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof(one)) < 0) { /* already signalled (the counter is full) */
  }
}

void GuardedServer::close_connection(Connection* c) {
  ::shutdown(c->fd, SHUT_RDWR);
  ::close(c->fd);
  delete c;
  open_--;
}

void GuardedServer::on_queue_shutdown() {
  std::vector<Connection*> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    queue_ = nullptr;
    idle.swap(idle_);
  }
  for (Connection* c : idle) close_connection(c);
}

void GuardedServer::poll_loop() {
  std::vector<pollfd> fds;
  std::vector<std::pair<Connection*, uint64_t>> watched;
  while (!stop_poller_) {
    fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
    Clock::time_point next = after(1.0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      watched.clear();
      for (Connection* c : idle_) {
        watched.push_back({c, c->id});
        fds.push_back(pollfd{c->fd, POLLIN, 0});
        next = std::min(next, c->idle_until);
      }
    }
    const int r = ::poll(fds.data(), fds.size(), std::max(1, ms_until(next)));
    if (r < 0 && errno != EINTR) break;
    if (fds[0].revents) {
      uint64_t v;
      while (::read(wake_fd_, &v, sizeof(v)) > 0) {
      }
    }
    std::vector<Connection*> readable, ready, expired, waiting;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const Clock::time_point now = Clock::now();
      for (size_t k = 0; k < watched.size(); ++k) {
        Connection* c = watched[k].first;
        auto it = std::find(idle_.begin(), idle_.end(), c);
        if (it == idle_.end() || c->id != watched[k].second) continue;  // evicted or closed meanwhile
        if (fds[k + 1].revents & (POLLIN | POLLHUP | POLLERR)) {
          idle_.erase(it);
          readable.push_back(c);
        } else if (now >= c->idle_until) {
          idle_.erase(it);
          if (c->begin < c->end) g_timed_out++;  // headers begun and not finished in time
          expired.push_back(c);
        }
      }
    }
    // The request line and headers are collected here, without a thread: a connection goes to the pool
    // only once they are complete, so clients that send them slowly hold no request thread.
    for (Connection* c : readable) {
      const bool was_empty = c->begin == c->end;
      const int got = c->read_available();
      if (got < 0) {
        expired.push_back(c);
        continue;
      }
      if (got > 0 && was_empty) {
        c->started = Clock::now();
        c->idle_until = c->started + span(limits_.header_timeout_s);
      }
      if (c->has_headers() || c->end == c->buf.size())
        ready.push_back(c);
      else if (Clock::now() >= c->idle_until)
        g_timed_out++, expired.push_back(c);
      else
        waiting.push_back(c);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!queue_ || closing_) {
        expired.insert(expired.end(), ready.begin(), ready.end());
        expired.insert(expired.end(), waiting.begin(), waiting.end());
      } else {
        for (Connection* c : ready) queue_->enqueue([this, c] { serve(c); });
        idle_.insert(idle_.end(), waiting.begin(), waiting.end());
      }
    }
    for (Connection* c : expired) close_connection(c);
  }
}

}  // namespace mpjudge
