// The MPD-Open reference panel: simulated raters whose coherence judgments follow published
// music-visual correspondences (docs/panel.md lists each term with its citation and sign). A stand-in
// for expert raters, documented as such; real expert data replaces it unchanged. Pure arithmetic on
// descriptors: no media, no model.
#pragma once

#include <mpjudge/mpjudge.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

namespace mpjudge {

// The music side as the panel sees it. valence/arousal in [-1, 1]: human labels when the source has
// them (vgmidi), else the documented estimate from mode, tempo, loudness and brightness.
struct PanelMusic {
  double valence = 0, arousal = 0;
  double tempo_bpm = 100, onset_rate_hz = 3, centroid_hz = 1500, pitch_height = 64, loudness_lufs = -23;
  bool major = true;
};

struct PanelPainting {
  double valence = 0, arousal = 0;  // from colour emotion, lightness, chroma and contrast
  double lightness = 50, chroma = 25, a = 0, b = 0, contrast = 20, edge_density = 0.08, angularity = 0.2;
};

PanelMusic panel_music(const MusicDescriptors& d, std::optional<std::pair<double, double>> human_va = std::nullopt);
PanelPainting panel_painting(const PaintingDescriptors& d);

// The correspondence terms for one pair, each roughly in [-1, 1], higher = more coherent.
struct PanelTerms {
  double valence_match, arousal_match;  // emotion (Palmer et al. 2013; Whiteford et al. 2018)
  double tempo_mode_light;              // faster/major <-> lighter, yellower (Palmer et al. 2013)
  double loud_red_saturated;     // louder/aroused <-> redder, more saturated (Whiteford 2018; Lindborg & Friberg 2015)
  double pitch_lightness;        // higher pitch <-> lighter (Ward, Huckstep & Tsakanikos 2006)
  double rhythm_edges;           // onset density <-> edge density: visual rhythm (non-emotional)
  double brightness_angularity;  // timbral brightness <-> angular shapes (non-emotional)
  std::vector<double> vec() const;
  static std::vector<std::string> names();
};
PanelTerms panel_terms(const PanelMusic& m, const PanelPainting& p);
// The emotion-only part (valence/arousal matches) of the latent coherence, for `data stats`.
double emotion_only(const PanelTerms& t);

struct Rater {
  std::string id;
  std::vector<double> weights;  // per term
  double bias = 0, noise = 0.6;
};

struct PanelConfig {
  int raters = 7;
  uint64_t seed = 1;
  double weight_spread = 0.35;                // log-normal spread of each rater's weights around the base weights
  double bias_sd = 0.25;                      // per-rater leniency on the latent scale
  double noise_min = 0.6, noise_max = 0.8;  // per-rater rating noise (latent sd)
};

class ReferencePanel {
 public:
  explicit ReferencePanel(const PanelConfig& cfg = {});
  static std::vector<double> base_weights();  // the published directions, non-emotional terms included
  double latent(const PanelTerms& t) const;   // the panel's mean judgment before rater effects
  // Ratings 1..5 of every rater for one pair; `pair_key` makes the noise reproducible per pair.
  std::vector<int> rate(const PanelTerms& t, const std::string& pair_key) const;
  const std::vector<Rater>& raters() const { return raters_; }

 private:
  PanelConfig cfg_;
  std::vector<Rater> raters_;
};

}  // namespace mpjudge
