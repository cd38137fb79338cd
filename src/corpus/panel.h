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

// ---- listener emotions (MPD-Open v2) ----------------------------------------------------------------
// The nine GEMS categories as the Emotify game names them (Aljanaki, Wiering & Veltkamp 2016), each placed
// in valence-arousal space ([-1, 1]^2) after Trost, Ethofer, Zentner & Vuilleumier 2012 (docs/panel.md
// gives the coordinates and how they were read).
struct GemsCategory {
  const char* name;
  double valence, arousal;
};
const std::vector<GemsCategory>& gems_categories();
// Valence and arousal of one excerpt from the share of its listeners who chose each category (same
// order as gems_categories()): the share-weighted mean of the categories' coordinates times
// kGemsStretch, clamped to [-1, 1]. Throws Error(Input) when no listener chose anything.
constexpr double kGemsStretch = 1.6;
std::pair<double, double> gems_valence_arousal(const std::vector<double>& shares);
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
  double weight_spread = 0.35;              // log-normal spread of each rater's weights around the base weights
  double bias_sd = 0.25;                    // per-rater leniency on the latent scale
  double noise_min = 0.6, noise_max = 0.8;  // per-rater rating noise (latent sd)
  // Paired comparison (v2 preferences): a rater comparing two paintings for one piece judges the
  // difference of its own latent coherences with noise comparison_noise_ratio x its rating noise, and
  // without its leniency bias, which cancels in a difference (Thurstone 1927, case V).
  double comparison_noise_ratio = 0.5;
};

class ReferencePanel {
 public:
  explicit ReferencePanel(const PanelConfig& cfg = {});
  static std::vector<double> base_weights();  // the published directions, non-emotional terms included
  double latent(const PanelTerms& t) const;   // the panel's mean judgment before rater effects
  // Ratings 1..5 of every rater for one pair; `pair_key` makes the noise reproducible per pair.
  std::vector<int> rate(const PanelTerms& t, const std::string& pair_key) const;
  // Every rater's comparison of painting a against painting b for one piece: > 0 prefers a.
  std::vector<double> compare(const PanelTerms& a, const PanelTerms& b, const std::string& key) const;
  const PanelConfig& config() const { return cfg_; }
  const std::vector<Rater>& raters() const { return raters_; }

 private:
  PanelConfig cfg_;
  std::vector<Rater> raters_;
};

}  // namespace mpjudge
