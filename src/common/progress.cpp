// Progress bar (see progress.h).
#include "common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace mpjudge {

std::string format_duration(double s) {
  char buf[64];
  if (s < 0) s = 0;
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%d min %02d s", int(s) / 60, int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%d h %02d min", int(s) / 3600, int(s) % 3600 / 60);
  return buf;
}

Progress::Progress(std::string label, size_t total, bool quiet, bool force_plain)
    : label_(std::move(label)),
      total_(total),
      quiet_(quiet),
      tty_(!force_plain && isatty(2)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::tick(size_t n, const std::string& status) {
  std::lock_guard<std::mutex> lock(mu_);
  done_ += n;
  if (!status.empty()) status_ = status;
  draw(false);
}

void Progress::set_status(const std::string& status) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = status;
  draw(false);
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double frac = total_ ? double(done_) / double(total_) : 1.0;
  const double eta = done_ ? elapsed * (double(total_) - double(done_)) / double(done_) : 0.0;
  char line[512];
  if (tty_) {
    if (!final && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
    last_draw_ = now;
    const int width = 30, fill = int(frac * width + 0.5);
    std::string bar(size_t(fill), '#');
    bar.resize(size_t(width), '.');
    std::snprintf(line, sizeof line, "\r%s [%s] %zu/%zu %3.0f%% %s, ETA %s %s\033[K", label_.c_str(), bar.c_str(),
                  done_, total_, 100 * frac, format_duration(elapsed).c_str(),
                  final ? "0 s" : format_duration(eta).c_str(), status_.c_str());
    std::fputs(line, stderr);
    if (final) std::fputs("\n", stderr);
  } else {
    const int decile = int(frac * 10);
    if (!final && decile == last_decile_) return;
    if (final && last_decile_ == 10) return;
    last_decile_ = decile;
    std::snprintf(line, sizeof line, "%s: %zu/%zu (%.0f%%) after %s, ETA %s %s\n", label_.c_str(), done_, total_,
                  100 * frac, format_duration(elapsed).c_str(), format_duration(eta).c_str(), status_.c_str());
    std::fputs(line, stderr);
  }
  std::fflush(stderr);
}

}  // namespace mpjudge
