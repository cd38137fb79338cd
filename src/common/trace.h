// Stage timings of one process (`MPJUDGE_TRACE=1` in the environment): where the time
// of a command goes, stage by stage (docs/performance.md). Off by default, and then a Scope costs one
// branch. Thread-safe: stages timed on several threads add up (CPU-side time, not wall).
//
//   { trace::Scope t("music: basic-pitch"); run(); }   // adds the scope's milliseconds to the stage
//   trace::report(stderr);                               // one JSON line: {"trace_ms": {stage: ms, ...}}
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace mpjudge::trace {

bool enabled();
void enable();
void add(const char* stage, double ms);
std::vector<std::pair<std::string, double>> stages();  // in the order first seen
void report(FILE* out);

class Scope {
 public:
  explicit Scope(const char* stage) : stage_(enabled() ? stage : nullptr) {
    if (stage_) t0_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (stage_) add(stage_, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const char* stage_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace mpjudge::trace
