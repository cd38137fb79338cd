// Metrics (see metrics.h).
#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <set>

#include "common/error.h"
#include "common/files.h"
#include "data/csv.h"
#include "data/mpd.h"

namespace mpjudge {

std::vector<double> logistic4_map(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n < 5) return x;
  // Start: b1 = max(y), b2 = min(y), b3 = mean(x), b4 = std(x).
  double b[4];
  b[0] = *std::max_element(y.begin(), y.end()), b[1] = *std::min_element(y.begin(), y.end());
  double mx = std::accumulate(x.begin(), x.end(), 0.0) / double(n), sx = 0;
  for (double v : x) sx += (v - mx) * (v - mx);
  b[2] = mx, b[3] = std::max(1e-3, std::sqrt(sx / double(n)));
  auto f = [](const double* p, double v) {
    return p[1] + (p[0] - p[1]) / (1 + std::exp(-(v - p[2]) / std::fabs(p[3])));
  };
  auto sse = [&](const double* p) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += (y[i] - f(p, x[i])) * (y[i] - f(p, x[i]));
    return s;
  };
  double lambda = 1e-2, cur = sse(b);
  for (int it = 0; it < 200; ++it) {
    double JtJ[4][4] = {}, Jtr[4] = {};
    for (size_t i = 0; i < n; ++i) {
      const double s = std::fabs(b[3]), z = (x[i] - b[2]) / s, e = std::exp(-z), g = 1 / (1 + e);
      const double J[4] = {g, 1 - g, -(b[0] - b[1]) * g * g * e / s,
                           -(b[0] - b[1]) * g * g * e * z / s * (b[3] < 0 ? -1 : 1)};
      const double r = y[i] - f(b, x[i]);
      for (int p = 0; p < 4; ++p) {
        Jtr[p] += J[p] * r;
        for (int q = 0; q < 4; ++q) JtJ[p][q] += J[p] * J[q];
      }
    }
    // Solve (JtJ + lambda diag) d = Jtr.
    double A[4][5];
    for (int p = 0; p < 4; ++p) {
      for (int q = 0; q < 4; ++q) A[p][q] = JtJ[p][q] + (p == q ? lambda * (JtJ[p][p] + 1e-12) : 0);
      A[p][4] = Jtr[p];
    }
    bool ok = true;
    for (int c = 0; c < 4 && ok; ++c) {
      int piv = c;
      for (int r = c + 1; r < 4; ++r)
        if (std::fabs(A[r][c]) > std::fabs(A[piv][c])) piv = r;
      for (int k = 0; k < 5; ++k) std::swap(A[c][k], A[piv][k]);
      if (std::fabs(A[c][c]) < 1e-300) ok = false;
      for (int r = 0; r < 4 && ok; ++r) {
        if (r == c) continue;
        const double m = A[r][c] / A[c][c];
        for (int k = c; k < 5; ++k) A[r][k] -= m * A[c][k];
      }
    }
    if (!ok) break;
    double nb[4];
    for (int p = 0; p < 4; ++p) nb[p] = b[p] + A[p][4] / A[p][p];
    const double next = sse(nb);
    if (std::isfinite(next) && next < cur) {
      const bool converged = cur - next < 1e-12 * std::max(1.0, cur);
      std::copy(nb, nb + 4, b), cur = next, lambda = std::max(1e-9, lambda / 3);
      if (converged) break;
    } else {
      lambda *= 4;
      if (lambda > 1e9) break;
    }
  }
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = f(b, x[i]);
  return out;
}

Metrics compute_metrics(const std::vector<ScoredPair>& pairs, const std::vector<ScoredPreference>& prefs,
                        bool with_fits) {
  Metrics m;
  std::vector<double> p, y;
  for (const auto& s : pairs) p.push_back(s.pred), y.push_back(s.mos);
  m.n_pairs = pairs.size(), m.n_prefs = prefs.size();
  if (pairs.size() >= 2) {
    m.srcc = spearman(p, y);
    m.krcc = with_fits ? kendall_tau_b(p, y) : NAN;
    m.plcc = with_fits ? pearson(logistic4_map(p, y), y) : NAN;
    double ae = 0, se = 0;
    for (size_t i = 0; i < p.size(); ++i) ae += std::fabs(p[i] - y[i]), se += (p[i] - y[i]) * (p[i] - y[i]);
    m.mae = ae / double(p.size()), m.rmse = std::sqrt(se / double(p.size()));
  } else {
    m.srcc = m.krcc = m.plcc = m.mae = m.rmse = NAN;
  }
  size_t ok = 0;
  for (const auto& q : prefs) ok += q.pred_chosen > q.pred_rejected;
  m.pref_acc = prefs.empty() ? NAN : double(ok) / double(prefs.size());
  return m;
}

