// The judges behind the Judge interface (see judge.h): one default-architecture network, an ensemble of
// them, and the paper's network, each with its input preparer.
#include "model/judge.h"

#include "common/error.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "image/decode_bytes.h"
#include "model/encoders.h"
#include "model/inputs.h"
#include "model/runtime.h"

namespace mpjudge {
namespace {

// What the default network's judges share: inputs, crop, names.
class DefaultJudgeBase : public Judge {
 public:
  std::unique_ptr<InputPreparer> preparer(const FeatureOptions& opt) const override {
    return std::make_unique<ModelInputs>(opt, config());
  }
  MusicInput crop(const MusicInput& m, int64_t frames) const override {
    return {fit_frames(m.mel, frames), m.pitch, m.descriptors};
  }
  std::vector<std::string> map_layers() const override {
    return config().variant == Variant::Man ? config().man_layers : std::vector<std::string>{};
  }
  bool learns_scores() const override { return config().variant != Variant::Emotion; }
  nlohmann::json config_json() const override { return config().to_json(); }

 protected:
  virtual const MPJudgeConfig& config() const = 0;
};

class NetJudge : public DefaultJudgeBase {
 public:
  explicit NetJudge(JudgeNetPtr net) : net_(std::move(net)) {}
  std::string arch() const override {
    return net_->config.variant == Variant::Man ? "mpjudge"
                                                : std::string("mpjudge-") + variant_name(net_->config.variant);
  }
  MPJudgeOutput forward(const PaintingInput& p, const MusicInput& m) override { return net_->forward(p, m); }
  torch::nn::Module& module() override { return *net_; }
  void set_training(bool on) override { net_->train(on); }
  Checkpoint checkpoint() override { return judge_net_checkpoint(*net_); }

 protected:
  const MPJudgeConfig& config() const override { return net_->config; }

 private:
  JudgeNetPtr net_;
};

class EnsembleJudge : public DefaultJudgeBase {
 public:
  EnsembleJudge(MPJudgeEnsemble e, Checkpoint ck) : e_(std::move(e)), ck_(std::move(ck)) {}
  std::string arch() const override { return "mpjudge-ensemble"; }
  // The log-mel and the pitch posteriors are prepared when any member reads them.
  std::unique_ptr<InputPreparer> preparer(const FeatureOptions& opt) const override {
    MPJudgeConfig c = e_.config();
    auto rank = [](const std::string& inputs) { return inputs == "all" ? 2 : inputs == "mel" ? 1 : 0; };
    for (const auto& m : e_.members)
      if (rank(m->config.music_inputs) > rank(c.music_inputs)) c.music_inputs = m->config.music_inputs;
    return std::make_unique<ModelInputs>(opt, c);
  }
  MPJudgeOutput forward(const PaintingInput& p, const MusicInput& m) override { return e_.forward(p, m); }
  torch::nn::Module& module() override {
    throw Error(ErrorKind::Model, "an ensemble is not trained as one network",
                "train its members one at a time and bundle them with `mpjudge ensemble`");
  }
  void set_training(bool on) override {
    for (auto& m : e_.members) m->train(on);
  }
  Checkpoint checkpoint() override { return ck_; }

 protected:
  const MPJudgeConfig& config() const override { return e_.config(); }

 private:
  MPJudgeEnsemble e_;
  Checkpoint ck_;
};

// The paper's inputs: the painting's pixels (PaintingInput::map, [1, 3, S, S] in [-1, 1]) and the clip's
// log-mel as a mel image (MusicInput::mel, [1, 1, M, M]); the log-mel comes from the default feature cache.
class PaperInputPreparer : public InputPreparer {
 public:
  PaperInputPreparer(const FeatureOptions& opt, const PaperConfig& c) : c_(c), mel_(opt, MPJudgeConfig{}) {}
  PaintingInput painting(const PaintingSource& src, bool* from_cache) override {
    if (from_cache) *from_cache = false;
    if (src.image) check_rgb(*src.image, src.name, ImageConfig{});
    return {paper_image(src.image ? *src.image : load_image(src.path), c_.image_size).unsqueeze(0), {}};
  }
  MusicInput music(const MusicSource& src, bool* from_cache) override {
    MusicInput m = mel_.music(src, from_cache);
    return {paper_mel_image(m.mel[0], c_.mel_size).unsqueeze(0), {}, {}};
  }

