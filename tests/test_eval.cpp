// Evaluation metrics: Kendall's tau-b on a textbook example, the 4-parameter logistic mapping recovering
// a monotone non-linear relation, preference accuracy, and bootstrap intervals by music piece.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "eval/metrics.h"

using namespace mpjudge;

TEST(Metrics, KendallTauB) {
  // No ties: 3 concordant, 3 discordant of 6 pairs... a known small case.
  EXPECT_NEAR(kendall_tau_b({1, 2, 3, 4}, {1, 2, 3, 4}), 1.0, 1e-12);
  EXPECT_NEAR(kendall_tau_b({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
  EXPECT_NEAR(kendall_tau_b({1, 2, 3, 4, 5}, {3, 4, 1, 2, 5}), 0.2, 1e-12);  // 6 concordant, 4 discordant
  // With ties (scipy.stats.kendalltau([1,2,2,3],[1,3,2,2]) = 0.4).
  EXPECT_NEAR(kendall_tau_b({1, 2, 2, 3}, {1, 3, 2, 2}), 0.4, 1e-12);
}

TEST(Metrics, LogisticMappingLinearisesAMonotoneRelation) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> pred, mos;
  for (int i = 0; i < 400; ++i) {
    const double x = u(rng);
    pred.push_back(x);
    mos.push_back(0.1 + 0.8 / (1 + std::exp(-(x - 0.5) / 0.08)));
  }
  const double raw = pearson(pred, mos), mapped = pearson(logistic4_map(pred, mos), mos);
  printf("PLCC raw %.4f, after the logistic mapping %.6f\n", raw, mapped);
  EXPECT_LT(raw, 0.97);
  EXPECT_GT(mapped, 0.9999);
}

TEST(Metrics, BootstrapIntervalsByMusicPiece) {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> noise(0, 0.1);
  auto make = [&](int pieces) {
    std::vector<ScoredPair> pairs;
    std::vector<ScoredPreference> prefs;
    for (int m = 0; m < pieces; ++m)
      for (int p = 0; p < 10; ++p) {
        const double mos = (p + 0.5) / 10.0;
        pairs.push_back(
            {"m" + std::to_string(m), "p" + std::to_string(p), m % 2 ? "a" : "b", "x", mos + noise(rng), mos});
        if (p % 3 == 0) prefs.push_back({"m" + std::to_string(m), mos + 0.1, mos + (m % 4 == 0 ? 0.2 : 0.0)});
      }
    return std::make_pair(pairs, prefs);
  };
  auto [small_p, small_q] = make(10);
  auto [big_p, big_q] = make(100);
  EvalReport a = evaluate_scores(small_p, small_q, 500, 1), b = evaluate_scores(big_p, big_q, 500, 1);
  printf("SRCC %.3f [%.3f, %.3f] with 10 pieces; %.3f [%.3f, %.3f] with 100\n", a.point.srcc, a.ci95["srcc"].lo,
         a.ci95["srcc"].hi, b.point.srcc, b.ci95["srcc"].lo, b.ci95["srcc"].hi);
  for (const auto* r : {&a, &b}) {
    EXPECT_LE(r->ci95.at("srcc").lo, r->point.srcc);
    EXPECT_GE(r->ci95.at("srcc").hi, r->point.srcc);
    EXPECT_LE(r->ci95.at("mae").lo, r->point.mae);
  }
  EXPECT_LT(b.ci95["srcc"].hi - b.ci95["srcc"].lo, a.ci95["srcc"].hi - a.ci95["srcc"].lo);
  EXPECT_NEAR(b.point.pref_acc, 0.75, 0.03);  // every 4th piece's preferences are predicted wrong
  EXPECT_EQ(b.by_music_source.size(), 2u);
  EXPECT_NEAR(b.point.mae, 0.08, 0.02);  // E|N(0, 0.1)|
}

// The paired bootstrap: a better judge's advantage has an interval above zero even when the two judges'
// own intervals overlap; the same judge against itself differs by exactly zero; other pairs are refused.
TEST(Metrics, PairedDifferenceOfTwoJudgesOnTheSamePairs) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> z(0, 1);
  std::vector<ScoredPair> good, worse;
  std::vector<ScoredPreference> qg, qw;
  for (int m = 0; m < 60; ++m) {
    const double piece = 0.3 * z(rng);  // a per-piece offset shared by both judges: what makes intervals wide
    for (int p = 0; p < 12; ++p) {
      const double mos = std::clamp(0.5 + 0.15 * z(rng), 0.0, 1.0);
      const std::string music = "m" + std::to_string(m), painting = "p" + std::to_string(p);
      good.push_back({music, painting, "s", "t", mos + 0.03 * z(rng) + piece * 0.3, mos});
      worse.push_back({music, painting, "s", "t", mos + 0.07 * z(rng) + piece * 0.3, mos});
      if (p % 4 == 0) {
        qg.push_back({music, 0.6, z(rng) < 1.0 ? 0.5 : 0.7});  // right about 84% of the time
        qw.push_back({music, 0.6, z(rng) < 0.0 ? 0.5 : 0.7});  // about 50%
      }
    }
  }
  EvalReport a = evaluate_scores(good, qg, 200, 1), b = evaluate_scores(worse, qw, 200, 1);
  auto d = paired_difference(good, qg, worse, qw, 400, 1);
  printf("SRCC %.3f [%.3f, %.3f] vs %.3f [%.3f, %.3f]; paired difference %+.3f [%.3f, %.3f], p %.3f\n", a.point.srcc,
         a.ci95["srcc"].lo, a.ci95["srcc"].hi, b.point.srcc, b.ci95["srcc"].lo, b.ci95["srcc"].hi, d["srcc"].point,
         d["srcc"].ci95.lo, d["srcc"].ci95.hi, d["srcc"].p_not_better);
  EXPECT_NEAR(d["srcc"].point, a.point.srcc - b.point.srcc, 1e-12);
  EXPECT_NEAR(d["pref_acc"].point, a.point.pref_acc - b.point.pref_acc, 1e-12);
  EXPECT_NEAR(d["mae"].point, b.point.mae - a.point.mae, 1e-12);
  EXPECT_GT(a.ci95["srcc"].hi, b.ci95["srcc"].lo);  // the two intervals overlap ...
  EXPECT_GT(d["srcc"].ci95.lo, 0.0);                // ... and the difference is still beyond its interval
  EXPECT_GT(d["pref_acc"].ci95.lo, 0.0);
  EXPECT_LT(d["srcc"].p_not_better, 0.025);
  auto rev = paired_difference(worse, qw, good, qg, 400, 1);
  EXPECT_LT(rev["srcc"].ci95.hi, 0.0);
  EXPECT_GT(rev["srcc"].p_not_better, 0.975);
  auto self = paired_difference(good, qg, good, qg, 100, 1);
  EXPECT_EQ(self["srcc"].point, 0.0);
  EXPECT_EQ(self["srcc"].ci95.lo, 0.0);
  EXPECT_EQ(self["srcc"].ci95.hi, 0.0);
  std::vector<ScoredPair> other = worse;
  std::swap(other[0], other[1]);
  EXPECT_THROW(paired_difference(good, qg, other, qw, 10, 1), std::exception);
}
