// Load client for bench/serve.sh: C concurrent clients (one keep-alive connection each) POST the same
// music+painting pair to /v1/score for D seconds; prints one JSON line with throughput, latency
// percentiles and errors. usage: bench_serve_load PORT MUSIC PAINTING [CLIENTS=32] [SECONDS=60]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bench_serve_load PORT MUSIC PAINTING [CLIENTS] [SECONDS]\n");
    return 2;
  }
  const int port = std::stoi(argv[1]);
  auto slurp = [](const char* p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  const std::string music = slurp(argv[2]), painting = slurp(argv[3]);
  const int clients = argc > 4 ? std::stoi(argv[4]) : 32;
  const double seconds = argc > 5 ? std::stod(argv[5]) : 60;
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::mutex mu;
  std::vector<double> lat;
  std::map<int, int> statuses;
  std::atomic<int> failures{0};
  std::vector<std::thread> th;
  for (int c = 0; c < clients; ++c)
    th.emplace_back([&] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_read_timeout(120, 0);
      httplib::MultipartFormDataItems items{{"music", music, "music.wav", "audio/wav"},
                                            {"painting", painting, "painting.png", "image/png"}};
      std::vector<double> mine;
      std::map<int, int> st;
      while (Clock::now() < end) {
        auto a = Clock::now();
        auto r = cli.Post("/v1/score", items);
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - a).count();
        if (!r) {
          failures++;
          continue;
        }
        st[r->status]++;
        if (r->status == 200) mine.push_back(ms);
      }
      std::lock_guard<std::mutex> lock(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
      for (auto [k, v] : st) statuses[k] += v;
    });
  for (auto& t : th) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, size_t(p * double(lat.size())))];
  };
  int errors = failures;
  std::string st;
  for (auto [k, v] : statuses) {
    if (k != 200) errors += v;
    st += (st.empty() ? "" : ",") + std::string("\"") + std::to_string(k) + "\":" + std::to_string(v);
  }
  printf(
      "{\"clients\":%d,\"seconds\":%.1f,\"ok\":%zu,\"errors\":%d,\"connection_failures\":%d,\"statuses\":{%s},"
      "\"rps\":%.2f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f}\n",
      clients, wall, lat.size(), errors, int(failures), st.c_str(), double(lat.size()) / wall, pct(0.5), pct(0.99),
      lat.empty() ? 0.0 : lat.back());
  return 0;
}
