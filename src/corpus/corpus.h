// MPD-Open labelling: given music clips and paintings with their panel descriptors, sample scored pairs,
// collect every reference-panel rater's rating, and derive preference pairs for ambiguous cases by panel
// majority. Pure and seeded; gathering and describing the media is the builder's job (issue 6).
#pragma once

#include <map>
#include "corpus/panel.h"

#include "data/mpd.h"

namespace mpjudge {

struct CorpusMusic {
  std::string path, source;  // path relative to the dataset root
  PanelMusic m;
  bool recorded = false;  // a recording (not a MIDI render): see CorpusOptions::balance_music_kind
};

struct CorpusPainting {
  std::string path, source;
  PanelPainting p;
};

struct CorpusOptions {
  uint64_t seed = 1;
  size_t pairs = 20000;
  size_t preferences = 5000;
  double ambiguous_gap =
      0.1;  // two paintings for one music piece are "ambiguous" when their scores differ by at most this
  PanelConfig panel;
  // Optional stratification: the split of each music clip and painting (same order as the inputs).
  // Pairs and preferences are then drawn within one split each, in these shares of the totals
  // (renormalised over the splits present), so no pair is lost to a cross-split "excluded".
  std::vector<std::string> music_split, painting_split;
  std::map<std::string, double> split_share{{"train", 0.7}, {"val", 0.1}, {"test", 0.1}, {"test_style", 0.1}};
  // Preferences: false = each rater rates both pairs again and the ratings vote (MPD-Open v1); true =
  // each rater compares the two directly (ReferencePanel::compare, MPD-Open v2).
  bool comparisons = false;
  // Draw half of each split's pairs from recorded clips and half from renders where both exist (v2).
  bool balance_music_kind = false;
};

// How the preference pairs relate to the panel's latent order (the base weights without rater effects):
// the share where the preference's chosen painting has the higher latent coherence, and the share where
// the higher mean score does (a tie in mean score counts half).
struct PreferenceCheck {
  size_t pairs = 0;
  double preference_agrees = 0, mean_score_agrees = 0;
};

// Throws Error(Usage) when the requested pairs exceed what the media allow. With stratification the
// result's `split` holds each pair's split.
MpdDataset rate_corpus(const std::vector<CorpusMusic>& music, const std::vector<CorpusPainting>& paintings,
                       const CorpusOptions& opt, PreferenceCheck* check = nullptr);

}  // namespace mpjudge
