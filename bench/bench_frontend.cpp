// Front-end benchmark: decode + resample + log-mel of a music clip, the log-mel alone, and
// decode + resize + descriptors of a painting. Prints one JSON object; bench/frontend.sh puts it in a
// table beside the Python peer (bench/frontend_peer.py). Cold = the first call in this process.
#include <mpjudge/mpjudge.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

using namespace mpjudge;

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Returns {cold, median of the warm runs} in milliseconds.
std::pair<double, double> measure(int runs, const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  double cold = ms_since(t0);
  std::vector<double> warm;
  for (int i = 0; i < runs; ++i) {
    t0 = std::chrono::steady_clock::now();
    fn();
    warm.push_back(ms_since(t0));
  }
  std::sort(warm.begin(), warm.end());
  return {cold, warm[warm.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  const char* music = nullptr;
  const char* painting = nullptr;
  int threads = 1, runs = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--music"))
      music = argv[i + 1];
    else if (!strcmp(argv[i], "--painting"))
      painting = argv[i + 1];
    else if (!strcmp(argv[i], "--threads"))
      threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--runs"))
      runs = atoi(argv[i + 1]);
  }
  if (!music || !painting || runs < 1) {
    fprintf(stderr, "usage: bench_frontend --music FILE --painting FILE [--threads N] [--runs N]\n");
    return 2;
  }
  try {
    AudioConfig ac;
    ac.duration_s = 30;
    ac.threads = threads;
    MelConfig mc;
    mc.threads = threads;
    Pcm pcm;
    auto audio = measure(runs, [&] {
      pcm = load_audio(music, ac);
      Spectrogram s = mel_spectrogram(pcm, mc);
      if (s.n_frames == 0) abort();
    });
    auto mel = measure(runs, [&] {
      Spectrogram s = mel_spectrogram(pcm, mc);
      if (s.n_frames == 0) abort();
    });
    PaintingDescriptors pd;
    auto image = measure(runs, [&] { pd = describe_painting(painting); });
    printf(
        "{\"clip_s\": %.2f, \"audio_path_cold_ms\": %.2f, \"audio_path_ms\": %.2f, \"mel_cold_ms\": %.2f, "
        "\"mel_ms\": %.2f, \"painting_path_cold_ms\": %.2f, \"painting_path_ms\": %.2f, \"painting\": \"%dx%d\"}\n",
        pcm.duration_s(), audio.first, audio.second, mel.first, mel.second, image.first, image.second, pd.width,
        pd.height);
  } catch (const Error& e) {
    fprintf(stderr, "bench_frontend: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
