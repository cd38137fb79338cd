// Stage timings (see trace.h).
#include "common/trace.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "common/json.h"

namespace mpjudge::trace {

namespace {
std::atomic<int> g_on{-1};  // -1: not yet read from the environment
std::mutex g_mu;
std::vector<std::pair<std::string, double>>& table() {
  static std::vector<std::pair<std::string, double>> t;
  return t;
}
}  // namespace

bool enabled() {
  int on = g_on.load(std::memory_order_relaxed);
  if (on < 0) {
    const char* e = std::getenv("MPJUDGE_TRACE");
    on = e && *e && std::string(e) != "0";
    g_on.store(on, std::memory_order_relaxed);
  }
  return on == 1;
}

void enable() { g_on.store(1); }

void add(const char* stage, double ms) {
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto& [name, total] : table())
    if (name == stage) {
      total += ms;
      return;
    }
  table().emplace_back(stage, ms);
}

std::vector<std::pair<std::string, double>> stages() {
  std::lock_guard<std::mutex> lock(g_mu);
  return table();
}

void report(FILE* out) {
  Json j = Json::object();
  for (const auto& [name, ms] : stages()) j[name] = json_number(ms, 1);
  std::fprintf(out, "%s\n", Json{{"trace_ms", j}}.dump().c_str());
}

}  // namespace mpjudge::trace
