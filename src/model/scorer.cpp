// The Scorer facade (mpjudge.h): loads any judge (judge.h), prepares its inputs (cached by content) and
// runs it. File access and caching live in the judge's preparer; the network sees only tensors.
#include <mpjudge/mpjudge.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/parallel.h"
#include "common/trace.h"
#include "model/checkpoint.h"
#include "model/judge.h"
#include "model/mpjudge_net.h"
#include "model/runtime.h"
#include "model/tensors.h"

namespace mpjudge {

namespace {
constexpr int kBatch = 16;
constexpr size_t kRankChunk = 256;  // paintings prepared at once by rank (about 20 MB of trunk maps)

std::vector<ModulationMap> maps_of(const MPJudgeOutput& o, const std::vector<std::string>& layers, int64_t i) {
  std::vector<ModulationMap> out;
  for (size_t k = 0; k < o.maps.size(); ++k) {
    torch::Tensor m = o.maps[k][i].contiguous();
    ModulationMap mm;
    mm.layer = layers.at(k);
    mm.height = int(m.size(0));
    mm.width = int(m.size(1));
    mm.values.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
    out.push_back(std::move(mm));
  }
  return out;
}

ModelInfo model_info(const std::string& path, const Checkpoint& ck, const std::string& arch) {
  ModelInfo m;
  m.path = path;
  m.arch = arch;
  {
    MappedFile f(path, 1ULL << 34);
    m.sha256 = sha256_hex(f.data(), f.size());
  }
  m.version = ck.meta.value("version", std::string("unversioned"));
  if (ck.meta.contains("reference")) {
    const auto& r = ck.meta["reference"];
    if (!r.is_object() || !r.contains("scores") || !r["scores"].is_array())
      throw Error(ErrorKind::Model,
                  path + ": expected meta.reference to hold a \"scores\" array, found " + r.dump().substr(0, 80));
    for (const auto& v : r["scores"]) {
      if (!v.is_number()) throw Error(ErrorKind::Model, path + ": expected numbers in meta.reference.scores");
      m.reference_scores.push_back(v.get<double>());
    }
    std::sort(m.reference_scores.begin(), m.reference_scores.end());
    m.reference = r.value("source", std::string());
  }
  return m;
}

}  // namespace

std::string default_model_path() {
  if (const char* env = getenv("MPJUDGE_MODEL")) return std::string(env);
  const std::string lib = library_dir();
  for (const std::string& c :
       {lib + "/../models/default.mpjc", lib + "/../../models/default.mpjc", lib + "/../share/mpjudge/default.mpjc"})
    if (access(c.c_str(), R_OK) == 0) return c;
  throw Error(ErrorKind::Model, "the shipped model models/default.mpjc was not found: expected a model path",
              "set MPJUDGE_MODEL, name a checkpoint (--model), or train one (docs/training.md)");
}

double score_percentile(const ModelInfo& model, double score) {
  const auto& v = model.reference_scores;
  if (v.empty() || !std::isfinite(score)) return NAN;
  // Equal within 1e-6: the reference scores are stored to 6 decimals.
  const auto lo = std::lower_bound(v.begin(), v.end(), score - 1e-6);
  const auto hi = std::upper_bound(lo, v.end(), score + 1e-6);
  return 100.0 * (double(lo - v.begin()) + 0.5 * double(hi - lo)) / double(v.size());
}

struct Scorer::Impl {
  ModelInfo info;
  std::unique_ptr<Judge> judge;
  // One preparer per worker: media are decoded and encoded on every core, then scored in order.
  std::vector<std::unique_ptr<InputPreparer>> preparers;
  Impl(const std::string& p, const FeatureOptions& o) {
    set_threads(o.threads);
    {
      trace::Scope t("load: checkpoint + judge");
      const Checkpoint ck = load_checkpoint(p);
      judge = load_judge(ck, p);
      info = model_info(p, ck, judge->arch());
    }
    const int workers = std::clamp(int(std::thread::hardware_concurrency()), 1, 4);
    for (int w = 0; w < workers; ++w) preparers.push_back(judge->preparer(o));
  }
  // Runs task(i, preparer) for i < n over the workers, torch's intra-op threads set to 1 meanwhile (the
  // parallelism is across media). The first error is rethrown once all have finished.
  template <class F>
  void prepare(size_t n, F&& task) {
    if (n <= 1 || preparers.size() == 1) {
      for (size_t i = 0; i < n; ++i) task(i, *preparers[0]);
      return;
    }
    const int saved = at::get_num_threads();
    at::set_num_threads(1);
    try {
      parallel_for(n, int(std::min(n, preparers.size())), [&](size_t i, int w) {
        torch::NoGradGuard no_grad;  // thread-local: each worker needs its own
        task(i, *preparers[size_t(w)]);
      });
    } catch (...) {
      at::set_num_threads(saved);
      throw;
    }
    at::set_num_threads(saved);
  }
  // Scores are reported in [0, 1] (the paper network's raw head output is clamped).
  MPJudgeOutput forward(const PaintingInput& p, const MusicInput& m) {
    trace::Scope t("judge: members + head");
    MPJudgeOutput o = judge->forward(p, m);
    o.score = o.score.clamp(0.0, 1.0);
    return o;
  }
  ScoreResult result(const MPJudgeOutput& o, int64_t i, bool with_maps) const {
    ScoreResult r;
    r.model = info.path;
    r.model_sha256 = info.sha256;
    r.model_version = info.version;
    r.arch = info.arch;
    r.score = o.score[i].item<double>();
    r.percentile = score_percentile(info, r.score);
    if (with_maps) r.maps = maps_of(o, judge->map_layers(), i);
    return r;
  }
};

namespace {

MediaFailure failure_of(size_t index, const std::string& name, const Error& e) {
  return MediaFailure{index, name, e.kind(), e.what()};
}

}  // namespace

Scorer::Scorer(const std::string& model_path, const FeatureOptions& opt)
    : impl_(std::make_unique<Impl>(model_path, opt)) {}
Scorer::~Scorer() = default;
const std::string& Scorer::model_path() const { return impl_->info.path; }
const ModelInfo& Scorer::model() const { return impl_->info; }

ScoreResult Scorer::score(const MusicSource& music, const PaintingSource& painting) {
  torch::NoGradGuard no_grad;
  bool music_cached = false, painting_cached = false;
  MusicInput mi;
  PaintingInput pi;
  impl_->prepare(2, [&](size_t i, InputPreparer& in) {
    if (i == 0)
      mi = in.music(music, &music_cached);
    else
      pi = in.painting(painting, &painting_cached);
  });
  MPJudgeOutput o = impl_->forward(pi, mi);
  ScoreResult r = impl_->result(o, 0, true);
  r.music_from_cache = music_cached;
  r.painting_from_cache = painting_cached;
  return r;
}

std::vector<RankEntry> Scorer::rank(const std::string& music, const std::vector<std::string>& paintings, int top_k) {
  RankOptions opt;
  opt.top_k = top_k;
  return rank(MusicSource(music), std::vector<PaintingSource>(paintings.begin(), paintings.end()), opt).ranking;
}

RankResult Scorer::rank(const MusicSource& music, const std::vector<PaintingSource>& paintings,
                        const RankOptions& opt) {
  torch::NoGradGuard no_grad;
  MusicInput mi = impl_->preparers[0]->music(music);
  RankResult out;
  // Paintings are prepared a chunk at a time over the workers (torch at one thread each), then scored in
  // batches at full intra-op threads: switching the thread count between every batch made oneDNN build
  // its convolutions again each time (rank 1 x 1000 cached: 3.3 -> 1.9-2.1 s of forward; docs/performance.md).
  for (size_t c0 = 0; c0 < paintings.size(); c0 += kRankChunk) {
    const size_t c1 = std::min(paintings.size(), c0 + kRankChunk);
    std::vector<PaintingInput> got(c1 - c0);
    std::vector<std::optional<MediaFailure>> failed(c1 - c0);
    impl_->prepare(c1 - c0, [&](size_t k, InputPreparer& in) {
      try {
        got[k] = in.painting(paintings[c0 + k]);
      } catch (const Error& e) {
        if (!opt.skip_unreadable || e.kind() != ErrorKind::Input) throw;
        failed[k] = failure_of(c0 + k, paintings[c0 + k].name, e);
      }
    });
    for (size_t b0 = c0; b0 < c1; b0 += kBatch) {
      const size_t b1 = std::min(c1, b0 + kBatch);
      std::vector<PaintingInput> items;
      std::vector<size_t> index;
      for (size_t k = b0; k < b1; ++k) {
        if (failed[k - c0]) {
          out.skipped.push_back(*failed[k - c0]);
        } else {
          items.push_back(std::move(got[k - c0]));
          index.push_back(k);
        }
      }
      if (!items.empty()) {
        torch::Tensor s = impl_->forward(stack_paintings(items), expand_music(mi, int64_t(items.size()))).score;
        for (size_t k = 0; k < items.size(); ++k)
          out.ranking.push_back({paintings[index[k]].name, s[int64_t(k)].item<double>(), index[k]});
      }
      if (opt.progress) opt.progress(b1, paintings.size());
    }
  }
  std::stable_sort(out.ranking.begin(), out.ranking.end(),
                   [](const RankEntry& a, const RankEntry& b) { return a.score > b.score; });
  if (opt.top_k > 0 && out.ranking.size() > size_t(opt.top_k)) out.ranking.resize(size_t(opt.top_k));
  return out;
}

void Scorer::score_pairs(const std::vector<ScorePair>& pairs, const std::function<void(const PairScore&)>& each,
                         bool with_maps) {
  torch::NoGradGuard no_grad;
  // Chunks of pairs: their media are prepared over the workers (a song shared by consecutive pairs, the
  // same path or the same PCM object, once), then the pairs are scored and reported in order.
  struct Prepared {
    MusicInput music;
    bool cached = false;
    std::optional<Error> error;
  };
  auto same_music = [](const MusicSource& a, const MusicSource& b) {
    return a.pcm ? a.pcm == b.pcm : (!b.pcm && a.path == b.path);
  };
  const size_t chunk = std::max<size_t>(8, 4 * impl_->preparers.size());
  for (size_t c0 = 0; c0 < pairs.size(); c0 += chunk) {
    const size_t c1 = std::min(pairs.size(), c0 + chunk);
    // music_of[i]: the index in `songs` of pair i's song.
    std::vector<size_t> music_of(c1 - c0);
    std::vector<const MusicSource*> songs;
    for (size_t i = c0; i < c1; ++i) {
      if (songs.empty() || !same_music(*songs.back(), pairs[i].music)) songs.push_back(&pairs[i].music);
      music_of[i - c0] = songs.size() - 1;
    }
    std::vector<Prepared> music(songs.size());
    std::vector<PaintingInput> paint(c1 - c0);
    std::vector<bool> paint_cached(c1 - c0, false);
    std::vector<std::optional<Error>> paint_error(c1 - c0);
    impl_->prepare(songs.size() + (c1 - c0), [&](size_t k, InputPreparer& in) {
      try {
        if (k < songs.size()) {
          music[k].music = in.music(*songs[k], &music[k].cached);
        } else {
          bool cached = false;
          paint[k - songs.size()] = in.painting(pairs[c0 + k - songs.size()].painting, &cached);
          paint_cached[k - songs.size()] = cached;
        }
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::Input) throw;
        (k < songs.size() ? music[k].error : paint_error[k - songs.size()]) = e;
      }
    });
    // The chunk's pairs whose media were read go through the judge in one batch (8 forwards of batch 1 took
    // 7.6 ms a pair; docs/performance.md), or one by one where their inputs' shapes differ.
    std::vector<size_t> ok;
    for (size_t i = c0; i < c1; ++i)
      if (!music[music_of[i - c0]].error && !paint_error[i - c0]) ok.push_back(i);
    std::vector<std::optional<MPJudgeOutput>> out(c1 - c0);
    std::vector<int64_t> row(c1 - c0, 0);
    {
      std::vector<PaintingInput> ps;
      std::vector<const MusicInput*> ms;
      for (size_t i : ok) ps.push_back(paint[i - c0]), ms.push_back(&music[music_of[i - c0]].music);
      MusicInput batch;
      if (ok.size() > 1 && stack_music(ms, batch)) {
        const MPJudgeOutput o = impl_->forward(stack_paintings(ps), batch);  // tensors shared, not copied
        for (size_t k = 0; k < ok.size(); ++k) out[ok[k] - c0] = o, row[ok[k] - c0] = int64_t(k);
      } else {
        for (size_t k = 0; k < ok.size(); ++k) out[ok[k] - c0] = impl_->forward(ps[k], *ms[k]);
      }
    }
    for (size_t i = c0; i < c1; ++i) {
      const ScorePair& p = pairs[i];
      const Prepared& m = music[music_of[i - c0]];
      PairScore ps;
      ps.index = i;
      ps.id = p.id;
      if (m.error) {
        ps.failure = failure_of(i, p.music.name, *m.error);
      } else if (paint_error[i - c0]) {
        ps.failure = failure_of(i, p.painting.name, *paint_error[i - c0]);
      } else {
        ps.result = impl_->result(*out[i - c0], row[i - c0], with_maps);
        ps.result.music_from_cache = m.cached;
        ps.result.painting_from_cache = paint_cached[i - c0];
        ps.ok = true;
      }
      each(ps);
    }
  }
}

