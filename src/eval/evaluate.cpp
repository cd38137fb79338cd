// Model evaluation on an MPD split (see evaluate.h).
#include "eval/evaluate.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/progress.h"
#include "data/mpd.h"
#include "model/judge.h"

namespace mpjudge {

EvalOutput evaluate_model(const EvalOptions& opt) {
  MpdDataset d = read_mpd_checked(opt.data);
  const std::string split = !opt.split.empty() ? opt.split : d.split.empty() ? "all" : "test";
  const bool all = split == "all";
  if (d.split.empty() && !all)
    fail_usage("eval: " + opt.data + " has no split.json, so there is no split '" + split + "'",
               "run `mpjudge data split` first, or evaluate every pair with --split all");
  std::unique_ptr<Judge> judge = load_judge(opt.model);
  MpdDataset sub;  // the split's pairs and ratings, for the ceiling
  std::set<std::string> ids;
  for (const auto& p : d.pairs) {
    auto it = d.split.find(p.id);
    if (all || (it != d.split.end() && it->second == split && it->second != "excluded" && !it->second.empty()))
      sub.pairs.push_back(p), ids.insert(p.id);
  }
  if (sub.pairs.empty()) fail_usage("eval: no pairs in split '" + split + "' of " + opt.data);
  for (const auto& r : d.ratings)
    if (ids.count(r.pair_id)) sub.ratings.push_back(r);
  const MediaSplitIndex media = split_of_media(d);
  std::vector<MpdPreference> prefs;
  for (const auto& q : d.preferences)
    if (all || preference_split(q, media) == split) prefs.push_back(q);
  // Features of every medium involved, in parallel (cached on disk by content).
  std::set<std::string> mset, pset;
  for (const auto& p : sub.pairs) mset.insert(p.music), pset.insert(p.painting);
  for (const auto& q : prefs) mset.insert(q.music), pset.insert(q.chosen), pset.insert(q.rejected);
  std::vector<std::string> ml(mset.begin(), mset.end()), pl(pset.begin(), pset.end());
  std::vector<std::string> pp, mp;
  for (const auto& p : pl) pp.push_back(d.root + "/" + p);
  for (const auto& m : ml) mp.push_back(d.root + "/" + m);
  Progress bar("eval: features", ml.size() + pl.size());
  const int workers = opt.feature_threads > 0 ? opt.feature_threads : int(std::thread::hardware_concurrency());
  std::map<std::string, MusicInput> music;
  std::map<std::string, PaintingInput> paintings;
  {
    InputSet in = prepare_inputs(*judge, pp, mp, opt.features, workers, &bar);
    for (size_t i = 0; i < pl.size(); ++i) paintings[pl[i]] = in.paintings[i];
    for (size_t i = 0; i < ml.size(); ++i) music[ml[i]] = in.music[i];
  }
  bar.finish();

  // Scores grouped by music piece: its whole clip once, all its paintings as one batch.
  torch::NoGradGuard ng;
  std::map<std::pair<std::string, std::string>, double> score;
  std::map<std::string, std::set<std::string>> wanted;
  for (const auto& p : sub.pairs) wanted[p.music].insert(p.painting);
  for (const auto& q : prefs) wanted[q.music].insert(q.chosen), wanted[q.music].insert(q.rejected);
  for (const auto& [m, ps] : wanted) {
    std::vector<std::string> list(ps.begin(), ps.end());
    for (size_t b = 0; b < list.size(); b += 64) {
      const size_t e = std::min(list.size(), b + 64);
      std::vector<PaintingInput> batch;
      for (size_t i = b; i < e; ++i) batch.push_back(paintings.at(list[i]));
      torch::Tensor s =
          judge->forward(stack_paintings(batch), expand_music(music.at(m), int64_t(e - b))).score.contiguous();
      for (size_t i = b; i < e; ++i) score[{m, list[i]}] = s[int64_t(i - b)].item<double>();
    }
  }
  EvalOutput out;
  for (const auto& p : sub.pairs)
    out.pairs.push_back(
        {p.music, p.painting, p.music_source, p.painting_source, score.at({p.music, p.painting}), p.score});
  std::vector<ScoredPreference> sp;
  for (const auto& q : prefs) sp.push_back({q.music, score.at({q.music, q.chosen}), score.at({q.music, q.rejected})});
  out.report = evaluate_scores(out.pairs, sp, opt.bootstrap, opt.seed);
  out.prefs = std::move(sp);
  out.ceiling = mpd_stats(sub).ceiling;
  out.split = split;
  return out;
}

}  // namespace mpjudge

namespace mpjudge {

std::string write_model_reference(const std::string& model, const std::string& out, const std::string& data,
                                  const std::string& split, const std::string& version,
                                  const FeatureOptions& features) {
  if (data.empty() && version.empty())
    fail_usage("model reference: expected a dataset (--data) or a version (--version), found neither");
  Checkpoint ck = load_checkpoint(model);
  nlohmann::json summary{{"model", model}, {"out", out}};
  if (!version.empty()) {
    ck.meta["version"] = version;
    summary["version"] = version;
  }
  if (!data.empty()) {
    EvalOptions eo;
    eo.model = model;
    eo.data = data;
    eo.split = split;
    eo.bootstrap = 0;
    eo.features = features;
    const EvalOutput ev = evaluate_model(eo);
    std::vector<double> scores;
    for (const auto& p : ev.pairs) scores.push_back(std::round(std::clamp(p.pred, 0.0, 1.0) * 1e6) / 1e6);
    std::sort(scores.begin(), scores.end());
    const MpdDataset d = read_mpd_checked(data);
    std::string name = d.name.empty() ? data : d.name;
    // A corpus built by `mpjudge corpus build` names its release and seed in corpus.json.
    if (access((data + "/corpus.json").c_str(), R_OK) == 0) {
      const std::vector<uint8_t> raw = read_file(data + "/corpus.json", 1ULL << 26);
      const nlohmann::json c = nlohmann::json::parse(raw.begin(), raw.end(), nullptr, false);
      if (c.is_object() && c.contains("corpus") && c["corpus"].is_string())
        name += " (" + c["corpus"].get<std::string>() +
                (c.contains("seed") && c["seed"].is_number() ? ", seed " + c["seed"].dump() : "") + ")";
    }
    const std::string source = name + ", split " + ev.split + ", " + std::to_string(scores.size()) + " pairs";
    ck.meta["reference"] = {{"source", source}, {"split", ev.split}, {"pairs", scores.size()}, {"scores", scores}};
    summary["reference"] = source;
    const ScoreSummary s = summarise_scores(scores, 0);
    summary["reference_median"] = std::round(s.median * 1e4) / 1e4;
  }
  save_checkpoint(out, ck);
  return summary.dump();
}

}  // namespace mpjudge
