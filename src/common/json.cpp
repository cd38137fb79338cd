// JSON forms of the public result structs (see json.h).
#include "common/json.h"

#include <algorithm>
#include <cmath>

namespace mpjudge {

namespace {
double r4(double v) { return std::round(v * 1e4) / 1e4; }  // stable, readable output
}  // namespace

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
