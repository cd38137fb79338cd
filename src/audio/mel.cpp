// Log-mel spectrogram mirroring torchaudio.transforms.MelSpectrogram (+ AmplitudeToDB).
// The filter bank is built exactly as torchaudio.functional.melscale_fbanks and stored sparsely
// (each triangle's first bin and weights), so the projection costs ~2 multiply-adds per FFT bin.
#include <algorithm>
#include <cmath>

#include "audio/stft.h"
#include "common/error.h"

namespace mpjudge {
namespace {

double hz_to_mel(double f, bool slaney) {
  if (!slaney) return 2595.0 * std::log10(1.0 + f / 700.0);
  const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return f < min_log_hz ? f / f_sp : min_log_mel + std::log(f / min_log_hz) / logstep;
}

double mel_to_hz(double m, bool slaney) {
  if (!slaney) return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0);
  const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return m < min_log_mel ? f_sp * m : min_log_hz * std::exp(logstep * (m - min_log_mel));
}

struct Filter {
  int first = 0;
  std::vector<float> w;
};

std::vector<Filter> mel_filters(const MelConfig& c, int n_freqs) {
  const double f_max = c.f_max > 0 ? c.f_max : c.sample_rate / 2.0;
  // torchaudio: all_freqs = linspace(0, sample_rate // 2, n_freqs) (integer division).
  std::vector<double> all(static_cast<size_t>(n_freqs));
  for (int i = 0; i < n_freqs; ++i) all[size_t(i)] = n_freqs == 1 ? 0 : double(c.sample_rate / 2) * i / (n_freqs - 1);
  const double m_min = hz_to_mel(c.f_min, c.slaney_scale), m_max = hz_to_mel(f_max, c.slaney_scale);
  std::vector<double> f_pts(static_cast<size_t>(c.n_mels + 2));
  for (int i = 0; i < c.n_mels + 2; ++i)
    f_pts[size_t(i)] = mel_to_hz(m_min + (m_max - m_min) * i / (c.n_mels + 1), c.slaney_scale);
  std::vector<Filter> filters(static_cast<size_t>(c.n_mels));
  for (int m = 0; m < c.n_mels; ++m) {
    const double lo = f_pts[size_t(m)], mid = f_pts[size_t(m + 1)], hi = f_pts[size_t(m + 2)];
    const double enorm = c.slaney_norm ? 2.0 / (hi - lo) : 1.0;
    Filter& flt = filters[size_t(m)];
    flt.first = -1;
    for (int k = 0; k < n_freqs; ++k) {
      double down = (all[size_t(k)] - lo) / (mid - lo);  // -slopes[:, m] / f_diff[m]
      double up = (hi - all[size_t(k)]) / (hi - mid);    // slopes[:, m+2] / f_diff[m+1]
      double v = std::max(0.0, std::min(down, up)) * enorm;
      if (v > 0) {
        if (flt.first < 0) flt.first = k;
        flt.w.resize(size_t(k - flt.first + 1), 0.0f);
        flt.w[size_t(k - flt.first)] = float(v);
      }
    }
    if (flt.first < 0) flt.first = 0;  // empty filter (torchaudio warns); the band stays 0
  }
  return filters;
}

// mult * log10(max(x, amin)) in place. log10 through logf lets GCC vectorise the loop with glibc's
// libmvec (this file is built with -fno-math-errno), several times faster than a scalar log10 loop.
void to_db(float* x, size_t n, float mult, float amin) {
  const float k = mult / std::log(10.0f);
  for (size_t i = 0; i < n; ++i) x[i] = k * logf(x[i] > amin ? x[i] : amin);
}

}  // namespace

Spectrogram mel_spectrogram(const Pcm& pcm, const MelConfig& c) {
  if (pcm.sample_rate != c.sample_rate)
    fail_usage("mel config expects " + std::to_string(c.sample_rate) + " Hz audio, got " +
                   std::to_string(pcm.sample_rate) + " Hz",
               "load the audio with AudioConfig::sample_rate equal to MelConfig::sample_rate");
  if (c.n_mels < 1 || c.n_fft < 2) fail_usage("mel config needs n_mels >= 1 and n_fft >= 2");
  StftConfig s;
  s.n_fft = c.n_fft;
  s.win_length = c.win_length > 0 ? c.win_length : c.n_fft;
  s.hop_length = c.hop_length > 0 ? c.hop_length : s.win_length / 2;
  s.center = c.center;
  s.power = c.power;
  s.normalized = c.normalized;
  const int n_frames = stft_frame_count(pcm.samples.size(), s);
  std::vector<Filter> filters = mel_filters(c, c.n_fft / 2 + 1);

  // Project each frame right after its FFT (while the row is in cache) into a frame-major buffer and
  // take its log there (all inside the STFT's worker threads), then transpose to [n_mels, n_frames].
  const int M = c.n_mels;
  const float db_mult = c.power == 1.0 ? 20.0f : 10.0f, amin = float(c.amin);
  std::vector<float> tm(size_t(n_frames) * size_t(M));
  stft_frames(pcm.samples.data(), pcm.samples.size(), s, c.threads, [&](int t, const float* row) {
    float* dst = tm.data() + size_t(t) * size_t(M);
    for (int m = 0; m < M; ++m) {
      const Filter& f = filters[size_t(m)];
      const float* src = row + f.first;
      float acc = 0;
      for (size_t j = 0; j < f.w.size(); ++j) acc += f.w[j] * src[j];
      dst[m] = acc;
    }
    if (c.log) to_db(dst, size_t(M), db_mult, amin);
  });

  Spectrogram out;
  out.n_mels = M;
  out.n_frames = n_frames;
  out.data.resize(tm.size());
  for (int t = 0; t < n_frames; ++t)
    for (int m = 0; m < M; ++m)
      out.data[size_t(m) * size_t(n_frames) + size_t(t)] = tm[size_t(t) * size_t(M) + size_t(m)];
  return out;
}

}  // namespace mpjudge
