// The Scorer facade (mpjudge.h): loads a checkpoint, prepares cached painting trunk maps and music
// inputs, and runs the network. File access and caching live here; the network sees only tensors.
#include <mpjudge/mpjudge.h>

#include <algorithm>

#include "audio/audio_internal.h"
#include "common/error.h"
#include "common/files.h"
#include "image/image_internal.h"
#include "model/inputs.h"
#include "model/mpjudge_net.h"
#include "model/runtime.h"
#include "model/tensors.h"

namespace mpjudge {

namespace {
constexpr int kBatch = 16;
}  // namespace

struct Scorer::Impl {
  std::string path;
  FeatureOptions opt;
  MPJudgeNet net{nullptr};

  Impl(const std::string& p, const FeatureOptions& o) : path(p), opt(o), net(load(p, o)), inputs(o, net->config) {
    net->eval();
  }
  static MPJudgeNet load(const std::string& path, const FeatureOptions& o) {
    set_threads(o.threads);
    return mpjudge_from_checkpoint(load_checkpoint(path), path, shared_mobilenet());
  }

  ModelInputs inputs;
  PaintingInput painting(const std::string& file, bool* from_cache) { return inputs.painting(file, from_cache); }
  MusicInput music(const std::string& file, bool* from_cache) { return inputs.music(file, from_cache); }
};

Scorer::Scorer(const std::string& model_path, const FeatureOptions& opt)
    : impl_(std::make_unique<Impl>(model_path, opt)) {}
Scorer::~Scorer() = default;
const std::string& Scorer::model_path() const { return impl_->path; }

ScoreResult Scorer::score(const std::string& music, const std::string& painting) {
  torch::NoGradGuard no_grad;
  ScoreResult r;
  MusicInput mi = impl_->music(music, &r.music_from_cache);
  MPJudgeOutput o = impl_->net->forward(impl_->painting(painting, &r.painting_from_cache), mi);
  r.score = o.score[0].item<double>();
  r.model = impl_->path;
  r.arch = impl_->net->config.variant == "man" ? "mpjudge" : "mpjudge-" + impl_->net->config.variant;
  for (size_t k = 0; k < o.maps.size(); ++k) {
    torch::Tensor m = o.maps[k][0].contiguous();
    ModulationMap mm;
    mm.layer = impl_->net->config.man_layers[k];
    mm.height = int(m.size(0));
    mm.width = int(m.size(1));
    mm.values.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
    r.maps.push_back(std::move(mm));
  }
  return r;
}

std::vector<RankEntry> Scorer::rank(const std::string& music, const std::vector<std::string>& paintings, int top_k) {
  torch::NoGradGuard no_grad;
  bool cached = false;
  MusicInput mi = impl_->music(music, &cached);
  std::vector<RankEntry> out;
  for (size_t b0 = 0; b0 < paintings.size(); b0 += kBatch) {
    size_t b1 = std::min(paintings.size(), b0 + kBatch);
    std::vector<PaintingInput> items;
    for (size_t i = b0; i < b1; ++i) items.push_back(impl_->painting(paintings[i], &cached));
    torch::Tensor s = impl_->net->forward(stack_paintings(items), expand_music(mi, int64_t(b1 - b0))).score;
    for (size_t i = b0; i < b1; ++i) out.push_back({paintings[i], s[int64_t(i - b0)].item<double>()});
  }
  std::stable_sort(out.begin(), out.end(), [](const RankEntry& a, const RankEntry& b) { return a.score > b.score; });
  if (top_k > 0 && out.size() > size_t(top_k)) out.resize(size_t(top_k));
  return out;
}

std::string write_initial_model(const std::string& out, uint64_t seed, bool random_man) {
  torch::manual_seed(seed);
  MPJudgeNet net(MPJudgeConfig{}, shared_mobilenet());
  if (random_man) {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters())
      if ((p.key().rfind("man.", 0) == 0 || p.key().rfind("global_man.", 0) == 0) &&
          (p.key().find(".gamma.") != std::string::npos || p.key().find(".beta.") != std::string::npos))
        p.value().normal_(0.0, 0.05);
  }
  Checkpoint ck = mpjudge_to_checkpoint(net);
  ck.meta["init"] = {{"seed", seed}, {"random_man", random_man}, {"trained", false}};
  save_checkpoint(out, ck);
  return nlohmann::json{
      {"out", out}, {"arch", ck.arch}, {"config", ck.config}, {"tensors", ck.tensors.size()}, {"trained", false}}
      .dump();
}

}  // namespace mpjudge
