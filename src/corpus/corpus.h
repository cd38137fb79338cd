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
};

// Throws Error(Usage) when the requested pairs exceed what the media allow. With stratification the
// result's `split` holds each pair's split.
MpdDataset rate_corpus(const std::vector<CorpusMusic>& music, const std::vector<CorpusPainting>& paintings,
                       const CorpusOptions& opt);

}  // namespace mpjudge
