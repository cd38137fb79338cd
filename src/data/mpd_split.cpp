// Leakage-free splits of an MPD dataset (see mpd.h) and split.json.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "common/files.h"
#include "data/mpd.h"

namespace mpjudge {

using Json = nlohmann::ordered_json;

void write_split(const std::string& root, const std::map<std::string, std::string>& split, const SplitOptions& opt,
                 const std::string& method) {
  std::map<std::string, int> counts;
  Json pairs = Json::object();
  for (const auto& [id, s] : split) pairs[id] = s, counts[s]++;
  Json out{{"version", kMpdVersion},
           {"seed", opt.seed},
           {"method", method.empty() ? "music and painting (grouped by media.csv origin) drawn independently; "
                                       "disagreeing pairs excluded"
                                     : method},
           {"val", opt.val},
           {"test", opt.test},
           {"style_key", opt.style_key},
           {"style_share", opt.style_share},
           {"counts", counts},
           {"pairs", pairs}};
  if (!opt.test_music_sources.empty()) {
    out["test_music_sources"] = opt.test_music_sources;
    out["test_music_share"] = opt.test_music_share;
  }
  if (opt.stratify_music_by_source) out["stratify_music_by_source"] = true;
  if (!opt.music_strata.empty()) out["music_strata"] = opt.music_strata;
  write_file_atomic(root + "/split.json", out.dump(1) + "\n");
}

MediaSplits media_splits(const MpdDataset& d, const SplitOptions& opt) {
  // Music pieces and paintings are each assigned a split (exact shares, seeded order). A pair keeps its
  // split only when both of its sides got the same one; otherwise it is "excluded". So no music piece
  // or painting is ever in two splits.
  //
  // Held-out style: some groups of style_key (e.g. painters) are held out; their items are test_style.
  // Items on the other side draw test_style with probability style_share, so test_style pairs combine
  // unseen styles with music that appears nowhere else.
  const bool by_music = opt.style_key == "music_source";
  std::set<std::string> held;
  if (!opt.style_key.empty()) {
    std::set<std::string> groups;
    for (const auto& p : d.pairs) groups.insert(by_music ? p.music_source : p.painting_source);
    groups.erase("");
    if (groups.size() >= 2) {
      std::vector<std::string> g(groups.begin(), groups.end());
      std::mt19937_64 rng(opt.seed ^ 0x5eedULL);
      std::shuffle(g.begin(), g.end(), rng);
      size_t k = std::max<size_t>(1, size_t(std::lround(opt.style_share * double(g.size()))));
      held.insert(g.begin(), g.begin() + long(std::min(k, g.size() - 1)));
    }
  }
  const double style = held.empty() ? 0.0 : opt.style_share;
  const std::set<std::string> held_music(opt.test_music_sources.begin(), opt.test_music_sources.end());
  const double music_share = held_music.empty() ? 0.0 : opt.test_music_share;
  // Exact quotas: items are ordered by a seeded hash of their name and cut at the requested shares,
  // so even a small dataset gets non-empty val/test splits.
  // With strata (stratify_music_by_source), the quotas are cut within each stratum.
  auto assign = [&](const std::string& what, const std::set<std::string>& names, bool may_be_style, bool may_be_music,
                    const std::map<std::string, std::string>& stratum) {
    std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> orders;
    for (const auto& n : names) {
      std::seed_seq seq{uint32_t(opt.seed), uint32_t(opt.seed >> 32),
                        uint32_t(std::hash<std::string>{}(what + "\x1f" + n))};
      std::mt19937_64 rng(seq);
      auto it = stratum.find(n);
      orders[it == stratum.end() ? "" : it->second].emplace_back(rng(), n);
    }
    std::map<std::string, std::string> out;
    for (auto& [st, order] : orders) {
      std::sort(order.begin(), order.end());
      const double total = double(order.size());
      const size_t n_style = may_be_style ? size_t(std::lround(style * total)) : 0;
      const size_t n_music = may_be_music ? size_t(std::lround(music_share * total)) : 0;
      size_t n_test = size_t(std::lround(opt.test * total)), n_val = size_t(std::lround(opt.val * total));
      if (!stratum.empty() && order.size() >= 3 && opt.test > 0 && opt.val > 0)  // every stratum in val and test
        n_test = std::max<size_t>(n_test, 1), n_val = std::max<size_t>(n_val, 1);
      // test_music's share comes after val, so adding it leaves the test and val cuts where they were.
      const size_t to_val = n_style + n_test + n_val;
      for (size_t i = 0; i < order.size(); ++i)
        out[order[i].second] = i < n_style            ? "test_style"
                               : i < n_style + n_test ? "test"
                               : i < to_val           ? "val"
                               : i < to_val + n_music ? "test_music"
                                                      : "train";
    }
    return out;
  };
  std::map<std::string, std::string> group;  // media path -> its origin group
  if (opt.group_by_origin)
    for (const auto& m : d.media)
      if (!m.origin.empty()) group[m.path] = m.kind + ":" + m.origin;
  auto key = [&](const std::string& path) {
    auto it = group.find(path);
    return it == group.end() ? path : it->second;
  };
  std::set<std::string> musics, paintings;
  std::map<std::string, std::string> music_stratum;
  for (const auto& p : d.pairs) {
    const bool held_pair = held.count(by_music ? p.music_source : p.painting_source) > 0;
    const bool held_m = held_music.count(p.music_source) > 0;
    if (!(by_music && held_pair) && !held_m) musics.insert(key(p.music));
    if (!(!by_music && held_pair)) paintings.insert(key(p.painting));
    if (opt.stratify_music_by_source || opt.music_strata.count(p.music_source))
      music_stratum[key(p.music)] = p.music_source;
  }
  std::map<std::string, std::string> music_split = assign("music", musics, !by_music, false, music_stratum);
  std::map<std::string, std::string> painting_split = assign("painting", paintings, by_music, !held_music.empty(), {});
  MediaSplits out;
  for (const auto& p : d.pairs) {
    const bool held_pair = held.count(by_music ? p.music_source : p.painting_source) > 0;
    out.music[p.music] = held_music.count(p.music_source) ? "test_music"
                         : by_music && held_pair          ? "test_style"
                                                          : music_split.at(key(p.music));
    out.painting[p.painting] = !by_music && held_pair ? "test_style" : painting_split.at(key(p.painting));
  }
  return out;
}

std::map<std::string, std::string> make_split(const MpdDataset& d, const SplitOptions& opt) {
  const MediaSplits m = media_splits(d, opt);
  std::map<std::string, std::string> out;
  for (const auto& p : d.pairs) {
    const std::string& sm = m.music.at(p.music);
    const std::string& sp = m.painting.at(p.painting);
    out[p.id] = sm == sp ? sm : "excluded";
  }
  return out;
}

MediaSplitIndex split_of_media(const MpdDataset& d) {
  MediaSplitIndex out;
  for (const auto& p : d.pairs) {
    auto it = d.split.find(p.id);
    if (it == d.split.end() || it->second.empty() || it->second == "excluded") continue;
    out.music[p.music] = it->second, out.painting[p.painting] = it->second;
  }
  return out;
}

std::string preference_split(const MpdPreference& q, const MediaSplitIndex& index) {
  auto a = index.music.find(q.music), b = index.painting.find(q.chosen), c = index.painting.find(q.rejected);
  if (a == index.music.end() || b == index.painting.end() || c == index.painting.end() || a->second != b->second ||
      b->second != c->second)
    return "";
  return a->second;
}

}  // namespace mpjudge
