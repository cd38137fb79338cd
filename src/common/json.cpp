// JSON forms of the public result structs (see json.h).
#include "common/json.h"

#include <algorithm>
#include <cmath>

namespace mpjudge {

namespace {

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
              {"percentile", json_number(r.percentile, 1)},
              {"model", r.model},
              {"model_sha256", r.model_sha256},
              {"model_version", r.model_version},
              {"arch", r.arch},
              {"music", music},
              {"painting", painting},
              {"cached", {{"music", r.music_from_cache}, {"painting", r.painting_from_cache}}}};
}

Json to_json(const MusicDescriptors& d) {
  Json j;
  j["descriptor_version"] = d.version;
  j["tempo_bpm"] = json_number(d.tempo_bpm);
  j["tempo_confidence"] = json_number(d.tempo_confidence);
  if (d.version >= 2) {
    j["tempo_source"] = d.tempo_source;
    j["steady_beat"] = d.tempo_source == "beat";
  }
  j["onset_rate_hz"] = json_number(d.onset_rate_hz);
  j["key"] = d.key;
  j["mode"] = d.mode;
  j["key_strength"] = json_number(d.key_strength);
  if (d.version >= 2) {
    j["mode_confidence"] = json_number(d.mode_confidence);
    j["mode_clear"] = d.mode_confidence >= kClearMode;
  }
  j["loudness_lufs"] = json_number(d.loudness_lufs);
  j["loudness_range_lu"] = json_number(d.loudness_range_lu);
  j["spectral_centroid_hz"] = json_number(d.spectral_centroid_hz);
  j["pitch_height"] = json_number(d.pitch_height);
  j["pitch_confidence"] = json_number(d.pitch_confidence);
  j["rms_db"] = json_number(d.rms_db);
  j["dynamic_range_db"] = json_number(d.dynamic_range_db);
  j["duration_s"] = json_number(d.duration_s);
  if (d.version >= 2) {
    j["valence"] = json_number(d.valence);
    j["arousal"] = json_number(d.arousal);
    j["emotion_model"] = d.emotion_model;
  }
  return j;
}

Json to_json(const PaintingDescriptors& d) {
  Json j;
  j["width"] = d.width;
  j["height"] = d.height;
  j["lightness"] = json_number(d.lightness);
  j["chroma"] = json_number(d.chroma);
  j["a"] = json_number(d.a);
  j["b"] = json_number(d.b);
  j["contrast"] = json_number(d.contrast);
  j["edge_density"] = json_number(d.edge_density);
  j["angularity"] = json_number(d.angularity);
  j["colourfulness"] = json_number(d.colourfulness);
  j["emotion"] = {{"happy", json_number(d.emotion.happy)},
                  {"sad", json_number(d.emotion.sad)},
                  {"angry", json_number(d.emotion.angry)}};
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
    j["min"] = json_number(*lo);
    j["max"] = json_number(*hi);
    j["mean"] = json_number(sum / double(s.data.size()));
  }
  return j;
}

}  // namespace mpjudge
