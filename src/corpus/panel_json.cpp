// The reference panel as data (see panel_json.h).
#include "corpus/panel_json.h"

#include <random>

#include "corpus/panel.h"

namespace mpjudge {

Json panel_description(int samples) {
  const PanelConfig cfg;
  Json j{{"terms", PanelTerms::names()},
         {"base_weights", ReferencePanel::base_weights()},
         {"raters",
          {{"count", cfg.raters},
           {"weight_spread", cfg.weight_spread},
           {"bias_sd", cfg.bias_sd},
           {"noise_min", cfg.noise_min},
           {"noise_max", cfg.noise_max},
           {"comparison_noise_ratio", cfg.comparison_noise_ratio},
           {"rating", "round(3 + 0.9 * (latent - 0.9)), clamped to 1..5"}}}};
  Json gems = Json::array();
  for (const auto& g : gems_categories())
    gems.push_back({{"name", g.name}, {"valence", g.valence}, {"arousal", g.arousal}});
  j["gems"] = gems;
  j["gems_stretch"] = kGemsStretch;
  // Reference samples spanning the descriptors' usual ranges (fixed seed: the same on every machine).
  std::mt19937_64 rng(20261201);
  std::uniform_real_distribution<double> u(0, 1);
  Json out = Json::array();
  const ReferencePanel panel(cfg);
  for (int i = 0; i < samples; ++i) {
    MusicDescriptors md;
    md.tempo_bpm = 50 + 150 * u(rng), md.onset_rate_hz = 0.2 + 8 * u(rng);
    md.mode = u(rng) < 0.5 ? "major" : "minor", md.key_strength = u(rng);
    md.loudness_lufs = -40 + 32 * u(rng), md.spectral_centroid_hz = 300 + 4000 * u(rng);
    md.pitch_height = 40 + 50 * u(rng);
    PaintingDescriptors pd;
    pd.lightness = 10 + 85 * u(rng), pd.chroma = 2 + 60 * u(rng), pd.a = -30 + 60 * u(rng), pd.b = -40 + 80 * u(rng);
    pd.contrast = 3 + 35 * u(rng), pd.edge_density = 0.3 * u(rng), pd.angularity = 0.6 * u(rng);
    pd.emotion = {-0.8 + 1.2 * u(rng), -0.5 + 1.0 * u(rng), -0.7 + 1.0 * u(rng)};
    const bool human = i % 2 == 1;
    const std::pair<double, double> va{-1 + 2 * u(rng), -1 + 2 * u(rng)};
    const PanelMusic m = human ? panel_music(md, va) : panel_music(md);
    const PanelPainting p = panel_painting(pd);
    const PanelTerms t = panel_terms(m, p);
    out.push_back({{"music",
                    {{"tempo_bpm", md.tempo_bpm},
                     {"onset_rate_hz", md.onset_rate_hz},
                     {"mode", md.mode},
                     {"key_strength", md.key_strength},
                     {"loudness_lufs", md.loudness_lufs},
                     {"spectral_centroid_hz", md.spectral_centroid_hz},
                     {"pitch_height", md.pitch_height}}},
                   {"human_va", human ? Json{va.first, va.second} : Json(nullptr)},
                   {"painting",
                    {{"lightness", pd.lightness},
                     {"chroma", pd.chroma},
                     {"a", pd.a},
                     {"b", pd.b},
                     {"contrast", pd.contrast},
                     {"edge_density", pd.edge_density},
                     {"angularity", pd.angularity},
                     {"emotion", {{"happy", pd.emotion.happy}, {"sad", pd.emotion.sad}, {"angry", pd.emotion.angry}}}}},
                   {"music_va", {m.valence, m.arousal}},
                   {"painting_va", {p.valence, p.arousal}},
                   {"terms", t.vec()},
                   {"latent", panel.latent(t)}});
  }
  j["samples"] = out;
  return j;
}

}  // namespace mpjudge