 private:
  PaperConfig c_;
  ModelInputs mel_;  // only its log-mel is used
};

class PaperJudge : public Judge {
 public:
  explicit PaperJudge(PaperModel m) : m_(std::move(m)) {}
  std::string arch() const override { return "paper"; }
  std::vector<std::string> map_layers() const override {
    std::vector<std::string> out;
    for (int64_t k = 0; k < m_->config.layers; ++k) out.push_back("block_" + std::to_string(k));
    return out;
  }
  std::unique_ptr<InputPreparer> preparer(const FeatureOptions& opt) const override {
    return std::make_unique<PaperInputPreparer>(opt, m_->config);
  }
  MusicInput crop(const MusicInput& m, int64_t) const override { return m; }
  MPJudgeOutput forward(const PaintingInput& p, const MusicInput& m) override {
    PaperOutput o = m_->forward(p.map, m.mel.expand({-1, 3, -1, -1}));
    MPJudgeOutput out;
    out.score = o.score;
    for (const auto& map : o.maps) out.maps.push_back(map.view({map.size(0), o.grid, o.grid}));
    return out;
  }
  torch::nn::Module& module() override { return *m_; }
  void set_training(bool on) override { m_->train(on); }
  Checkpoint checkpoint() override { return paper_to_checkpoint(m_); }
  nlohmann::json config_json() const override { return m_->config.to_json(); }

 private:
  PaperModel m_;
};

}  // namespace

std::unique_ptr<Judge> load_judge(const Checkpoint& ck, const std::string& path) {
  std::unique_ptr<Judge> j;
  if (ck.arch == "paper")
    j = std::make_unique<PaperJudge>(paper_from_checkpoint(ck, path));
  else if (ck.arch == "mpjudge-ensemble")
    j = std::make_unique<EnsembleJudge>(mpjudge_ensemble_from_checkpoint(ck, path, shared_mobilenet()), ck);
  else
    j = std::make_unique<NetJudge>(judge_net_from_checkpoint(ck, path, shared_mobilenet()));
  j->set_training(false);
  return j;
}

std::unique_ptr<Judge> load_judge(const std::string& path) { return load_judge(load_checkpoint(path), path); }

std::unique_ptr<Judge> new_judge(const MPJudgeConfig& config) {
  return std::make_unique<NetJudge>(make_judge_net(config, shared_mobilenet()));
}

std::unique_ptr<Judge> new_paper_judge(const PaperConfig& config) {
  return std::make_unique<PaperJudge>(PaperModel(config));
}

InputSet prepare_inputs(const Judge& judge, const std::vector<std::string>& paintings,
                        const std::vector<std::string>& musics, const FeatureOptions& opt, int workers, Progress* bar) {
  InputSet out;
  out.paintings.resize(paintings.size());
  out.music.resize(musics.size());
  workers = std::max(1, workers);
  std::vector<std::unique_ptr<InputPreparer>> per_worker(static_cast<size_t>(workers));
  const int saved = at::get_num_threads();
  at::set_num_threads(1);  // parallel over files instead
  try {
    parallel_for(paintings.size() + musics.size(), workers, [&](size_t k, int w) {
      auto& in = per_worker[size_t(w)];
      if (!in) in = judge.preparer(opt);
      if (k < paintings.size())
        out.paintings[k] = in->painting(paintings[k]);
      else
        out.music[k - paintings.size()] = in->music(musics[k - paintings.size()]);
      if (bar) bar->tick();
    });
  } catch (...) {
    at::set_num_threads(saved);
    throw;
  }
  at::set_num_threads(saved);
  return out;
}

}  // namespace mpjudge