namespace {

// Resampling by music piece: each round draws as many pieces as there are, with replacement, and takes all
// the pairs and preferences of each drawn piece.
class PieceResampler {
 public:
  PieceResampler(const std::vector<ScoredPair>& pairs, const std::vector<ScoredPreference>& prefs) {
    for (size_t i = 0; i < pairs.size(); ++i) by_piece_[pairs[i].music].first.push_back(i);
    for (size_t i = 0; i < prefs.size(); ++i) by_piece_[prefs[i].music].second.push_back(i);
    for (const auto& [k, v] : by_piece_) pieces_.push_back(&v);
  }
  bool empty() const { return pieces_.empty(); }
  void draw(std::mt19937_64& rng, std::vector<size_t>& pair_idx, std::vector<size_t>& pref_idx) const {
    pair_idx.clear(), pref_idx.clear();
    for (size_t k = 0; k < pieces_.size(); ++k) {
      const auto* piece = pieces_[rng() % pieces_.size()];
      pair_idx.insert(pair_idx.end(), piece->first.begin(), piece->first.end());
      pref_idx.insert(pref_idx.end(), piece->second.begin(), piece->second.end());
    }
  }

 private:
  std::map<std::string, std::pair<std::vector<size_t>, std::vector<size_t>>> by_piece_;
  std::vector<const std::pair<std::vector<size_t>, std::vector<size_t>>*> pieces_;
};

template <class T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<size_t>& idx) {
  std::vector<T> out;
  out.reserve(idx.size());
  for (size_t i : idx) out.push_back(v[i]);
  return out;
}

// `rounds` resamples; round(pair_idx, pref_idx) names its values, and the finite ones are collected by name.
template <class F>
std::map<std::string, std::vector<double>> bootstrap(const PieceResampler& resampler, int rounds, uint64_t seed,
                                                     F&& round) {
  std::map<std::string, std::vector<double>> draws;
  std::mt19937_64 rng(seed);
  std::vector<size_t> pi, qi;
  for (int b = 0; b < rounds && !resampler.empty(); ++b) {
    resampler.draw(rng, pi, qi);
    for (const auto& [name, v] : round(pi, qi))
      if (std::isfinite(v)) draws[name].push_back(v);
  }
  return draws;
}

Interval percentile_interval(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  auto q = [&](double p) { return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))]; };
  return {q(0.025), q(0.975)};
}

}  // namespace

EvalReport evaluate_scores(const std::vector<ScoredPair>& pairs, const std::vector<ScoredPreference>& prefs, int rounds,
                           uint64_t seed) {
  EvalReport r;
  r.point = compute_metrics(pairs, prefs);
  auto draws = bootstrap(PieceResampler(pairs, prefs), rounds, seed, [&](const auto& pi, const auto& qi) {
    Metrics m = compute_metrics(pick(pairs, pi), pick(prefs, qi));
    return std::map<std::string, double>{{"srcc", m.srcc}, {"plcc", m.plcc}, {"krcc", m.krcc},
                                         {"mae", m.mae},   {"rmse", m.rmse}, {"pref_acc", m.pref_acc}};
  });
  for (auto& [name, v] : draws) r.ci95[name] = percentile_interval(v);
  std::map<std::string, std::vector<ScoredPair>> ms, pss;
  for (const auto& s : pairs) ms[s.music_source].push_back(s), pss[s.painting_source].push_back(s);
  for (const auto& [k, v] : ms)
    if (v.size() >= 10) r.by_music_source[k] = compute_metrics(v, {});
  for (const auto& [k, v] : pss)
    if (v.size() >= 10) r.by_painting_source[k] = compute_metrics(v, {});
  return r;
}

