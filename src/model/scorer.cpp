// The Scorer facade (mpjudge.h): loads any judge (judge.h), prepares its inputs (cached by content) and
// runs it. File access and caching live in the judge's preparer; the network sees only tensors.
#include <mpjudge/mpjudge.h>

#include <algorithm>

#include "common/error.h"
#include "common/files.h"
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

}  // namespace

struct Scorer::Impl {
  std::string path;
  std::unique_ptr<Judge> judge;
  std::unique_ptr<InputPreparer> inputs;
  Impl(const std::string& p, const FeatureOptions& o) : path(p) {
    set_threads(o.threads);
    judge = load_judge(p);
    inputs = judge->preparer(o);
  }
  // Scores are reported in [0, 1] (the paper network's raw head output is clamped).
  MPJudgeOutput forward(const PaintingInput& p, const MusicInput& m) {
    MPJudgeOutput o = judge->forward(p, m);
    o.score = o.score.clamp(0.0, 1.0);
    return o;
  }
};

Scorer::Scorer(const std::string& model_path, const FeatureOptions& opt)
    : impl_(std::make_unique<Impl>(model_path, opt)) {}
Scorer::~Scorer() = default;
const std::string& Scorer::model_path() const { return impl_->path; }

ScoreResult Scorer::score(const std::string& music, const std::string& painting) {
  torch::NoGradGuard no_grad;
  ScoreResult r;
  MusicInput mi = impl_->inputs->music(music, &r.music_from_cache);
  MPJudgeOutput o = impl_->forward(impl_->inputs->painting(painting, &r.painting_from_cache), mi);
  r.model = impl_->path;
  r.arch = impl_->judge->arch();
  r.score = o.score[0].item<double>();
  r.maps = maps_of(o, impl_->judge->map_layers(), 0);
  return r;
}

std::vector<RankEntry> Scorer::rank(const std::string& music, const std::vector<std::string>& paintings, int top_k) {
  torch::NoGradGuard no_grad;
  MusicInput mi = impl_->inputs->music(music);
  std::vector<RankEntry> out;
  for (size_t b0 = 0; b0 < paintings.size(); b0 += kBatch) {
    size_t b1 = std::min(paintings.size(), b0 + kBatch);
    std::vector<PaintingInput> items;
    for (size_t i = b0; i < b1; ++i) items.push_back(impl_->inputs->painting(paintings[i]));
    torch::Tensor s = impl_->forward(stack_paintings(items), expand_music(mi, int64_t(b1 - b0))).score;
    for (size_t i = b0; i < b1; ++i) out.push_back({paintings[i], s[int64_t(i - b0)].item<double>()});
  }
  std::stable_sort(out.begin(), out.end(), [](const RankEntry& a, const RankEntry& b) { return a.score > b.score; });
  if (top_k > 0 && out.size() > size_t(top_k)) out.resize(size_t(top_k));
  return out;
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
