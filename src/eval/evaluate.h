// `mpjudge eval`: a trained model against an MPD split, with bootstrap intervals, per-source subsets and
// the panel's single-rater ceiling on the same pairs. Torch-free header.
#pragma once

#include <mpjudge/mpjudge.h>

#include <optional>
#include <string>

#include "eval/metrics.h"

namespace mpjudge {

struct EvalOptions {
  std::string model, data;
  // The split to evaluate: train | val | test | test_style | test_music, or "all" (every pair and every
  // preference, split.json or not). Empty: "test" when the dataset has split.json, else "all".
  std::string split;
  int bootstrap = 1000;
  uint64_t seed = 1;
  FeatureOptions features;
  int feature_threads = 0;
};

struct EvalOutput {
  EvalReport report;
  std::string split;              // the split evaluated (EvalOptions::split resolved)
  std::optional<double> ceiling;  // mean single-rater SRCC vs the others on the split's pairs
  std::vector<ScoredPair> pairs;
  std::vector<ScoredPreference> prefs;
};

EvalOutput evaluate_model(const EvalOptions& opt);

}  // namespace mpjudge
