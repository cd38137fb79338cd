// Music descriptors: tempo and onset rate (aubio), key and mode (chroma + Krumhansl-Kessler profiles),
// loudness and loudness range (EBU R128, libebur128), spectral centroid, pitch height (aubio YIN),
// RMS level and dynamic range. Works on mono PCM; decoding lives in decode.cpp.
#include <aubio/aubio.h>
#include <ebur128.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <numeric>
#include <optional>

#include "audio/music_emotion.h"
#include "audio/stft.h"
#include "common/error.h"
#include "common/trace.h"

namespace mpjudge {
namespace {

const char* kPitchNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
// Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
const double kMajor[12] = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
const double kMinor[12] = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};

double pearson(const double* x, const double* y, int n) {
  double mx = 0, my = 0;
  for (int i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= n, my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = p * double(v.size() - 1);
  size_t i = size_t(pos);
  double frac = pos - double(i);
  return i + 1 < v.size() ? v[i] * (1 - frac) + v[i + 1] * frac : v[i];
}

// Feeds `pcm` hop by hop into an aubio object; `step` gets (input, output) for each hop.
template <typename Step>
void aubio_run(const Pcm& pcm, uint_t hop, Step step) {
  std::unique_ptr<fvec_t, void (*)(fvec_t*)> in(new_fvec(hop), del_fvec), out(new_fvec(1), del_fvec);
  for (size_t pos = 0; pos + hop <= pcm.samples.size(); pos += hop) {
    std::copy(pcm.samples.begin() + long(pos), pcm.samples.begin() + long(pos + hop), in->data);
    step(in.get(), out.get());
  }
}

// Version 1's tempo: aubio's beat tracker, 60 / the median inter-beat interval, and the mean of aubio's
// confidence at the beats.
void tempo_v1(const Pcm& pcm, uint_t win, uint_t hop, MusicDescriptors& d) {
  const uint_t sr = uint_t(pcm.sample_rate);
  // Beats: median inter-beat interval is steadier than aubio's running BPM at the end of the clip.
  std::unique_ptr<aubio_tempo_t, void (*)(aubio_tempo_t*)> tempo(new_aubio_tempo("default", win, hop, sr),
                                                                 del_aubio_tempo);
  if (!tempo) fail_internal("aubio: could not create the tempo tracker");
  std::vector<double> beats;
  double conf_sum = 0;
  int conf_n = 0;
  aubio_run(pcm, hop, [&](fvec_t* in, fvec_t* out) {
    aubio_tempo_do(tempo.get(), in, out);
    if (out->data[0] != 0) {
      beats.push_back(aubio_tempo_get_last_s(tempo.get()));
      conf_sum += aubio_tempo_get_confidence(tempo.get());
      ++conf_n;
    }
  });
  std::vector<double> ibi;
  for (size_t i = 1; i < beats.size(); ++i)
    if (beats[i] > beats[i - 1]) ibi.push_back(beats[i] - beats[i - 1]);
  double median_ibi = percentile(ibi, 0.5);
  d.tempo_bpm = median_ibi > 0 ? 60.0 / median_ibi : double(aubio_tempo_get_bpm(tempo.get()));
  d.tempo_confidence = conf_n ? conf_sum / conf_n : 0.0;
}

// aubio onsets: the rate, and their times for version 2's tempo fallback.
std::vector<double> onsets(const Pcm& pcm, uint_t win, uint_t hop, MusicDescriptors& d) {
  std::unique_ptr<aubio_onset_t, void (*)(aubio_onset_t*)> onset(
      new_aubio_onset("default", win, hop, uint_t(pcm.sample_rate)), del_aubio_onset);
  if (!onset) fail_internal("aubio: could not create the onset detector");
  std::vector<double> times;
  aubio_run(pcm, hop, [&](fvec_t* in, fvec_t* out) {
    aubio_onset_do(onset.get(), in, out);
    if (out->data[0] != 0) times.push_back(aubio_onset_get_last_s(onset.get()));
  });
  d.onset_rate_hz = double(times.size()) / std::max(1e-9, pcm.duration_s());
  return times;
}

void pitch_height(const Pcm& pcm, const PowerSpec& spec, double bin_hz, MusicDescriptors& d) {
  const uint_t win = 2048, hop = 512;
  std::unique_ptr<aubio_pitch_t, void (*)(aubio_pitch_t*)> pitch(
      new_aubio_pitch("yinfast", win, hop, uint_t(pcm.sample_rate)), del_aubio_pitch);
  if (!pitch) fail_internal("aubio: could not create the pitch tracker");
  aubio_pitch_set_unit(pitch.get(), "midi");
  aubio_pitch_set_silence(pitch.get(), -60);
  std::vector<double> notes;
  int frames = 0;
  aubio_run(pcm, hop, [&](fvec_t* in, fvec_t* out) {
    aubio_pitch_do(pitch.get(), in, out);
    ++frames;
    double midi = out->data[0];
    if (aubio_pitch_get_confidence(pitch.get()) > 0.9f && midi > 20 && midi < 110) notes.push_back(midi);
  });
  d.pitch_confidence = frames ? double(notes.size()) / frames : 0.0;
  // Register from the spectrum: the magnitude-weighted median pitch in 50..5000 Hz, i.e. where half
  // the tonal energy lies above and half below. Robust on chords and ensembles.
  int k0 = std::max(1, int(50 / bin_hz)), k1 = std::min(spec.n_bins - 1, int(5000 / bin_hz));
  std::vector<double> weight(static_cast<size_t>(k1 + 1), 0.0);
  double total = 0;
  for (int t = 0; t < spec.n_frames; ++t) {
    const float* row = spec.data.data() + size_t(t) * size_t(spec.n_bins);
    for (int k = k0; k <= k1; ++k) weight[size_t(k)] += std::sqrt(double(row[k])), total += std::sqrt(double(row[k]));
  }
  double spectral = 0, acc = 0;
  for (int k = k0; k <= k1 && total > 0; ++k) {
    acc += weight[size_t(k)];
    if (acc >= total / 2) {
      spectral = 69 + 12 * std::log2(k * bin_hz / 440.0);
      break;
    }
  }
  // YIN is exact on a melody line but confidently wrong (octaves off) on some chords: use it when most
  // frames are confident and it agrees with the spectral register within an octave.
  double yin = notes.size() >= 10 ? percentile(notes, 0.5) : 0.0;
  d.pitch_height = d.pitch_confidence >= 0.6 && std::fabs(yin - spectral) <= 12 ? yin : spectral;
}

void key_and_mode(const PowerSpec& spec, double bin_hz, MusicDescriptors& d) {
  std::array<double, 12> chroma{};
  int k0 = std::max(1, int(std::ceil(80 / bin_hz))), k1 = std::min(spec.n_bins - 1, int(5000 / bin_hz));
  std::vector<int> pc(static_cast<size_t>(spec.n_bins), 0);
  std::vector<double> tilt(static_cast<size_t>(spec.n_bins), 0.0);
  for (int k = k0; k <= k1; ++k) {
    // f^-1/2 weights favour low partials: without them the 3rd harmonics (a fifth up) pull the
    // estimate to the dominant key (C minor read as G minor).
    tilt[size_t(k)] = 1.0 / std::sqrt(k * bin_hz);
    int midi = int(std::lround(69 + 12 * std::log2(k * bin_hz / 440.0)));
    pc[size_t(k)] = ((midi % 12) + 12) % 12;
  }
  for (int t = 0; t < spec.n_frames; ++t) {
    const float* row = spec.data.data() + size_t(t) * size_t(spec.n_bins);
    std::array<double, 12> frame{};
    double total = 0;
    for (int k = k0; k <= k1; ++k) {
      double mag = std::sqrt(double(row[k])) * tilt[size_t(k)];
      frame[size_t(pc[size_t(k)])] += mag;
      total += mag;
    }
    // Each frame votes with unit weight so a loud passage does not decide the key alone.
    if (total > 1e-6)
      for (int i = 0; i < 12; ++i) chroma[size_t(i)] += frame[size_t(i)] / total;
  }
  double best = -2;
  for (int tonic = 0; tonic < 12; ++tonic) {
    for (int minor = 0; minor < 2; ++minor) {
      double prof[12];
      for (int i = 0; i < 12; ++i) prof[(i + tonic) % 12] = minor ? kMinor[i] : kMajor[i];
      double r = pearson(chroma.data(), prof, 12);
      if (r > best) {
        best = r;
        d.key = kPitchNames[tonic];
        d.mode = minor ? "minor" : "major";
      }
    }
  }
  d.key_strength = best;
}

// ---- version 2: tempo by onset-envelope autocorrelation, key by harmonic chroma ----------------------

// Spectral-flux onset envelope on a 40-band log-mel spectrogram at ~86 frames/s (hop 256 at 22.05 kHz),
// with the 1 s running mean taken off and negative values cut: the note onsets stand out of sustained
// sound. Returns the envelope and its frame rate.
std::vector<double> onset_envelope(const Pcm& pcm, double* fps) {
  MelConfig mc;
  mc.sample_rate = pcm.sample_rate;
  mc.hop_length = std::max(32, int(std::lround(256.0 * pcm.sample_rate / 22050.0)));
  mc.n_fft = 4 * mc.hop_length;
  mc.n_mels = 40;
  mc.f_max = std::min(8000.0, pcm.sample_rate / 2.0);
  mc.threads = 1;
  Spectrogram m = mel_spectrogram(pcm, mc);
  *fps = double(pcm.sample_rate) / mc.hop_length;
  std::vector<double> flux(static_cast<size_t>(std::max(0, m.n_frames)), 0.0);
  for (int b = 0; b < m.n_mels; ++b) {
    const float* row = m.data.data() + size_t(b) * size_t(m.n_frames);
    for (int t = 1; t < m.n_frames; ++t) flux[size_t(t)] += std::max(0.0f, row[t] - row[t - 1]) / m.n_mels;
  }
  const int half = int(*fps / 2);
  std::vector<double> prefix(flux.size() + 1, 0.0), env(flux.size(), 0.0);
  for (size_t t = 0; t < flux.size(); ++t) prefix[t + 1] = prefix[t] + flux[t];
  for (int t = 0; t < int(flux.size()); ++t) {
    const int a = std::max(0, t - half), b = std::min(int(flux.size()), t + half + 1);
    env[size_t(t)] = std::max(0.0, flux[size_t(t)] - (prefix[size_t(b)] - prefix[size_t(a)]) / (b - a));
  }
  return env;
}

// Normalised autocorrelation r[l] / r[0] of the mean-removed envelope, unbiased (divided by N - l).
std::vector<double> autocorrelation(const std::vector<double>& env, int max_lag) {
  const int n = int(env.size());
  double mean = 0;
  for (double v : env) mean += v;
  mean /= std::max(1, n);
  std::vector<double> x(env.size()), r(static_cast<size_t>(max_lag + 1), 0.0);
  for (int t = 0; t < n; ++t) x[size_t(t)] = env[size_t(t)] - mean;
  for (int l = 0; l <= max_lag && l < n; ++l) {
    double acc = 0;
    for (int t = 0; t + l < n; ++t) acc += x[size_t(t)] * x[size_t(t + l)];
    r[size_t(l)] = acc / (n - l);
  }
  if (r[0] > 0)
    for (double& v : r) v /= r[0];
  return r;
}

// Tempo (docs/descriptors.md, "Tempo"): the period is the autocorrelation peak of the onset envelope
// that best explains the pulse train (its multiples up to 4x reinforce it) under a log-normal prior
// around 120 BPM one octave wide (Ellis 2007). Its height is the pulse clarity (Lartillot et al. 2008):
// the share of the envelope's variance that repeats at that period, the tempo confidence. Below
// kSteadyPulse there is no steady beat to report, and tempo_bpm falls back to the event rate (aubio onsets
// per minute, folded by octaves into 40..160 BPM), tempo_source "onsets".
void tempo_v2(const Pcm& pcm, const std::vector<double>& onset_times, MusicDescriptors& d) {
  double fps = 0;
  const std::vector<double> env = onset_envelope(pcm, &fps);
  const int min_lag = int(std::floor(fps * 60 / 240)), max_lag = int(std::ceil(fps * 60 / 30));
  const std::vector<double> r = autocorrelation(env, 4 * max_lag + 4);
  auto at = [&](double lag) {  // linear interpolation between lags
    const int i = int(lag);
    if (i + 1 >= int(r.size())) return 0.0;
    const double f = lag - i;
    return r[size_t(i)] * (1 - f) + r[size_t(i + 1)] * f;
  };
  auto peak_near = [&](double lag) {  // the highest value within +-4% of a lag (tempo drift, rounding)
    double best = 0;
    for (int i = std::max(1, int(lag * 0.96)); i <= int(std::ceil(lag * 1.04)) && i < int(r.size()); ++i)
      best = std::max(best, r[size_t(i)]);
    return best;
  };
  double best_score = -1, best_lag = 0;
  for (int l = std::max(2, min_lag); l <= max_lag; ++l) {
    if (!(r[size_t(l)] >= r[size_t(l - 1)] && r[size_t(l)] >= r[size_t(l + 1)]) || r[size_t(l)] <= 0) continue;
    // Parabolic refinement of the peak.
    const double y0 = r[size_t(l - 1)], y1 = r[size_t(l)], y2 = r[size_t(l + 1)], den = y0 - 2 * y1 + y2;
    const double lag = l + (den < 0 ? 0.5 * (y0 - y2) / den : 0.0);
    const double train = at(lag) + 0.5 * peak_near(2 * lag) + 0.25 * peak_near(4 * lag);
    const double bpm = 60 * fps / lag, z = std::log2(bpm / 120.0);
    const double score = train * std::exp(-0.5 * z * z);
    if (score > best_score) best_score = score, best_lag = lag;
  }
  d.tempo_confidence = best_lag > 0 ? std::clamp(at(best_lag), 0.0, 1.0) : 0.0;
  if (best_lag > 0 && d.tempo_confidence >= kSteadyPulse) {
    d.tempo_bpm = 60 * fps / best_lag;
    d.tempo_source = "beat";
    return;
  }
  double rate = 60.0 * double(onset_times.size()) / std::max(1.0, pcm.duration_s());
  if (rate <= 0) rate = 60;
  while (rate > 160) rate /= 2;
  while (rate < 40) rate *= 2;
  d.tempo_bpm = rate;
  d.tempo_source = "onsets";
}

// Harmonic pitch-class profile: each frame's spectral peaks (magnitudes, 60 Hz..5 kHz) vote for the
// fundamentals they can be a harmonic of (the peak at f for f/h, h = 1..6, weight 0.6^(h-1)), as in
// Gomez's HPCP (2006); the pitches whose own fundamental is present take the vote. A brass C major chord,
// whose 5th harmonics (E, B) fill a plain chroma, is read as C major, not E minor.
std::array<double, 12> harmonic_chroma(const PowerSpec& spec, double bin_hz) {
  std::array<double, 12> chroma{};
  const int k0 = std::max(2, int(std::ceil(60 / bin_hz))), k1 = std::min(spec.n_bins - 2, int(5000 / bin_hz));
  const int p_lo = 24, p_hi = 100;  // MIDI pitches considered as fundamentals
  std::vector<double> sal(static_cast<size_t>(p_hi - p_lo + 1));
  std::vector<double> mag(static_cast<size_t>(spec.n_bins));
  for (int t = 0; t < spec.n_frames; ++t) {
    const float* row = spec.data.data() + size_t(t) * size_t(spec.n_bins);
    double frame_max = 0;
    for (int k = 0; k < spec.n_bins; ++k)
      mag[size_t(k)] = std::sqrt(double(row[k])), frame_max = std::max(frame_max, mag[size_t(k)]);
    if (frame_max < 1e-6) continue;
    std::fill(sal.begin(), sal.end(), 0.0);
    for (int k = k0; k <= k1; ++k) {
      const double m = mag[size_t(k)];
      if (m < 0.01 * frame_max || m < mag[size_t(k - 1)] || m < mag[size_t(k + 1)]) continue;
      // Peak frequency by parabolic interpolation on the log magnitude.
      const double a = std::log(mag[size_t(k - 1)] + 1e-12), b = std::log(m + 1e-12),
                   c = std::log(mag[size_t(k + 1)] + 1e-12);
      const double den = a - 2 * b + c, f = (k + (den < 0 ? 0.5 * (a - c) / den : 0.0)) * bin_hz;
      double w = 1;
      for (int h = 1; h <= 6; ++h, w *= 0.6) {
        const double midi = 69 + 12 * std::log2(f / h / 440.0);
        const int p = int(std::lround(midi));
        if (p < p_lo || p > p_hi) continue;
        sal[size_t(p - p_lo)] += w * std::sqrt(m);  // sqrt: a loud partial does not drown the others
      }
    }
    // Fundamentals: local maxima of the salience that have a spectral peak of their own (h = 1).
    double total = 0;
    std::array<double, 12> frame{};
    for (int p = p_lo; p <= p_hi; ++p) {
      const double s0 = sal[size_t(p - p_lo)];
      if (s0 <= 0) continue;
      const double left = p > p_lo ? sal[size_t(p - 1 - p_lo)] : 0, right = p < p_hi ? sal[size_t(p + 1 - p_lo)] : 0;
      if (s0 < left || s0 < right) continue;
      const double f = 440 * std::pow(2.0, (p - 69) / 12.0);
      const int k = int(std::lround(f / bin_hz));
      if (k < 1 || k >= spec.n_bins - 1) continue;
      const double own = std::max({mag[size_t(k - 1)], mag[size_t(k)], mag[size_t(k + 1)]});
      if (own < 0.02 * frame_max) continue;
      frame[size_t(p % 12)] += s0;
      total += s0;
    }
    if (total > 0)
      for (int i = 0; i < 12; ++i) chroma[size_t(i)] += frame[size_t(i)] / total;
  }
  return chroma;
}

// Best of the 24 Krumhansl-Kessler rotations; mode_confidence from how much better the best key of
// the chosen mode fits than the best key of the other mode (Pearson r margin / 0.1, capped at 1).
void key_from_chroma(const std::array<double, 12>& chroma, MusicDescriptors& d) {
  double best[2] = {-2, -2};
  int tonic_of[2] = {0, 0};
  for (int tonic = 0; tonic < 12; ++tonic)
    for (int minor = 0; minor < 2; ++minor) {
      double prof[12];
      for (int i = 0; i < 12; ++i) prof[(i + tonic) % 12] = minor ? kMinor[i] : kMajor[i];
      const double r = pearson(chroma.data(), prof, 12);
      if (r > best[minor]) best[minor] = r, tonic_of[minor] = tonic;
    }
  const int m = best[1] > best[0] ? 1 : 0;
  d.key = kPitchNames[tonic_of[m]];
  d.mode = m ? "minor" : "major";
  d.key_strength = best[m];
  d.mode_confidence = std::clamp((best[m] - best[1 - m]) / 0.1, 0.0, 1.0);
}

void loudness(const Pcm& pcm, const std::string& name, MusicDescriptors& d) {
  std::unique_ptr<ebur128_state, void (*)(ebur128_state*)> st(
      ebur128_init(1, unsigned(pcm.sample_rate), EBUR128_MODE_I | EBUR128_MODE_LRA),
      [](ebur128_state* s) { ebur128_destroy(&s); });
  if (!st) fail_internal("libebur128: init failed");
  if (ebur128_add_frames_float(st.get(), pcm.samples.data(), pcm.samples.size()) != EBUR128_SUCCESS)
    fail_internal("libebur128: add_frames failed");
  double lufs = 0, lra = 0;
  ebur128_loudness_global(st.get(), &lufs);
  ebur128_loudness_range(st.get(), &lra);
  if (!std::isfinite(lufs))
    fail_input(name, "audible music", "audio below the EBU R128 absolute gate (-70 LUFS): effectively silent");
  d.loudness_lufs = lufs;
  d.loudness_range_lu = std::isfinite(lra) ? lra : 0.0;
}

// The music-emotion estimator's inputs (version 2 only), in music_emotion_feature_names() order: the
// descriptors, the shape and movement of a 16-band log-mel spectrum, spectral flux and flatness, and the
// harmonic chroma rotated to the estimated tonic (what the scale degrees weigh).
std::vector<double> emotion_features(const Pcm& pcm, const MusicDescriptors& d, const std::array<double, 12>& chroma) {
  std::vector<double> f = {std::log2(std::max(20.0, d.tempo_bpm) / 120.0),
                           d.tempo_confidence,
                           std::log(d.onset_rate_hz + 0.1),
                           (d.mode == "major" ? 1.0 : -1.0) * d.mode_confidence,
                           d.key_strength,
                           (d.loudness_lufs + 23) / 10,
                           d.loudness_range_lu / 10,
                           std::log2(std::max(50.0, d.spectral_centroid_hz) / 1000.0),
                           (d.pitch_height - 64) / 12,
                           d.pitch_confidence,
                           (d.rms_db + 20) / 10,
                           d.dynamic_range_db / 20};
  MelConfig mc;
  mc.sample_rate = pcm.sample_rate;
  mc.n_mels = 64;
  mc.threads = 1;
  const Spectrogram m = mel_spectrogram(pcm, mc);
  const int bands = 16, per = m.n_mels / bands, T = std::max(1, m.n_frames);
  std::vector<double> band(size_t(bands) * size_t(T), 0.0);
  for (int b = 0; b < m.n_mels; ++b)
    for (int t = 0; t < m.n_frames; ++t)
      band[size_t(b / per) * size_t(T) + size_t(t)] += m.data[size_t(b) * size_t(m.n_frames) + size_t(t)] / per;
  double overall = 0;
  for (double v : band) overall += v;
  overall /= double(band.size());
  for (int b = 0; b < bands; ++b) {  // spectral shape: each band's mean level relative to the whole
    double mean = 0;
    for (int t = 0; t < T; ++t) mean += band[size_t(b) * size_t(T) + size_t(t)];
    f.push_back((mean / T - overall) / 20);
  }
  for (int b = 0; b < bands; ++b) {  // movement: each band's standard deviation over time
    double mean = 0, var = 0;
    for (int t = 0; t < T; ++t) mean += band[size_t(b) * size_t(T) + size_t(t)];
    mean /= T;
    for (int t = 0; t < T; ++t) var += std::pow(band[size_t(b) * size_t(T) + size_t(t)] - mean, 2);
    f.push_back(std::sqrt(var / T) / 10);
  }
  double flux = 0, flux2 = 0, flat = 0;
  for (int t = 1; t < m.n_frames; ++t) {
    double fl = 0, logsum = 0, lin = 0;
    for (int b = 0; b < m.n_mels; ++b) {
      const float cur = m.data[size_t(b) * size_t(m.n_frames) + size_t(t)];
      fl += std::max(0.0f, cur - m.data[size_t(b) * size_t(m.n_frames) + size_t(t - 1)]) / m.n_mels;
      logsum += cur / 10 * std::log(10.0), lin += std::pow(10.0, cur / 10);
    }
    flux += fl, flux2 += fl * fl;
    flat += std::exp(logsum / m.n_mels) / std::max(1e-12, lin / m.n_mels);
  }
  const double n = std::max(1, m.n_frames - 1);
  f.push_back(flux / n / 5);
  f.push_back(std::sqrt(std::max(0.0, flux2 / n - (flux / n) * (flux / n))) / 5);
  f.push_back(flat / n);
  double total = 0;
  for (double c : chroma) total += c;
  const int tonic =
      int(std::find(std::begin(kPitchNames), std::end(kPitchNames), d.key) - std::begin(kPitchNames)) % 12;
  for (int i = 0; i < 12; ++i) f.push_back(total > 0 ? 12 * chroma[size_t((tonic + i) % 12)] / total - 1 : 0.0);
  return f;
}

}  // namespace

const std::vector<std::string>& music_emotion_feature_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v = {"log2_tempo_over_120",
                                  "tempo_confidence",
                                  "log_onset_rate",
                                  "signed_mode_confidence",
                                  "key_strength",
                                  "loudness",
                                  "loudness_range",
                                  "log2_centroid_khz",
                                  "pitch_height",
                                  "pitch_confidence",
                                  "rms",
                                  "dynamic_range"};
    for (int b = 0; b < 16; ++b) v.push_back("mel_band" + std::to_string(b) + "_level");
    for (int b = 0; b < 16; ++b) v.push_back("mel_band" + std::to_string(b) + "_sd");
    v.insert(v.end(), {"flux_mean", "flux_sd", "flatness"});
    for (int i = 0; i < 12; ++i) v.push_back("degree" + std::to_string(i));
    return v;
  }();
  return names;
}

