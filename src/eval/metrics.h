// Agreement metrics between predicted and reference scores, as used in quality assessment: SRCC, KRCC,
// PLCC after the 4-parameter logistic mapping (VQEG), MAE, RMSE, preference accuracy, and bootstrap 95%
// intervals that resample whole music pieces (pairs of one piece are not independent). Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/stats.h"

namespace mpjudge {

struct ScoredPair {
  std::string music, painting;
  std::string music_source, painting_source;
  double pred = 0, mos = 0;
};

// Every scored pair as CSV (music, painting, music_source, painting_source, mos, pred; 6 decimals),
// written atomically.
void write_predictions_csv(const std::string& path, const std::vector<ScoredPair>& pairs);

struct ScoredPreference {
  std::string music;
  double pred_chosen = 0, pred_rejected = 0;
};

struct Metrics {
  double srcc = 0, plcc = 0, krcc = 0, mae = 0, rmse = 0, pref_acc = 0;
  size_t n_pairs = 0, n_prefs = 0;
};

struct Interval {
  double lo = 0, hi = 0;
};

struct EvalReport {
  Metrics point;
  std::map<std::string, Interval> ci95;            // per metric name
  std::map<std::string, Metrics> by_music_source;  // subsets with at least 10 pairs
  std::map<std::string, Metrics> by_painting_source;
};

// Fits mos ~ b2 + (b1 - b2) / (1 + exp(-(pred - b3) / |b4|)) by Gauss-Newton/Levenberg-Marquardt and
// returns the mapped predictions (the identity's Pearson when the fit fails).
std::vector<double> logistic4_map(const std::vector<double>& pred, const std::vector<double>& mos);
// with_fits = false leaves out the slow ones, KRCC and the logistic-mapped PLCC (NaN then).
Metrics compute_metrics(const std::vector<ScoredPair>& pairs, const std::vector<ScoredPreference>& prefs,
                        bool with_fits = true);
// Bootstrap over music pieces (`rounds` resamples, seeded) plus subsets by source.
EvalReport evaluate_scores(const std::vector<ScoredPair>& pairs, const std::vector<ScoredPreference>& prefs,
                           int rounds = 1000, uint64_t seed = 1);

// Paired bootstrap of a judge's advantage over another on the same pairs and preferences (same order, as
// two evaluations of one split give them): every round resamples the same music pieces for both, so the
// interval is that of the difference itself, not two overlapping intervals. Keys: "srcc" and "pref_acc"
// (a - b: positive = a better), "mae" (b - a: positive = a better). Throws Error(Usage) when the two
// lists are not the same pairs.
struct PairedDifference {
  double point = 0;
  Interval ci95;
  double p_not_better = 0;  // share of rounds in which a was not better than b (a one-sided bootstrap p)
};
std::map<std::string, PairedDifference> paired_difference(const std::vector<ScoredPair>& a_pairs,
                                                          const std::vector<ScoredPreference>& a_prefs,
                                                          const std::vector<ScoredPair>& b_pairs,
                                                          const std::vector<ScoredPreference>& b_prefs,
                                                          int rounds = 1000, uint64_t seed = 1);

}  // namespace mpjudge
