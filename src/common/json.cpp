// JSON forms of the public result structs (see json.h).
#include "common/json.h"

#include <algorithm>
#include <cmath>

namespace mpjudge {

namespace {

double r4(double v) { return std::round(v * 1e4) / 1e4; }  // stable, readable output

Json summary(const std::vector<float>& v) {
  double sum = 0, sq = 0, mn = 1e300, mx = -1e300;
  int nonzero = 0;
  for (float x : v)
    sum += x, sq += double(x) * x, mn = std::min(mn, double(x)), mx = std::max(mx, double(x)), nonzero += x != 0;
  const double mean = v.empty() ? 0 : sum / double(v.size());
  return Json{
      {"mean", json_number(mean, 5)},
      {"std", json_number(std::sqrt(std::max(0.0, sq / double(std::max<size_t>(1, v.size())) - mean * mean)), 5)},
      {"min", json_number(mn, 5)},
      {"max", json_number(mx, 5)},
      {"l2_norm", json_number(std::sqrt(sq), 5)},
      {"nonzero", nonzero}};
}

std::string midi_name(int midi) {
  static const char* n[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
  return std::string(n[midi % 12]) + std::to_string(midi / 12 - 1);
}

}  // namespace

Json json_number(double v, int decimals) {
  if (!std::isfinite(v)) return nullptr;
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

Json json_number(const std::optional<double>& v, int decimals) { return v ? json_number(*v, decimals) : Json(nullptr); }

Json json_ms_since(std::chrono::steady_clock::time_point t0) {
  return json_number(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(), 1);
}

Json to_json(const PaintingFeatures& f, bool values) {
  Json out;
  out["encoder"] = f.encoder;
  out["sha256"] = f.sha256;
  out["dim"] = f.pooled.size();
  out["summary"] = summary(f.pooled);
  Json classes;
  for (size_t k = 0; k < f.class_names.size(); ++k) classes[f.class_names[k]] = json_number(f.class_probs[k]);
  out["classes"] = classes;
  out["cached"] = f.from_cache;
  if (values) out["values"] = f.pooled;
  return out;
}

Json to_json(const MusicFeatures& f, bool values) {
  Json out;
  out["encoder"] = f.encoder;
  out["sha256"] = f.sha256;
  out["dim"] = f.pooled.size();
  out["frames"] = f.frames;
  out["duration_s"] = json_number(f.duration_s, 3);
  out["summary"] = summary(f.pooled);
  std::vector<int> order(f.note_activity.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = int(k);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return f.note_activity[size_t(a)] > f.note_activity[size_t(b)]; });
  Json top = Json::array();
  for (size_t k = 0; k < std::min<size_t>(5, order.size()); ++k)
    top.push_back({{"midi", order[k] + 21},
                   {"note", midi_name(order[k] + 21)},
                   {"activity", json_number(f.note_activity[size_t(order[k])])}});
  out["top_pitches"] = top;
  out["cached"] = f.from_cache;
  if (values) out["values"] = f.pooled;
  return out;
}

Json score_json(const ScoreResult& r, const std::string& music, const std::string& painting) {
  return Json{{"score", json_number(r.score)},
              {"model", r.model},
              {"arch", r.arch},
              {"music", music},
              {"painting", painting},
              {"cached", {{"music", r.music_from_cache}, {"painting", r.painting_from_cache}}}};
}

Json to_json(const MusicDescriptors& d) {
  Json j;
  j["descriptor_version"] = d.version;
  j["tempo_bpm"] = r4(d.tempo_bpm);
  j["tempo_confidence"] = r4(d.tempo_confidence);
  if (d.version >= 2) {
    j["tempo_source"] = d.tempo_source;
    j["steady_beat"] = d.tempo_source == "beat";
  }
  j["onset_rate_hz"] = r4(d.onset_rate_hz);
  j["key"] = d.key;
  j["mode"] = d.mode;
  j["key_strength"] = r4(d.key_strength);
  if (d.version >= 2) {
    j["mode_confidence"] = r4(d.mode_confidence);
    j["mode_clear"] = d.mode_confidence >= kClearMode;
  }
  j["loudness_lufs"] = r4(d.loudness_lufs);
  j["loudness_range_lu"] = r4(d.loudness_range_lu);
  j["spectral_centroid_hz"] = r4(d.spectral_centroid_hz);
  j["pitch_height"] = r4(d.pitch_height);
  j["pitch_confidence"] = r4(d.pitch_confidence);
  j["rms_db"] = r4(d.rms_db);
  j["dynamic_range_db"] = r4(d.dynamic_range_db);
  j["duration_s"] = r4(d.duration_s);
  if (d.version >= 2) {
    j["valence"] = r4(d.valence);
    j["arousal"] = r4(d.arousal);
    j["emotion_model"] = d.emotion_model;
  }
  return j;
}

Json to_json(const PaintingDescriptors& d) {
  Json j;
  j["width"] = d.width;
  j["height"] = d.height;
  j["lightness"] = r4(d.lightness);
  j["chroma"] = r4(d.chroma);
  j["a"] = r4(d.a);
  j["b"] = r4(d.b);
  j["contrast"] = r4(d.contrast);
  j["edge_density"] = r4(d.edge_density);
  j["angularity"] = r4(d.angularity);
  j["colourfulness"] = r4(d.colourfulness);
  j["emotion"] = {{"happy", r4(d.emotion.happy)}, {"sad", r4(d.emotion.sad)}, {"angry", r4(d.emotion.angry)}};
  return j;
}

Json to_json(const Spectrogram& s) {
  Json j;
  j["n_mels"] = s.n_mels;
  j["n_frames"] = s.n_frames;
  if (!s.data.empty()) {
    auto [lo, hi] = std::minmax_element(s.data.begin(), s.data.end());
    double sum = 0;
    for (float v : s.data) sum += v;
    j["min"] = r4(*lo);
    j["max"] = r4(*hi);
    j["mean"] = r4(sum / double(s.data.size()));
  }
  return j;
}

}  // namespace mpjudge
