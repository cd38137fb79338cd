// The reference panel (see panel.h and docs/panel.md).
#include "corpus/panel.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "common/error.h"

namespace mpjudge {
namespace {

double squash(double x) { return std::tanh(x); }

}  // namespace

PanelMusic panel_music(const MusicDescriptors& d, std::optional<std::pair<double, double>> human_va) {
  PanelMusic m;
  m.tempo_bpm = d.tempo_bpm, m.onset_rate_hz = d.onset_rate_hz, m.centroid_hz = d.spectral_centroid_hz;
  m.pitch_height = d.pitch_height, m.loudness_lufs = d.loudness_lufs, m.major = d.mode == "major";
  if (human_va) {
    m.valence = std::clamp(human_va->first, -1.0, 1.0), m.arousal = std::clamp(human_va->second, -1.0, 1.0);
  } else {
    // Estimate: mode and tempo carry valence (Palmer et al. 2013; Juslin & Laukka 2003), tempo,
    // loudness and onset density carry arousal.
    const double mode = (m.major ? 1.0 : -1.0) * std::clamp(d.key_strength, 0.0, 1.0);
    m.valence = std::clamp(
        0.55 * mode + 0.3 * squash((d.tempo_bpm - 100) / 40) + 0.15 * squash((d.spectral_centroid_hz - 1500) / 1000),
        -1.0, 1.0);
    m.arousal = std::clamp(0.4 * squash((d.tempo_bpm - 100) / 40) + 0.3 * squash((d.loudness_lufs + 23) / 8) +
                               0.3 * squash((d.onset_rate_hz - 3) / 2),
                           -1.0, 1.0);
  }
  return m;
}

const std::vector<GemsCategory>& gems_categories() {
  // Valence from the GEMS factors' placement on Trost et al.'s valence axis, arousal from their arousal
  // axis (their Figure 2 and text: power, joyful activation and tension high in arousal; calmness
  // [peacefulness], tenderness, nostalgia and sadness low; tension and sadness the negative-valence
  // factors; joyful activation, amazement [wonder], tenderness and calmness the most positive). Emotify
  // renamed wonder to amazement, transcendence to solemnity and peacefulness to calmness.
  static const std::vector<GemsCategory> k{
      {"amazement", 0.50, 0.35},         {"solemnity", 0.15, -0.05}, {"tenderness", 0.55, -0.50},
      {"nostalgia", 0.05, -0.45},        {"calmness", 0.50, -0.75},  {"power", 0.30, 0.75},
      {"joyful_activation", 0.80, 0.65}, {"tension", -0.60, 0.60},   {"sadness", -0.75, -0.55}};
  return k;
}

std::pair<double, double> gems_valence_arousal(const std::vector<double>& shares) {
  const auto& g = gems_categories();
  if (shares.size() != g.size())
    fail_internal("gems_valence_arousal: expected " + std::to_string(g.size()) + " shares");
  double v = 0, a = 0, total = 0;
  for (size_t k = 0; k < g.size(); ++k)
    v += shares[k] * g[k].valence, a += shares[k] * g[k].arousal, total += shares[k];
  if (!(total > 0)) fail_input("GEMS annotations", "at least one chosen emotion", "none");
  // The mean over the chosen categories pulls every excerpt toward the middle (on Emotify: valence sd
  // 0.17, arousal 0.32, the most aroused excerpt at 0.63); kGemsStretch spreads them over the scale the
  // other human labels use (vgmidi: +-1), keeping their order.
  return {std::clamp(kGemsStretch * v / total, -1.0, 1.0), std::clamp(kGemsStretch * a / total, -1.0, 1.0)};
}

PanelPainting panel_painting(const PaintingDescriptors& d) {
  PanelPainting p;
  p.lightness = d.lightness, p.chroma = d.chroma, p.a = d.a, p.b = d.b, p.contrast = d.contrast;
  p.edge_density = d.edge_density, p.angularity = d.angularity;
  // Colour emotion (BCP-37 ratings, Palmer et al. 2013) plus lightness/yellowness for valence;
  // anger, saturation and contrast for arousal.
  p.valence = std::clamp(
      1.2 * (d.emotion.happy - d.emotion.sad) + 0.3 * squash((d.lightness - 55) / 20) + 0.2 * squash(d.b / 25), -1.0,
      1.0);
  p.arousal = std::clamp(
      1.0 * (d.emotion.angry + 0.2) + 0.4 * squash((d.chroma - 25) / 15) + 0.3 * squash((d.contrast - 20) / 10), -1.0,
      1.0);
  return p;
}

std::vector<double> PanelTerms::vec() const {
  return {valence_match,   arousal_match, tempo_mode_light,     loud_red_saturated,
          pitch_lightness, rhythm_edges,  brightness_angularity};
}

std::vector<std::string> PanelTerms::names() {
  return {"valence_match",   "arousal_match", "tempo_mode_light",     "loud_red_saturated",
          "pitch_lightness", "rhythm_edges",  "brightness_angularity"};
}

PanelTerms panel_terms(const PanelMusic& m, const PanelPainting& p) {
  PanelTerms t;
  // Emotional matches: 1 at equal emotion, -1 at opposite corners of the valence/arousal plane.
  t.valence_match = 1.0 - std::fabs(m.valence - p.valence);
  t.arousal_match = 1.0 - std::fabs(m.arousal - p.arousal);
  // Cross-modal directions as products of centred, squashed descriptors: positive when both sides
  // deviate the same way (e.g. fast major music with a light yellow painting, slow minor with dark blue).
  const double fast_major = squash((m.tempo_bpm - 100) / 40) + (m.major ? 0.5 : -0.5);
  const double light_yellow = squash((p.lightness - 55) / 20) + 0.5 * squash(p.b / 25);
  t.tempo_mode_light = squash(fast_major * light_yellow);
  const double loud = squash((m.loudness_lufs + 23) / 8) + 0.5 * m.arousal;
  const double red_sat = squash(p.a / 20) + squash((p.chroma - 25) / 15);
  t.loud_red_saturated = squash(loud * red_sat);
  t.pitch_lightness = squash(squash((m.pitch_height - 66) / 10) * squash((p.lightness - 55) / 20) * 2);
  t.rhythm_edges = squash(2 * squash((m.onset_rate_hz - 3) / 2) * squash((p.edge_density - 0.08) / 0.05));
  t.brightness_angularity = squash(2 * squash((m.centroid_hz - 1500) / 800) * squash((p.angularity - 0.2) / 0.15));
  return t;
}

double emotion_only(const PanelTerms& t) {
  auto w = ReferencePanel::base_weights();
  return w[0] * t.valence_match + w[1] * t.arousal_match;
}

std::vector<double> ReferencePanel::base_weights() {
  // Emotion carries about half of the judgment; the cross-modal directions and the two
  // non-emotional channels the rest, so coherence is more than emotion (the paper's point).
  return {0.9, 0.7, 0.45, 0.35, 0.3, 0.45, 0.4};
}

ReferencePanel::ReferencePanel(const PanelConfig& cfg) : cfg_(cfg) {
  std::mt19937_64 rng(cfg.seed * 0x9E3779B97F4A7C15ULL + 17);
  std::normal_distribution<double> z(0, 1);
  std::uniform_real_distribution<double> u(cfg.noise_min, cfg.noise_max);
  for (int r = 0; r < cfg.raters; ++r) {
    Rater x;
    x.id = "panel-" + std::to_string(r + 1);
    for (double w : base_weights()) x.weights.push_back(w * std::exp(cfg.weight_spread * z(rng)));
    x.bias = cfg.bias_sd * z(rng);
    x.noise = u(rng);
    raters_.push_back(x);
  }
}

double ReferencePanel::latent(const PanelTerms& t) const {
  auto v = t.vec(), w = base_weights();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += w[i] * v[i];
  return s;
}

std::vector<int> ReferencePanel::rate(const PanelTerms& t, const std::string& pair_key) const {
  std::vector<int> out;
  auto v = t.vec();
  for (const auto& r : raters_) {
    std::seed_seq seq{uint32_t(cfg_.seed), uint32_t(std::hash<std::string>{}(r.id + "\x1f" + pair_key))};
    std::mt19937_64 rng(seq);
    double s = r.bias + std::normal_distribution<double>(0, r.noise)(rng);
    for (size_t i = 0; i < v.size(); ++i) s += r.weights[i] * v[i];
    // Latent coherence (about -2..3) onto the 1-5 scale around its typical centre.
    out.push_back(int(std::clamp(std::lround(3.0 + 0.9 * (s - 0.9)), 1L, 5L)));
  }
  return out;
}

std::vector<double> ReferencePanel::compare(const PanelTerms& a, const PanelTerms& b, const std::string& key) const {
  std::vector<double> out;
  const auto va = a.vec(), vb = b.vec();
  for (const auto& r : raters_) {
    std::seed_seq seq{uint32_t(cfg_.seed), uint32_t(std::hash<std::string>{}(r.id +
                                                                             "\x1f"
                                                                             "cmp"
                                                                             "\x1f" +
                                                                             key))};
    std::mt19937_64 rng(seq);
    double d = std::normal_distribution<double>(0, cfg_.comparison_noise_ratio * r.noise)(rng);
    for (size_t i = 0; i < va.size(); ++i) d += r.weights[i] * (va[i] - vb[i]);
    out.push_back(d);
  }
  return out;
}

}  // namespace mpjudge