std::map<std::string, PairedDifference> paired_difference(const std::vector<ScoredPair>& a_pairs,
                                                          const std::vector<ScoredPreference>& a_prefs,
                                                          const std::vector<ScoredPair>& b_pairs,
                                                          const std::vector<ScoredPreference>& b_prefs, int rounds,
                                                          uint64_t seed) {
  bool same = a_pairs.size() == b_pairs.size() && a_prefs.size() == b_prefs.size();
  for (size_t i = 0; same && i < a_pairs.size(); ++i)
    same = a_pairs[i].music == b_pairs[i].music && a_pairs[i].painting == b_pairs[i].painting;
  for (size_t i = 0; same && i < a_prefs.size(); ++i) same = a_prefs[i].music == b_prefs[i].music;
  if (!same)
    throw Error(ErrorKind::Usage, "paired difference: expected two judges scored on the same pairs and preferences");
  // Only what the difference needs (SRCC, preference accuracy, MAE): no logistic fit or Kendall per round.
  auto advantage = [](const std::vector<ScoredPair>& pa, const std::vector<ScoredPreference>& qa,
                      const std::vector<ScoredPair>& pb, const std::vector<ScoredPreference>& qb) {
    Metrics a = compute_metrics(pa, qa, false), b = compute_metrics(pb, qb, false);
    return std::map<std::string, double>{
        {"srcc", a.srcc - b.srcc}, {"pref_acc", a.pref_acc - b.pref_acc}, {"mae", b.mae - a.mae}};
  };
  std::map<std::string, PairedDifference> out;
  for (const auto& [k, v] : advantage(a_pairs, a_prefs, b_pairs, b_prefs))
    if (std::isfinite(v)) out[k].point = v;
  auto draws = bootstrap(PieceResampler(a_pairs, a_prefs), rounds, seed, [&](const auto& pi, const auto& qi) {
    return advantage(pick(a_pairs, pi), pick(a_prefs, qi), pick(b_pairs, pi), pick(b_prefs, qi));
  });
  for (auto& [k, v] : draws) {
    if (!out.count(k) || v.empty()) continue;
    out[k].p_not_better = double(std::count_if(v.begin(), v.end(), [](double d) { return d <= 0; })) / double(v.size());
    out[k].ci95 = percentile_interval(v);
  }
  return out;
}

void write_predictions_csv(const std::string& path, const std::vector<ScoredPair>& pairs) {
  std::string csv = "music,painting,music_source,painting_source,mos,pred\n";
  char num[64];
  for (const auto& p : pairs) {
    std::snprintf(num, sizeof num, "%.6f,%.6f\n", p.mos, p.pred);
    csv += csv_field(p.music) + "," + csv_field(p.painting) + "," + csv_field(p.music_source) + "," +
           csv_field(p.painting_source) + "," + num;
  }
  write_file_atomic(path, csv);
}

}  // namespace mpjudge

namespace mpjudge {

ScoreSummary summarise_scores(const std::vector<double>& scores, int bootstrap_rounds, uint64_t seed) {
  ScoreSummary s;
  std::vector<double> v;
  for (double x : scores)
    if (std::isfinite(x)) v.push_back(x);
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const double n = double(v.size());
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(ss / (n - 1)) : 0.0;
  // Percentiles by linear interpolation between order statistics (numpy's default).
  auto q = [&](double p) {
    const double h = p * (n - 1);
    const size_t lo = size_t(std::floor(h));
    const size_t hi = std::min(v.size() - 1, lo + 1);
    return v[lo] + (h - double(lo)) * (v[hi] - v[lo]);
  };
  s.median = q(0.5);
  for (int p : {5, 10, 25, 75, 90, 95}) s.percentiles.push_back({p, q(p / 100.0)});
  if (v.size() > 1 && bootstrap_rounds > 0) {
    std::mt19937_64 rng(seed);
    std::vector<double> means(static_cast<size_t>(bootstrap_rounds));
    for (auto& m : means) {
      double sum = 0;
      for (size_t k = 0; k < v.size(); ++k) sum += v[rng() % v.size()];
      m = sum / n;
    }
    const Interval ci = percentile_interval(means);
    s.ci95_lo = ci.lo, s.ci95_hi = ci.hi;
  } else {
    s.ci95_lo = s.ci95_hi = s.mean;
  }
  return s;
}

}  // namespace mpjudge
