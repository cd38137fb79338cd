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

}  // namespace

Spectrogram mel_spectrogram(const Pcm& pcm, const MelConfig& c) {
  if (pcm.sample_rate != c.sample_rate)
    fail_usage("mel config expects " + std::to_string(c.sample_rate) + " Hz audio, got " + std::to_string(pcm.sample_rate) + " Hz",
               "load the audio with AudioConfig::sample_rate equal to MelConfig::sample_rate");
  if (c.n_mels < 1 || c.n_fft < 2) fail_usage("mel config needs n_mels >= 1 and n_fft >= 2");
  StftConfig s;
  s.n_fft = c.n_fft;
  s.win_length = c.win_length > 0 ? c.win_length : c.n_fft;
  s.hop_length = c.hop_length > 0 ? c.hop_length : s.win_length / 2;
  s.center = c.center;
  s.power = c.power;
  s.normalized = c.normalized;
  PowerSpec ps = stft_power(pcm.samples.data(), pcm.samples.size(), s);
  std::vector<Filter> filters = mel_filters(c, ps.n_bins);

  Spectrogram out;
  out.n_mels = c.n_mels;
  out.n_frames = ps.n_frames;
  out.data.assign(size_t(c.n_mels) * size_t(ps.n_frames), 0.0f);
  const float mult = c.power == 1.0 ? 20.0f : 10.0f;
  const float amin = float(c.amin);
  for (int t = 0; t < ps.n_frames; ++t) {
    const float* row = ps.data.data() + size_t(t) * size_t(ps.n_bins);
    for (int m = 0; m < c.n_mels; ++m) {
      const Filter& f = filters[size_t(m)];
      float acc = 0;
      for (size_t j = 0; j < f.w.size(); ++j) acc += f.w[j] * row[size_t(f.first) + j];
      out.data[size_t(m) * size_t(ps.n_frames) + size_t(t)] = c.log ? mult * std::log10(std::max(acc, amin)) : acc;
    }
  }
  return out;
}

}  // namespace mpjudge
