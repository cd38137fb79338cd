// STFT power spectrum on FFTW (single precision, r2c). Plans are made once per size under a mutex (the
// planner is not thread-safe) and executed with the new-array interface from any thread. Plans are
// FFTW_ESTIMATE: measured plans cost ~150 ms in a fresh process (the CLI's cold path) and were only
// ~10% faster here; FFTW's system wisdom (/etc/fftw/wisdomf, Debian libfftw3-bin's fftwf-wisdom) is
// used when an administrator has made it.
#include "audio/stft.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include "common/error.h"

namespace mpjudge {

void fftw_thread_safe() {
  // aubio plans its own FFTs under its own lock; this makes FFTW's planner itself thread-safe, so
  // aubio objects and our plans can be created from several threads at once (corpus build, training).
  static std::once_flag once;
  std::call_once(once, [] { fftwf_make_planner_thread_safe(); });
}

namespace {

fftwf_plan get_plan(int n) {
  fftw_thread_safe();
  static std::mutex mutex;
  // Never destroyed: plans live for the process, and stay reachable for leak checkers at exit.
  static auto& plans = *new std::map<int, fftwf_plan>();
  static bool wisdom_loaded = false;
  std::lock_guard<std::mutex> lock(mutex);
  if (!wisdom_loaded) {
    fftwf_import_system_wisdom();  // returns 0 when there is none: fine
    wisdom_loaded = true;
  }
  auto it = plans.find(n);
  if (it != plans.end()) return it->second;
  float* in = fftwf_alloc_real(size_t(n));
  fftwf_complex* out = fftwf_alloc_complex(size_t(n / 2 + 1));
  fftwf_plan p = fftwf_plan_dft_r2c_1d(n, in, out, FFTW_MEASURE | FFTW_WISDOM_ONLY);
  if (!p) p = fftwf_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
  fftwf_free(in);
  fftwf_free(out);
  if (!p) fail_internal("FFTW could not plan an FFT of size " + std::to_string(n));
  plans[n] = p;
  return p;
}

// Reflect padding as numpy/torch "reflect" (the edge sample is not repeated).
inline float reflect_at(const float* x, long n, long i) {
  if (n == 1) return x[0];
  const long period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return x[i < n ? i : period - i];
}

}  // namespace

int stft_frame_count(size_t n, const StftConfig& cfg) {
  const long pad = cfg.center ? cfg.n_fft / 2 : 0;
  const long padded = long(n) + 2 * pad;
  return padded < cfg.n_fft ? 0 : int(1 + (padded - cfg.n_fft) / cfg.hop_length);
}

void stft_frames(const float* x, size_t n, const StftConfig& cfg, int threads,
                 const std::function<void(int, const float*)>& consume) {
  if (cfg.n_fft < 2 || cfg.win_length < 1 || cfg.win_length > cfg.n_fft || cfg.hop_length < 1)
    fail_usage("STFT needs n_fft >= 2, 1 <= win_length <= n_fft and hop_length >= 1");
  const int nfft = cfg.n_fft, nbins = nfft / 2 + 1;
  const long pad = cfg.center ? nfft / 2 : 0;
  const int n_frames = stft_frame_count(n, cfg);
  if (n_frames == 0) return;

  // Periodic Hann of win_length, centred in n_fft (torch.stft's zero-padding of a short window).
  std::vector<float> window(static_cast<size_t>(nfft), 0.0f);
  const int off = (nfft - cfg.win_length) / 2;
  double wsum2 = 0;
  for (int i = 0; i < cfg.win_length; ++i) {
    double w = 0.5 - 0.5 * std::cos(2.0 * M_PI * i / cfg.win_length);
    window[size_t(off + i)] = float(w);
    wsum2 += w * w;
  }
  const float scale = cfg.normalized ? float(1.0 / std::sqrt(wsum2)) : 1.0f;
  fftwf_plan plan = get_plan(nfft);

  auto work = [&](int f0, int f1) {
    float* buf = fftwf_alloc_real(size_t(nfft));
    fftwf_complex* spec = fftwf_alloc_complex(size_t(nbins));
    std::vector<float> row(static_cast<size_t>(nbins));
    for (int f = f0; f < f1; ++f) {
      long start = long(f) * cfg.hop_length - pad;
      if (start >= 0 && start + nfft <= long(n)) {
        const float* src = x + start;
        for (int i = 0; i < nfft; ++i) buf[i] = src[i] * window[size_t(i)];
      } else {
        for (int i = 0; i < nfft; ++i) buf[i] = reflect_at(x, long(n), start + i) * window[size_t(i)];
      }
      fftwf_execute_dft_r2c(plan, buf, spec);
      if (cfg.power == 2.0) {
        const float s2 = scale * scale;
        for (int k = 0; k < nbins; ++k) row[size_t(k)] = (spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1]) * s2;
      } else if (cfg.power == 1.0) {
        for (int k = 0; k < nbins; ++k)
          row[size_t(k)] = std::sqrt(spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1]) * scale;
      } else {
        for (int k = 0; k < nbins; ++k)
          row[size_t(k)] = float(std::pow(double(std::hypot(spec[k][0], spec[k][1])) * scale, cfg.power));
      }
      consume(f, row.data());
    }
    fftwf_free(buf);
    fftwf_free(spec);
  };

  if (threads <= 0) threads = int(std::min(4u, std::max(1u, std::thread::hardware_concurrency())));
  // Threads only pay off for longer clips; below ~200 frames the spawn costs more than it saves.
  threads = std::max(1, std::min(threads, n_frames / 200));
  if (threads == 1) {
    work(0, n_frames);
    return;
  }
  std::vector<std::thread> pool;
  const int per = (n_frames + threads - 1) / threads;
  for (int t = 1; t < threads; ++t) {
    int f0 = t * per, f1 = std::min(n_frames, f0 + per);
    if (f0 < f1) pool.emplace_back(work, f0, f1);
  }
  work(0, std::min(n_frames, per));  // the calling thread takes the first range
  for (auto& th : pool) th.join();
}

PowerSpec stft_power(const float* x, size_t n, const StftConfig& cfg, int threads) {
  PowerSpec out;
  out.n_bins = cfg.n_fft / 2 + 1;
  out.n_frames = stft_frame_count(n, cfg);
  out.data.assign(size_t(out.n_frames) * size_t(out.n_bins), 0.0f);
  stft_frames(x, n, cfg, threads, [&](int f, const float* row) {
    std::copy(row, row + out.n_bins, out.data.begin() + long(f) * out.n_bins);
  });
  return out;
}

}  // namespace mpjudge
