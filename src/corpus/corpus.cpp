// MPD-Open labelling (see corpus.h).
#include "corpus/corpus.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "common/error.h"

namespace mpjudge {

MpdDataset rate_corpus(const std::vector<CorpusMusic>& music, const std::vector<CorpusPainting>& paintings,
                       const CorpusOptions& opt, PreferenceCheck* check) {
  const size_t possible = music.size() * paintings.size();
  if (opt.pairs == 0 || opt.pairs > possible / 2)
    fail_usage("corpus: " + std::to_string(opt.pairs) + " pairs requested from " + std::to_string(music.size()) +
               " music clips x " + std::to_string(paintings.size()) + " paintings; expected at most half of the " +
               std::to_string(possible) + " combinations");
  ReferencePanel panel(opt.panel);
  std::mt19937_64 rng(opt.seed);
  MpdDataset d;
  d.name = "MPD-Open";
  d.version = kMpdVersion;
  d.scale_min = 1, d.scale_max = 5;
  const bool stratified = !opt.music_split.empty();
  if (stratified && (opt.music_split.size() != music.size() || opt.painting_split.size() != paintings.size()))
    fail_internal("rate_corpus: split lists do not match the media");
  // Which (music, painting) combinations to rate, per split.
  std::map<std::string, std::vector<size_t>> ms, ps;
  for (size_t i = 0; i < music.size(); ++i) ms[stratified ? opt.music_split[i] : ""].push_back(i);
  for (size_t j = 0; j < paintings.size(); ++j) ps[stratified ? opt.painting_split[j] : ""].push_back(j);
  std::map<std::string, size_t> quota;
  if (stratified) {
    double total_share = 0;
    for (const auto& [s, share] : opt.split_share)
      if (ms.count(s) && ps.count(s)) total_share += share;
    size_t assigned = 0;
    for (const auto& [s, share] : opt.split_share) {
      if (!ms.count(s) || !ps.count(s) || s == "train") continue;
      const size_t cap = ms[s].size() * ps[s].size() / 2;
      quota[s] = std::min(cap, size_t(std::lround(double(opt.pairs) * share / total_share)));
      assigned += quota[s];
    }
    quota["train"] = opt.pairs - assigned;
    if (!ms.count("train") || !ps.count("train") || quota["train"] > ms["train"].size() * ps["train"].size() / 2)
      fail_usage("corpus: " + std::to_string(opt.pairs) + " pairs do not fit the train split's media");
  } else {
    quota[""] = opt.pairs;
  }
  std::vector<std::tuple<size_t, size_t, std::string>> chosen;
  std::set<std::pair<size_t, size_t>> used;
  for (const auto& [s, n] : quota) {
    const auto& mi = ms[s];
    const auto& pj = ps[s];
    // balance_music_kind: half of the draws from each kind's clips while that kind has combinations
    // left (at most 3/4 of them used), so recorded clips weigh as much as renders wherever both exist.
    std::vector<size_t> kinds[2];
    for (size_t i : mi) kinds[music[i].recorded ? 1 : 0].push_back(i);
    const bool balance = opt.balance_music_kind && !kinds[0].empty() && !kinds[1].empty();
    size_t used_of[2] = {0, 0};
    for (size_t k = 0; k < n;) {
      size_t i = 0;
      if (balance) {
        int kind = int(rng() % 2);
        if (4 * used_of[kind] >= 3 * kinds[kind].size() * pj.size()) kind = 1 - kind;
        i = kinds[kind][rng() % kinds[kind].size()];
      } else {
        i = mi[rng() % mi.size()];
      }
      const size_t j = pj[rng() % pj.size()];
      if (!used.insert({i, j}).second) continue;
      if (balance) used_of[music[i].recorded ? 1 : 0]++;
      chosen.emplace_back(i, j, s);
      ++k;
    }
  }
  std::shuffle(chosen.begin(), chosen.end(), rng);
  std::map<size_t, std::vector<std::pair<size_t, double>>> by_music;  // music -> (painting, score)
  std::map<std::pair<size_t, size_t>, double> score_of;
  std::map<std::pair<size_t, size_t>, PanelTerms> terms;
  for (const auto& [i, j, s] : chosen) {
    PanelTerms t = panel_terms(music[i].m, paintings[j].p);
    terms[{i, j}] = t;
    MpdPair p;
    p.id = "p" + std::to_string(d.pairs.size() + 1);
    p.music = music[i].path, p.painting = paintings[j].path;
    p.music_source = music[i].source, p.painting_source = paintings[j].source;
    std::vector<int> r = panel.rate(t, p.music + "\x1f" + p.painting);
    double mean = 0;
    for (size_t k = 0; k < r.size(); ++k) {
      d.ratings.push_back({p.id, panel.raters()[k].id, double(r[k]), 0});
      mean += r[k];
    }
    mean /= double(r.size());
    p.score = (mean - 1.0) / 4.0;
    by_music[i].push_back({j, p.score});
    score_of[{i, j}] = p.score;
    if (stratified) d.split[p.id] = s;
    d.pairs.push_back(p);
  }
  // Preferences: for one music piece, two paintings whose panel scores are close (ambiguous). Each
  // rater compares them directly (a fresh noisy judgment of each); the majority's choice is kept.
  std::vector<std::tuple<size_t, size_t, size_t>> candidates;
  for (auto& [i, list] : by_music)
    for (size_t a = 0; a < list.size(); ++a)
      for (size_t b = a + 1; b < list.size(); ++b)
        if (std::fabs(list[a].second - list[b].second) <= opt.ambiguous_gap)
          candidates.emplace_back(i, list[a].first, list[b].first);
  std::shuffle(candidates.begin(), candidates.end(), rng);
  // Per-split preference quotas in proportion to the pairs (stratified builds).
  std::map<std::string, size_t> pref_quota, pref_count;
  for (const auto& [s, n] : quota)
    pref_quota[s] = size_t(std::lround(double(opt.preferences) * double(n) / double(opt.pairs)));
  size_t spare = opt.preferences;
  for (const auto& [s, n] : pref_quota) spare -= std::min(spare, n);
  pref_quota[stratified ? "train" : ""] += spare;
  // Two passes: within the per-split quotas, then any remaining candidates when a small split runs dry.
  std::vector<bool> taken(candidates.size(), false);
  for (int pass = 0; pass < 2; ++pass)
    for (size_t c = 0; c < candidates.size(); ++c) {
      if (d.preferences.size() >= opt.preferences) break;
      if (taken[c]) continue;
      const auto& [i, a, b] = candidates[c];
      const std::string s = stratified ? opt.music_split[i] : "";
      if (pass == 0 && pref_count[s] >= pref_quota[s]) continue;
      taken[c] = true;
      int votes_a = 0, votes_b = 0;
      if (opt.comparisons) {
        for (double x : panel.compare(terms.at({i, a}), terms.at({i, b}),
                                      music[i].path + "\x1f" + paintings[a].path + "\x1f" + paintings[b].path))
          (x > 0 ? votes_a : votes_b) += x != 0;
      } else {
        std::vector<int> ra = panel.rate(terms.at({i, a}), music[i].path + "\x1f" + paintings[a].path + "\x1fpref"),
                         rb = panel.rate(terms.at({i, b}), music[i].path + "\x1f" + paintings[b].path + "\x1fpref");
        for (size_t k = 0; k < ra.size(); ++k) {
          if (ra[k] > rb[k])
            ++votes_a;
          else if (rb[k] > ra[k])
            ++votes_b;
        }
      }
      if (votes_a == votes_b) continue;  // no majority: not a usable preference
      if (check) {
        const size_t w = votes_a > votes_b ? a : b, l = votes_a > votes_b ? b : a;
        const double lw = panel.latent(terms.at({i, w})), ll = panel.latent(terms.at({i, l}));
        const double sw = score_of.at({i, w}), sl = score_of.at({i, l});
        const bool a_first = lw > ll;  // the panel's latent order
        check->pairs++;
        check->preference_agrees += a_first;
        check->mean_score_agrees += sw == sl ? 0.5 : double((sw > sl) == a_first);
      }
      MpdPreference p;
      p.id = "q" + std::to_string(d.preferences.size() + 1);
      p.music = music[i].path;
      p.chosen = paintings[votes_a > votes_b ? a : b].path;
      p.rejected = paintings[votes_a > votes_b ? b : a].path;
      p.n_raters = votes_a + votes_b;
      p.agreement = double(std::max(votes_a, votes_b)) / double(p.n_raters);
      d.preferences.push_back(p);
      pref_count[s]++;
    }
  if (check && check->pairs)
    check->preference_agrees /= double(check->pairs), check->mean_score_agrees /= double(check->pairs);
  return d;
}

}  // namespace mpjudge
