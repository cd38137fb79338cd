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

#include "audio/stft.h"
#include "common/error.h"

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

void tempo_and_onsets(const Pcm& pcm, MusicDescriptors& d) {
  // aubio's beat tracker weights candidate periods with a prior counted in frames, tuned for 512-sample
  // hops at 44.1 kHz (~86 frames/s). Keep that frame rate at any sample rate, or the prior halves the
  // tempo (120 BPM read as 60 at 22.05 kHz with 512-sample hops).
  const uint_t sr = uint_t(pcm.sample_rate);
  const uint_t hop = std::max<uint_t>(64, uint_t(std::lround(512.0 * sr / 44100.0))), win = 2 * hop;
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

  std::unique_ptr<aubio_onset_t, void (*)(aubio_onset_t*)> onset(new_aubio_onset("default", win, hop, sr),
                                                                 del_aubio_onset);
  if (!onset) fail_internal("aubio: could not create the onset detector");
  int onsets = 0;
  aubio_run(pcm, hop, [&](fvec_t* in, fvec_t* out) {
    aubio_onset_do(onset.get(), in, out);
    if (out->data[0] != 0) ++onsets;
  });
  d.onset_rate_hz = onsets / std::max(1e-9, pcm.duration_s());
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

}  // namespace

MusicDescriptors describe_pcm(const Pcm& pcm, const std::string& name) {
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

  loudness(pcm, name, d);
  tempo_and_onsets(pcm, d);

  StftConfig sc;
  sc.n_fft = 4096;  // 5.4 Hz bins at 22.05 kHz: enough to separate semitones above ~90 Hz
  sc.win_length = 4096;
  sc.hop_length = 2048;
  PowerSpec spec = stft_power(pcm.samples.data(), pcm.samples.size(), sc);
  const double bin_hz = double(pcm.sample_rate) / sc.n_fft;
  key_and_mode(spec, bin_hz, d);
  pitch_height(pcm, spec, bin_hz, d);

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
  return d;
}

MusicDescriptors describe_music(const std::string& path, const AudioConfig& cfg) {
  return describe_pcm(load_audio(path, cfg), path);
}

}  // namespace mpjudge
