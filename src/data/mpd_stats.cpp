// Agreement statistics of an MPD dataset (see mpd.h): Krippendorff's alpha, ICC, the single-rater
// ceiling, the emotion-only fit, counts by music kind and source.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "data/mpd.h"

namespace mpjudge {

double krippendorff_alpha_interval(const std::vector<std::vector<double>>& units) {
  // Coincidence form: D_o over pairs of values within a unit (weighted 1/(m_u - 1)), D_e over all
  // pairable values; alpha = 1 - D_o / D_e (Krippendorff 2011, "Computing Krippendorff's alpha").
  std::vector<double> all;
  double d_o = 0;
  for (const auto& u : units) {
    std::vector<double> v;
    for (double x : u)
      if (std::isfinite(x)) v.push_back(x);
    if (v.size() < 2) continue;
    double s = 0;
    for (size_t i = 0; i < v.size(); ++i)
      for (size_t j = 0; j < v.size(); ++j) s += (v[i] - v[j]) * (v[i] - v[j]);
    d_o += s / double(v.size() - 1);
    all.insert(all.end(), v.begin(), v.end());
  }
  const double n = double(all.size());
  if (n < 2) return NAN;
  d_o /= n;
  // sum over i != j of (a_i - a_j)^2 = 2 n sum a^2 - 2 (sum a)^2
  double s1 = 0, s2 = 0;
  for (double a : all) s1 += a, s2 += a * a;
  double d_e = (2 * n * s2 - 2 * s1 * s1) / (n * (n - 1));
  return d_e > 0 ? 1.0 - d_o / d_e : NAN;
}

static std::optional<std::array<double, 5>> icc_mean_squares(const std::vector<std::vector<double>>& units) {
  std::vector<std::vector<double>> c;
  for (const auto& u : units)
    if (!u.empty() && std::all_of(u.begin(), u.end(), [](double x) { return std::isfinite(x); })) c.push_back(u);
  if (c.size() < 2) return std::nullopt;
  const size_t n = c.size(), k = c[0].size();
  if (k < 2) return std::nullopt;
  double grand = 0;
  std::vector<double> row(n, 0), col(k, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < k; ++j) row[i] += c[i][j], col[j] += c[i][j], grand += c[i][j];
  grand /= double(n * k);
  double ssr = 0, ssc = 0, sst = 0;
  for (size_t i = 0; i < n; ++i) ssr += double(k) * std::pow(row[i] / double(k) - grand, 2);
  for (size_t j = 0; j < k; ++j) ssc += double(n) * std::pow(col[j] / double(n) - grand, 2);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < k; ++j) sst += std::pow(c[i][j] - grand, 2);
  double bms = ssr / double(n - 1), jms = ssc / double(k - 1), ems = (sst - ssr - ssc) / double((n - 1) * (k - 1));
  return std::array<double, 5>{bms, jms, ems, double(n), double(k)};
}

std::optional<double> icc_2k(const std::vector<std::vector<double>>& units) {
  auto ms = icc_mean_squares(units);
  if (!ms) return std::nullopt;
  [[maybe_unused]] auto [bms, jms, ems, n, k] = *ms;
  return (bms - ems) / (bms + (jms - ems) / n);
}

std::optional<double> icc_21(const std::vector<std::vector<double>>& units) {
  auto ms = icc_mean_squares(units);
  if (!ms) return std::nullopt;
  auto [bms, jms, ems, n, k] = *ms;
  return (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n);
}

namespace {

// Least squares of the score on emotion-only features of both sides (see MpdStats).
void emotion_only_fit(const MpdDataset& d, MpdStats& s) {
  std::map<std::string, std::pair<double, double>> va;
  for (const auto& m : d.media)
    if (m.valence && m.arousal) va[m.path] = {*m.valence, *m.arousal};
  std::vector<std::vector<double>> X;
  std::vector<double> y;
  for (const auto& p : d.pairs) {
    auto a = va.find(p.music), b = va.find(p.painting);
    if (a == va.end() || b == va.end() || !std::isfinite(p.score)) continue;
    const double vm = a->second.first, am = a->second.second, vp = b->second.first, ap = b->second.second;
    X.push_back({1, vm, am, vp, ap, vm * vp, am * ap, std::fabs(vm - vp), std::fabs(am - ap), vm * vm, am * am, vp * vp,
                 ap * ap});
    y.push_back(p.score);
  }
  if (y.size() < 50 || y.size() < d.pairs.size() / 2) return;
  const size_t k = X[0].size();
  std::vector<std::vector<double>> A(k, std::vector<double>(k + 1, 0.0));
  for (size_t i = 0; i < y.size(); ++i)
    for (size_t r = 0; r < k; ++r) {
      for (size_t c = 0; c < k; ++c) A[r][c] += X[i][r] * X[i][c];
      A[r][k] += X[i][r] * y[i];
    }
  for (size_t r = 0; r < k; ++r) A[r][r] += 1e-6 * double(y.size());  // a whisper of ridge: collinear columns
  for (size_t c = 0; c < k; ++c) {                                    // Gauss-Jordan, partial pivoting
    size_t piv = c;
    for (size_t r = c + 1; r < k; ++r)
      if (std::fabs(A[r][c]) > std::fabs(A[piv][c])) piv = r;
    std::swap(A[c], A[piv]);
    for (size_t r = 0; r < k; ++r) {
      if (r == c || A[c][c] == 0) continue;
      const double f = A[r][c] / A[c][c];
      for (size_t j = c; j <= k; ++j) A[r][j] -= f * A[c][j];
    }
  }
  std::vector<double> pred(y.size(), 0.0);
  double mean = 0, ss_tot = 0, ss_res = 0;
  for (double v : y) mean += v;
  mean /= double(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    for (size_t c = 0; c < k; ++c) pred[i] += X[i][c] * (A[c][c] != 0 ? A[c][k] / A[c][c] : 0.0);
    ss_res += (y[i] - pred[i]) * (y[i] - pred[i]), ss_tot += (y[i] - mean) * (y[i] - mean);
  }
  if (ss_tot <= 0) return;
  s.emotion_pairs = y.size();
  s.emotion_r2 = 1 - ss_res / ss_tot;
  s.emotion_srcc = spearman(pred, y);
  if (s.icc2k && *s.icc2k > 0) s.emotion_share_of_reliable = *s.emotion_r2 / *s.icc2k;
}

}  // namespace