MusicDescriptors describe_pcm(const Pcm& pcm, const std::string& name, DescriptorVersion version) {
  return describe_pcm_features(pcm, name, version, nullptr);
}

MusicDescriptors describe_pcm_features(const Pcm& pcm, const std::string& name, DescriptorVersion version,
                                       std::vector<double>* features) {
  fftw_thread_safe();
  if (pcm.sample_rate <= 0) fail_usage("describe_pcm: PCM without a sample rate");
  MusicDescriptors d;
  d.duration_s = pcm.duration_s();
  if (d.duration_s < 1.0) fail_input(name, "at least 1 s of audio", std::to_string(d.duration_s) + " s");
  float peak = 0;
  for (float s : pcm.samples) peak = std::max(peak, std::fabs(s));
  if (peak < 1e-4f)
    fail_input(name, "audible music",
               "silence (peak level " + std::to_string(peak > 0 ? 20 * std::log10(peak) : -INFINITY) + " dBFS)");

  std::optional<trace::Scope> stage(std::in_place, "descriptors: loudness");
  loudness(pcm, name, d);
  stage.emplace("descriptors: onsets (aubio)");
  // aubio's beat tracker weights candidate periods with a prior counted in frames, tuned for 512-sample
  // hops at 44.1 kHz (~86 frames/s). Keep that frame rate at any sample rate, or the prior halves the
  // tempo (120 BPM read as 60 at 22.05 kHz with 512-sample hops).
  const uint_t hop = std::max<uint_t>(64, uint_t(std::lround(512.0 * pcm.sample_rate / 44100.0))), win = 2 * hop;
  const std::vector<double> onset_times = onsets(pcm, win, hop, d);

  stage.emplace("descriptors: stft");
  StftConfig sc;
  sc.n_fft = 4096;  // 5.4 Hz bins at 22.05 kHz: enough to separate semitones above ~90 Hz
  sc.win_length = 4096;
  sc.hop_length = 2048;
  PowerSpec spec = stft_power(pcm.samples.data(), pcm.samples.size(), sc);
  const double bin_hz = double(pcm.sample_rate) / sc.n_fft;
  d.version = int(version);
  std::array<double, 12> chroma{};
  {  // version 1's tempo and key, kept beside version 2's (the main fields of a version-1 result)
    MusicDescriptors v1;
    stage.emplace("descriptors: v1 tempo (aubio)");
    tempo_v1(pcm, win, hop, v1);
    stage.emplace("descriptors: v1 key");
    key_and_mode(spec, bin_hz, v1);
    d.v1_tempo_bpm = v1.tempo_bpm, d.v1_key_strength = v1.key_strength, d.v1_major = v1.mode == "major";
    if (version == DescriptorVersion::V1)
      d.tempo_bpm = v1.tempo_bpm, d.tempo_confidence = v1.tempo_confidence, d.key = v1.key, d.mode = v1.mode,
      d.key_strength = v1.key_strength;
  }
  if (version == DescriptorVersion::V1) {
  } else {
    stage.emplace("descriptors: v2 tempo");
    tempo_v2(pcm, onset_times, d);
    stage.emplace("descriptors: v2 chroma + key");
    chroma = harmonic_chroma(spec, bin_hz);
    key_from_chroma(chroma, d);
  }
  stage.emplace("descriptors: pitch height (aubio yin)");
  pitch_height(pcm, spec, bin_hz, d);
  stage.emplace("descriptors: centroid + levels");

  // Spectral centroid, energy-weighted over frames; RMS level per frame for level and dynamics.
  double cen_num = 0, cen_den = 0, power_sum = 0;
  std::vector<double> frame_db;
  for (int t = 0; t < spec.n_frames; ++t) {
    const float* row = spec.data.data() + size_t(t) * size_t(spec.n_bins);
    double e = 0, fe = 0;
    // Magnitude weights, as librosa's spectral_centroid: power weights would let the bass decide.
    for (int k = 1; k < spec.n_bins; ++k) {
      double mag = std::sqrt(double(row[k]));
      e += mag, fe += mag * k * bin_hz;
    }
    if (e > 0) cen_num += fe, cen_den += e;
  }
  d.spectral_centroid_hz = cen_den > 0 ? cen_num / cen_den : 0.0;
  const size_t block = size_t(pcm.sample_rate) / 10;  // 100 ms blocks
  for (size_t pos = 0; pos + block <= pcm.samples.size(); pos += block) {
    double s2 = 0;
    for (size_t i = pos; i < pos + block; ++i) s2 += double(pcm.samples[i]) * pcm.samples[i];
    power_sum += s2;
    double db = 10 * std::log10(s2 / double(block) + 1e-12);
    if (db > -90) frame_db.push_back(db);
  }
  d.rms_db = 10 * std::log10(power_sum / double(std::max<size_t>(1, pcm.samples.size())) + 1e-12);
  d.dynamic_range_db = percentile(frame_db, 0.95) - percentile(frame_db, 0.10);
  if (version == DescriptorVersion::V2) {
    stage.emplace("descriptors: emotion features + estimate");
    std::vector<double> f = emotion_features(pcm, d, chroma);
    const MusicEmotion e = estimate_music_emotion(f);
    d.valence = e.valence, d.arousal = e.arousal, d.emotion_model = e.model;
    if (features) *features = std::move(f);
  }
  return d;
}

MusicDescriptors describe_music(const std::string& path, const AudioConfig& cfg, DescriptorVersion version) {
  return describe_pcm(load_audio(path, cfg), path, version);
}

}  // namespace mpjudge
