// The Scorer facade (mpjudge.h): loads any judge (judge.h), prepares its inputs (cached by content) and
// runs it. File access and caching live in the judge's preparer; the network sees only tensors.
#include <mpjudge/mpjudge.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/files.h"
#include "model/checkpoint.h"
#include "model/judge.h"
#include "model/mpjudge_net.h"
#include "model/runtime.h"
#include "model/tensors.h"

namespace mpjudge {

namespace {
constexpr int kBatch = 16;

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
  std::unique_ptr<InputPreparer> inputs;
  Impl(const std::string& p, const FeatureOptions& o) {
    set_threads(o.threads);
    {
      const Checkpoint ck = load_checkpoint(p);
      judge = load_judge(ck, p);
      info = model_info(p, ck, judge->arch());
    }
    inputs = judge->preparer(o);
  }
  // Scores are reported in [0, 1] (the paper network's raw head output is clamped).
  MPJudgeOutput forward(const PaintingInput& p, const MusicInput& m) {
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

Scorer::Scorer(const std::string& model_path, const FeatureOptions& opt)
    : impl_(std::make_unique<Impl>(model_path, opt)) {}
Scorer::~Scorer() = default;
const std::string& Scorer::model_path() const { return impl_->info.path; }
const ModelInfo& Scorer::model() const { return impl_->info; }

ScoreResult Scorer::score(const MusicSource& music, const PaintingSource& painting) {
  torch::NoGradGuard no_grad;
  bool music_cached = false, painting_cached = false;
  MusicInput mi = impl_->inputs->music(music, &music_cached);
  MPJudgeOutput o = impl_->forward(impl_->inputs->painting(painting, &painting_cached), mi);
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
  MusicInput mi = impl_->inputs->music(music);
  RankResult out;
  for (size_t b0 = 0; b0 < paintings.size(); b0 += kBatch) {
    const size_t b1 = std::min(paintings.size(), b0 + kBatch);
    std::vector<PaintingInput> items;
    std::vector<size_t> index;
    for (size_t i = b0; i < b1; ++i) {
      try {
        items.push_back(impl_->inputs->painting(paintings[i]));
        index.push_back(i);
      } catch (const Error& e) {
        if (!opt.skip_unreadable || e.kind() != ErrorKind::Input) throw;
        out.skipped.push_back({i, paintings[i].name, e.kind(), e.what()});
      }
    }
    if (!items.empty()) {
      torch::Tensor s = impl_->forward(stack_paintings(items), expand_music(mi, int64_t(items.size()))).score;
      for (size_t k = 0; k < items.size(); ++k)
        out.ranking.push_back({paintings[index[k]].name, s[int64_t(k)].item<double>(), index[k]});
    }
    if (opt.progress) opt.progress(b1, paintings.size());
  }
  std::stable_sort(out.ranking.begin(), out.ranking.end(),
                   [](const RankEntry& a, const RankEntry& b) { return a.score > b.score; });
  if (opt.top_k > 0 && out.ranking.size() > size_t(opt.top_k)) out.ranking.resize(size_t(opt.top_k));
  return out;
}

void Scorer::score_pairs(const std::vector<ScorePair>& pairs, const std::function<void(const PairScore&)>& each,
                         bool with_maps) {
  torch::NoGradGuard no_grad;
  // A song scored against many paintings is prepared once (its path, or the same PCM object).
  std::string last_music;
  const Pcm* last_pcm = nullptr;
  MusicInput mi;
  bool mi_cached = false;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const ScorePair& p = pairs[i];
    PairScore ps;
    ps.index = i;
    ps.id = p.id;
    const std::string* failing = &p.music.name;
    try {
      const bool same = p.music.pcm ? p.music.pcm.get() == last_pcm
                                    : (!last_pcm && p.music.path == last_music && !last_music.empty());
      if (!same) {
        last_music.clear(), last_pcm = nullptr;
        mi = impl_->inputs->music(p.music, &mi_cached);
        last_music = p.music.path, last_pcm = p.music.pcm.get();
      }
      failing = &p.painting.name;
      bool painting_cached = false;
      MPJudgeOutput o = impl_->forward(impl_->inputs->painting(p.painting, &painting_cached), mi);
      ps.result = impl_->result(o, 0, with_maps);
      ps.result.music_from_cache = mi_cached;
      ps.result.painting_from_cache = painting_cached;
      ps.ok = true;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Input) throw;
      ps.failure = {i, *failing, e.kind(), e.what()};
    }
    each(ps);
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