MpdStats mpd_stats(const MpdDataset& d) {
  MpdStats s;
  s.pairs = d.pairs.size();
  std::set<std::string> musics, paintings, raters;
  s.histogram.assign(10, 0);
  for (const auto& p : d.pairs) {
    musics.insert(p.music), paintings.insert(p.painting);
    if (std::isfinite(p.score)) s.histogram[size_t(std::clamp(int(p.score * 10), 0, 9))]++;
  }
  s.musics = musics.size(), s.paintings = paintings.size(), s.ratings = d.ratings.size(),
  s.preferences = d.preferences.size();
  {
    std::map<std::string, const MpdMedia*> media;
    for (const auto& m : d.media)
      if (m.kind == "music") media[m.path] = &m;
    std::map<std::string, std::string> kind_of, source_of;
    for (const auto& p : d.pairs) {
      auto it = media.find(p.music);
      kind_of[p.music] = it != media.end() && !it->second->music_kind.empty() ? it->second->music_kind : "unknown";
      source_of[p.music] = !p.music_source.empty()                            ? p.music_source
                           : it != media.end() && !it->second->source.empty() ? it->second->source
                                                                              : "unknown";
      s.music_by_kind[kind_of[p.music]].pairs++, s.music_by_source[source_of[p.music]].pairs++;
    }
    for (const auto& [path, kind] : kind_of) s.music_by_kind[kind].clips++, s.music_by_source[source_of[path]].clips++;
  }
  std::vector<std::string> rater_list;
  for (const auto& r : d.ratings)
    if (raters.insert(r.rater).second) rater_list.push_back(r.rater);
  std::sort(rater_list.begin(), rater_list.end());
  s.raters = rater_list.size();
  if (rater_list.size() < 2) return s;
  std::map<std::string, size_t> ri;
  for (size_t i = 0; i < rater_list.size(); ++i) ri[rater_list[i]] = i;
  std::map<std::string, std::vector<double>> table;  // pair -> rating per rater (NaN = missing)
  for (const auto& r : d.ratings) {
    auto& row = table[r.pair_id];
    if (row.empty()) row.assign(rater_list.size(), NAN);
    row[ri[r.rater]] = r.rating;
  }
  std::vector<std::vector<double>> units;
  for (auto& [id, row] : table) units.push_back(row);
  s.alpha = krippendorff_alpha_interval(units);
  s.icc2k = icc_2k(units);
  s.icc21 = icc_21(units);
  for (const auto& u : units) s.icc_units += std::all_of(u.begin(), u.end(), [](double x) { return std::isfinite(x); });
  double sum = 0;
  int n = 0;
  for (size_t r = 0; r < rater_list.size(); ++r) {
    std::vector<double> mine, others;
    for (const auto& u : units) {
      if (!std::isfinite(u[r])) continue;
      double t = 0;
      int c = 0;
      for (size_t q = 0; q < u.size(); ++q)
        if (q != r && std::isfinite(u[q])) t += u[q], ++c;
      if (c) mine.push_back(u[r]), others.push_back(t / c);
    }
    double rho = spearman(mine, others);
    if (std::isfinite(rho)) s.rater_srcc[rater_list[r]] = rho, sum += rho, ++n;
  }
  if (n) s.ceiling = sum / n;
  emotion_only_fit(d, s);
  // The emotion-only share within each music kind (e.g. recorded vs rendered).
  if (s.music_by_kind.size() > 1)
    for (auto& [kind, count] : s.music_by_kind) {
      MpdDataset sub;
      sub.media = d.media;
      std::set<std::string> of_kind;
      for (const auto& m : d.media)
        if (m.kind == "music" && (m.music_kind.empty() ? "unknown" : m.music_kind) == kind) of_kind.insert(m.path);
      for (const auto& p : d.pairs)
        if (of_kind.count(p.music)) sub.pairs.push_back(p);
      MpdStats part;
      emotion_only_fit(sub, part);
      count.emotion_r2 = part.emotion_r2;
    }
  return s;
}

}  // namespace mpjudge
