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
                       const CorpusOptions& opt) {
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
  std::set<std::pair<size_t, size_t>> used;
  std::map<size_t, std::vector<std::pair<size_t, double>>> by_music;  // music -> (painting, score)
  std::map<std::pair<size_t, size_t>, PanelTerms> terms;
  while (d.pairs.size() < opt.pairs) {
    size_t i = rng() % music.size(), j = rng() % paintings.size();
    if (!used.insert({i, j}).second) continue;
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
  for (const auto& [i, a, b] : candidates) {
    if (d.preferences.size() >= opt.preferences) break;
    std::vector<int> ra = panel.rate(terms.at({i, a}), music[i].path + "\x1f" + paintings[a].path + "\x1fpref"),
                     rb = panel.rate(terms.at({i, b}), music[i].path + "\x1f" + paintings[b].path + "\x1fpref");
    int votes_a = 0, votes_b = 0;
    for (size_t k = 0; k < ra.size(); ++k) {
      if (ra[k] > rb[k])
        ++votes_a;
      else if (rb[k] > ra[k])
        ++votes_b;
    }
    if (votes_a == votes_b) continue;  // no majority: not a usable preference
    MpdPreference p;
    p.id = "q" + std::to_string(d.preferences.size() + 1);
    p.music = music[i].path;
    p.chosen = paintings[votes_a > votes_b ? a : b].path;
    p.rejected = paintings[votes_a > votes_b ? b : a].path;
    p.n_raters = votes_a + votes_b;
    p.agreement = double(std::max(votes_a, votes_b)) / double(p.n_raters);
    d.preferences.push_back(p);
  }
  return d;
}

}  // namespace mpjudge
