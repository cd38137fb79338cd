// The Scorer facade (mpjudge.h): loads a checkpoint, prepares cached painting trunk maps and music
// inputs, and runs the network. File access and caching live here; the network sees only tensors.
#include <mpjudge/mpjudge.h>

#include <algorithm>
#include <optional>

#include "audio/audio_internal.h"
#include "common/error.h"
#include "common/files.h"
#include "image/image_internal.h"
#include "model/inputs.h"
#include "model/mpjudge_net.h"
#include "model/paper.h"
#include "model/runtime.h"
#include "model/tensors.h"

namespace mpjudge {

namespace {
constexpr int kBatch = 16;
}  // namespace

// The default architecture (and its baselines), or the paper's (arch "paper": pixels and a mel image in,
// the raw head output clamped to [0, 1], one 16x16 map per AdaIN block).
struct Scorer::Impl {
  std::string path;
  FeatureOptions opt;
  std::optional<MPJudgeEnsemble> net;  // a plain mpjudge checkpoint is an ensemble of one
  PaperModel paper{nullptr};

  Impl(const std::string& p, const FeatureOptions& o) : path(p), opt(o), inputs(o, load(p, o)) {}
  MPJudgeConfig load(const std::string& p, const FeatureOptions& o) {
    set_threads(o.threads);
    const Checkpoint ck = load_checkpoint(p);
    if (ck.arch == "paper") {
      paper = paper_from_checkpoint(ck, p);
      paper->eval();
      return MPJudgeConfig{};  // only its music front end (the log-mel) is used
    }
    net = mpjudge_ensemble_from_checkpoint(ck, p, shared_mobilenet());
    net->eval();
    return net->config();
  }

  ModelInputs inputs;
  PaintingInput painting(const std::string& file, bool* from_cache) { return inputs.painting(file, from_cache); }
  MusicInput music(const std::string& file, bool* from_cache) { return inputs.music(file, from_cache); }

  torch::Tensor paper_images(const std::vector<std::string>& files) {
    std::vector<torch::Tensor> v;
    for (const auto& f : files) v.push_back(paper_image(load_image(f), paper->config.image_size));
    return torch::stack(v);
  }
  // mel: paper_mel_image() of the song, made once per song.
  PaperOutput paper_forward(const std::vector<std::string>& paintings, const torch::Tensor& mel) {
    PaperOutput o =
        paper->forward(paper_images(paintings), mel.unsqueeze(0).expand({int64_t(paintings.size()), 3, -1, -1}));
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
  MusicInput mi = impl_->music(music, &r.music_from_cache);
  r.model = impl_->path;
  if (impl_->paper) {
    PaperOutput o = impl_->paper_forward({painting}, paper_mel_image(mi.mel[0], impl_->paper->config.mel_size));
    r.score = o.score[0].item<double>();
    r.arch = "paper";
    for (size_t k = 0; k < o.maps.size(); ++k) {
      torch::Tensor m = o.maps[k][0].contiguous();
      ModulationMap mm;
      mm.layer = "block_" + std::to_string(k);
      mm.height = mm.width = int(o.grid);
      mm.values.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
      r.maps.push_back(std::move(mm));
    }
    return r;
  }
  MPJudgeOutput o = impl_->net->forward(impl_->painting(painting, &r.painting_from_cache), mi);
  r.score = o.score[0].item<double>();
  const MPJudgeConfig& c = impl_->net->config();
  r.arch = impl_->net->members.size() > 1 ? "mpjudge-ensemble"
           : c.variant == "man"           ? "mpjudge"
                                          : "mpjudge-" + c.variant;
  for (size_t k = 0; k < o.maps.size(); ++k) {
    torch::Tensor m = o.maps[k][0].contiguous();
    ModulationMap mm;
    mm.layer = c.man_layers[k];
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
  const torch::Tensor mel = impl_->paper ? paper_mel_image(mi.mel[0], impl_->paper->config.mel_size) : torch::Tensor();
  for (size_t b0 = 0; b0 < paintings.size(); b0 += kBatch) {
    size_t b1 = std::min(paintings.size(), b0 + kBatch);
    torch::Tensor s;
    if (impl_->paper) {
      s = impl_->paper_forward({paintings.begin() + long(b0), paintings.begin() + long(b1)}, mel).score;
    } else {
      std::vector<PaintingInput> items;
      for (size_t i = b0; i < b1; ++i) items.push_back(impl_->painting(paintings[i], &cached));
      s = impl_->net->forward(stack_paintings(items), expand_music(mi, int64_t(b1 - b0))).score;
    }
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

std::string write_ensemble_model(const std::string& out, const std::vector<std::string>& members) {
  std::vector<Checkpoint> cks;
  for (const auto& m : members) cks.push_back(load_checkpoint(m));
  Checkpoint ck = mpjudge_ensemble_checkpoint(cks, members);
  mpjudge_ensemble_from_checkpoint(ck, out, shared_mobilenet());  // it must load before it is written
  save_checkpoint(out, ck);
  return nlohmann::json{{"out", out}, {"arch", ck.arch}, {"members", members}, {"tensors", ck.tensors.size()}}.dump();
}

}  // namespace mpjudge