std::string write_initial_model(const std::string& out, uint64_t seed, bool random_man) {
  torch::manual_seed(seed);
  MPJudgeNet net(MPJudgeConfig{}, shared_mobilenet());  // variant man
  if (random_man) {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters())
      if ((p.key().rfind("man.", 0) == 0 || p.key().rfind("global_man.", 0) == 0) &&
          (p.key().find(".gamma.") != std::string::npos || p.key().find(".beta.") != std::string::npos))
        p.value().normal_(0.0, 0.05);
  }
  Checkpoint ck = judge_net_checkpoint(*net);
  ck.meta["init"] = {{"seed", seed}, {"random_man", random_man}, {"trained", false}};
  save_checkpoint(out, ck);
  return nlohmann::json{
      {"out", out}, {"arch", ck.arch}, {"config", ck.config}, {"tensors", ck.tensors.size()}, {"trained", false}}
      .dump();
}

std::string write_ensemble_model(const std::string& out, const std::vector<std::string>& members) {
  std::vector<Checkpoint> cks;
  for (const auto& m : members) cks.push_back(load_checkpoint(m));
  Checkpoint ck = mpjudge_ensemble_checkpoint(cks, members);
  mpjudge_ensemble_from_checkpoint(ck, out, shared_mobilenet());  // it must load before it is written
  save_checkpoint(out, ck);
  return nlohmann::json{{"out", out}, {"arch", ck.arch}, {"members", members}, {"tensors", ck.tensors.size()}}.dump();
}

}  // namespace mpjudge
