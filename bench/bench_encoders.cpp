// Encoder benchmark (C++ side): MobileNetV2 on one 224x224 image and basic-pitch over a music clip.
// Prints one JSON object: model load, first forward in this fresh process (cold), warm median.
#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <mpjudge/mpjudge.h>

#include "model/encoders.h"
#include "model/runtime.h"

using namespace mpjudge;
using Clock = std::chrono::steady_clock;

static double ms(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

int main(int argc, char** argv) {
  int threads = 1, runs = 20, bp_runs = 3;
  const char* music = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--threads"))
      threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--runs"))
      runs = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--bp-runs"))
      bp_runs = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--music"))
      music = argv[i + 1];
  }
  if (!music) {
    fprintf(stderr, "usage: bench_encoders --music CLIP [--threads N] [--runs N] [--bp-runs N]\n");
    return 2;
  }
  tune_process_allocator();  // as the mpjudge CLI does
  try {
    at::set_num_threads(threads);
    at::NoGradGuard no_grad;
    auto t0 = Clock::now();
    MobileNetV2 net;
    double mn_load = ms(t0);
    at::Tensor x = at::rand({1, 3, 224, 224});
    t0 = Clock::now();
    net.forward(x, false);
    double mn_first = ms(t0);
    std::vector<double> warm;
    for (int r = 0; r < runs; ++r) {
      t0 = Clock::now();
      net.forward(x, false);
      warm.push_back(ms(t0));
    }
    std::sort(warm.begin(), warm.end());

    AudioConfig ac;
    ac.sample_rate = BasicPitch::kSampleRate;
    ac.duration_s = 30;
    Pcm pcm = load_audio(music, ac);
    t0 = Clock::now();
    BasicPitch bp;
    double bp_load = ms(t0);
    t0 = Clock::now();
    bp.run(pcm.samples.data(), pcm.samples.size());
    double bp_first = ms(t0);
    std::vector<double> bp_warm;
    for (int r = 0; r < bp_runs; ++r) {
      t0 = Clock::now();
      bp.run(pcm.samples.data(), pcm.samples.size());
      bp_warm.push_back(ms(t0));
    }
    std::sort(bp_warm.begin(), bp_warm.end());
    printf(
        "{\"mobilenet_load_ms\": %.1f, \"mobilenet_cold_ms\": %.1f, \"mobilenet_warm_ms\": %.2f, "
        "\"basic_pitch_load_ms\": %.1f, \"basic_pitch_cold_ms\": %.1f, \"basic_pitch_warm_ms\": %.1f, \"clip_s\": "
        "%.2f}\n",
        mn_load, mn_first, warm[warm.size() / 2], bp_load, bp_first,
        bp_warm.empty() ? bp_first : bp_warm[bp_warm.size() / 2], pcm.duration_s());
  } catch (const Error& e) {
    fprintf(stderr, "bench_encoders: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
