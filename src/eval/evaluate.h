// `mpjudge eval`: a trained model against an MPD split, with bootstrap intervals, per-source subsets and
// the panel's single-rater ceiling on the same pairs. Torch-free header.
#pragma once

#include <mpjudge/mpjudge.h>

#include <optional>
#include <string>

#include "eval/metrics.h"

namespace mpjudge {

struct EvalOptions {
  std::string model, data, split = "test";
  int bootstrap = 1000;
  uint64_t seed = 1;
  FeatureOptions features;
  int feature_threads = 0;
};

struct EvalOutput {
  EvalReport report;
  std::optional<double> ceiling;  // mean single-rater SRCC vs the others on the split's pairs
  std::vector<ScoredPair> pairs;
  std::vector<ScoredPreference> prefs;
};

EvalOutput evaluate_model(const EvalOptions& opt);

}  // namespace mpjudge
