// A progress reporter for long jobs (corpus build, training): on a terminal, one self-updating bar with
// rate and ETA on stderr; otherwise (logs, CI) a plain line at every 10% and at the end. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace mpjudge {

class Progress {
 public:
  // quiet: print nothing. force_plain: plain lines even on a terminal.
  Progress(std::string label, size_t total, bool quiet = false, bool force_plain = false);
  ~Progress();
  void tick(size_t n = 1, const std::string& status = "");  // thread-safe
  void set_status(const std::string& status);
  void finish();  // prints the final line once
  size_t done() const { return done_; }

 private:
  void draw(bool final);
  std::string label_, status_;
  size_t total_, done_ = 0;
  bool quiet_, tty_, finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mu_;
};

std::string format_duration(double seconds);  // "42 s", "3 min 05 s", "1 h 02 min"

}  // namespace mpjudge
