// The default MPJudge network: the frozen nsfwjs MobileNetV2 trunk with Modality-Adaptive
// Normalization (MAN) blocks inside its later stages, a music encoder (log-mel CNN + pooled
// basic-pitch posteriors + music descriptors), and a head giving a score in [0, 1].
// MAN is spatial (SPADE-like): y = x + (IN(x) * gamma(x, m) + beta(x, m)), gamma/beta from a 1x1 conv of
// the features plus a projection of the music embedding; the last convs start at zero, so an untrained
// MAN is the identity. Its modulation map is |y - x| per location (14x14, 7x7), as in the paper.
// Format 2 adds a global MAN: the painting's colour/structure descriptors (painting_descriptor_vector)
// are modulated by the music the same way, d' = d * (1 + gamma(m)) + beta(m) (zero-initialised), and
// join the pooled map at the head. The frozen trunk encodes colour, tone and edges weakly; the
// descriptors give the head them directly. painting_descriptor_dim 0 is format 1 (older checkpoints).
// Inputs are precomputed features (MusicInput, the trunk map): the model never opens files.
#pragma once

#include <mpjudge/mpjudge.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/encoders.h"
#include "model/torch_pch.h"
#include "model/variant.h"

namespace mpjudge {

// `variant` selects the judge built on the same inputs (model/variant.h; the baselines and ablations of
// docs/evaluation.md): man (the network above), late_fusion, embedding or emotion (valence/arousal
// regressors for the music and for the painting, trained on media.csv labels; score = 1 - distance of the
// two emotion points / 2*sqrt(2)). paper_small is the paper's architecture (model/paper.h), never this config's.
struct MPJudgeConfig {
  Variant variant = Variant::Man;
  std::vector<std::string> man_layers{"block_12_add", "block_16_project_BN"};  // MobileNetV2 stage ends
  int64_t man_hidden = 64;
  int64_t music_dim = 256;
  int64_t n_mels = 128;
  int64_t pitch_dim = 440;      // pooled basic-pitch features (music_features)
  int64_t descriptor_dim = 10;  // music_descriptor_vector()
  int64_t head_hidden = 128;
  int64_t painting_descriptor_dim = 11;  // painting_descriptor_vector(); 0 = none (format 1)
  bool va_head = false;  // man: an auxiliary valence/arousal head on the music embedding (train --va-weight)
  // What the music encoder reads: "all" (log-mel CNN + pitch posteriors + descriptors), "mel" (log-mel CNN +
  // descriptors: no basic-pitch) or "descriptors" (the descriptor vector only; no mel or pitch path, so it
  // cannot memorise the training clips' sound).
  std::string music_inputs = "all";
  // Music descriptors the network reads (docs/model.md): 1 = version 1's ten (checkpoints before 2026-12
  // load as 1); 2 = version 2's ten plus tempo and mode confidence, and with music_emotion_input the music-
  // emotion estimator's valence and arousal. descriptor_dim follows: 10, 12 or 14.
  int descriptor_version = 1;
  bool music_emotion_input = false;
  // Version 2 only: also version 1's tempo/120-1, mode +-1 and key strength (3 more entries).
  bool v1_descriptors = false;
  nlohmann::json to_json() const;
  static MPJudgeConfig from_json(const nlohmann::json& j);
  // The trunk layer whose output is cached per painting: the first MAN point.
  const std::string& trunk_layer() const { return man_layers.front(); }
};

// Everything the music side needs, computed by the feature layer (features.cpp) and cacheable.
struct MusicInput {
  torch::Tensor mel;          // [B, n_mels, T] log-mel (dB), T ~ 1292 for 30 s
  torch::Tensor pitch;        // [B, pitch_dim]
  torch::Tensor descriptors;  // [B, descriptor_dim]
};

// The painting side: the trunk map at config.trunk_layer() and the painting descriptors.
struct PaintingInput {
  torch::Tensor map;          // [B, C, H, W]
  torch::Tensor descriptors;  // [B, painting_descriptor_dim]; undefined when that is 0
};
// Stacks per-file inputs (batch dimension 1 or none) into one batch.
PaintingInput stack_paintings(const std::vector<PaintingInput>& items);
MusicInput expand_music(const MusicInput& one, int64_t n);  // batch 1 -> n (a view)
// Batch-1 inputs of B files -> one batch; false (out untouched) when their shapes differ (clips of other lengths).
bool stack_music(const std::vector<const MusicInput*>& items, MusicInput& out);

// Fixed scalings of the descriptors into roughly [-1, 1] (documented in docs/model.md).
// d must be of the config's descriptor_version; the result has config.descriptor_dim entries.
std::vector<float> music_descriptor_vector(const MusicDescriptors& d, const MPJudgeConfig& config);
int64_t music_descriptor_dim(int descriptor_version, bool emotion_input, bool v1_descriptors = false);
// Where music_descriptor_vector puts the estimator's valence (arousal follows); -1 without the emotion input.
int64_t music_emotion_index(const MPJudgeConfig& config);
std::vector<float> painting_descriptor_vector(const PaintingDescriptors& d);

struct MANImpl : torch::nn::Module {
  MANImpl(int64_t channels, int64_t music_dim, int64_t hidden);
  // Returns the modulated map and the modulation magnitude [B, H, W].
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& m);
  torch::nn::Conv2d feat{nullptr}, gamma{nullptr}, beta{nullptr};
  torch::nn::Linear music{nullptr};
};
TORCH_MODULE(MAN);

// The global MAN on the painting descriptors: d * (1 + gamma(m)) + beta(m), identity at initialisation.
struct GlobalMANImpl : torch::nn::Module {
  GlobalMANImpl(int64_t dim, int64_t music_dim);
  torch::Tensor forward(const torch::Tensor& d, const torch::Tensor& m);
  torch::nn::Linear gamma{nullptr}, beta{nullptr};
};
TORCH_MODULE(GlobalMAN);

struct MusicEncoderImpl : torch::nn::Module {
  explicit MusicEncoderImpl(const MPJudgeConfig& c);
  torch::Tensor forward(const MusicInput& in);  // [B, music_dim]
  bool descriptors_only = false;
  bool reads_pitch = true;  // music_inputs all (an ensemble's input may carry pitch that a "mel" member ignores)
  torch::nn::Sequential conv{nullptr};
  torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(MusicEncoder);

struct MPJudgeOutput {
  torch::Tensor score;                  // [B] in [0, 1]
  std::vector<torch::Tensor> maps;      // per MAN block: [B, H, W] (none for the other variants)
  torch::Tensor music_va, painting_va;  // emotion variant: [B, 2] valence, arousal in [-1, 1]
};

// The network of a default-architecture judge. The base holds what every variant shares (the config, the
// frozen trunk, the music encoder, the trunk's pooled painting features); each variant is a module of its
// own with its forward. Parameter names are the same as when one struct held them all, so checkpoints load.
struct JudgeNetImpl : torch::nn::Module {
  JudgeNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk);
  // painting.map: the output of config.trunk_layer() for each painting ([B, C, H, W], cacheable).
  virtual MPJudgeOutput forward(const PaintingInput& painting, const MusicInput& music) = 0;
  // The trunk up to config.trunk_layer() (frozen; no gradient).
  torch::Tensor trunk_map(const torch::Tensor& image01) const;
  MPJudgeConfig config;
  std::shared_ptr<const MobileNetV2> trunk;
  MusicEncoder music{nullptr};

 protected:
  torch::Tensor pooled_painting(const PaintingInput& painting);  // trunk to out_relu, pooled, + descriptors
  int64_t pooled_dim() const { return 1280 + config.painting_descriptor_dim; }
  void check_descriptors(const PaintingInput& painting) const;
};
using JudgeNetPtr = std::shared_ptr<JudgeNetImpl>;

// Variant man: the MPJudge network.
struct MPJudgeNetImpl : JudgeNetImpl {
  MPJudgeNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk);
  MPJudgeOutput forward(const PaintingInput& painting, const MusicInput& music) override;
  torch::nn::ModuleList man{nullptr};
  GlobalMAN global_man{nullptr};  // only when painting_descriptor_dim > 0
  torch::nn::Sequential head{nullptr};
  torch::nn::Sequential va_music{nullptr};  // only with va_head
};
TORCH_MODULE(MPJudgeNet);

// Variant late_fusion: [pooled painting, music embedding] -> MLP -> sigmoid.
struct LateFusionNetImpl : JudgeNetImpl {
  LateFusionNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk);
  MPJudgeOutput forward(const PaintingInput& painting, const MusicInput& music) override;
  torch::nn::Sequential head{nullptr};
};

// Variant embedding: sigmoid(s * cos(proj(painting), proj(music)) + b).
struct EmbeddingNetImpl : JudgeNetImpl {
  EmbeddingNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk);
  MPJudgeOutput forward(const PaintingInput& painting, const MusicInput& music) override;
  torch::nn::Linear proj_painting{nullptr}, proj_music{nullptr};
  torch::Tensor logit_scale, logit_bias;
};

// Variant emotion: a valence/arousal point for each side, score = 1 - their distance / 2*sqrt(2).
struct EmotionNetImpl : JudgeNetImpl {
  EmotionNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk);
  MPJudgeOutput forward(const PaintingInput& painting, const MusicInput& music) override;
  torch::nn::Sequential va_music{nullptr}, va_painting{nullptr};
};

// A fresh network of the config's variant (initialised from the current torch seed).
JudgeNetPtr make_judge_net(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk);
Checkpoint judge_net_checkpoint(JudgeNetImpl& net);  // arch "mpjudge"
JudgeNetPtr judge_net_from_checkpoint(const Checkpoint& ck, const std::string& path,
                                      std::shared_ptr<const MobileNetV2> trunk);

// An average of judges of the default architecture: arch "mpjudge-ensemble", made by `mpjudge ensemble`
// from checkpoints trained separately (e.g. other seeds or another --music-inputs). Its score is the mean of
// the members' scores, its maps the mean of their maps. Members share the variant and the MAN points, so one
// set of inputs (the trunk map at trunk_layer(), the music input) serves them all. A plain "mpjudge"
// checkpoint loads as an ensemble of one, bit-identical to the network itself.
struct MPJudgeEnsemble {
  std::vector<JudgeNetPtr> members;
  const MPJudgeConfig& config() const { return members.front()->config; }
  void eval();
  MPJudgeOutput forward(const PaintingInput& painting, const MusicInput& music);
};

MPJudgeEnsemble mpjudge_ensemble_from_checkpoint(const Checkpoint& ck, const std::string& path,
                                                 std::shared_ptr<const MobileNetV2> trunk);
// The ensemble checkpoint of already trained members (each arch "mpjudge"; paths name them in errors and in
// the checkpoint's meta). Throws Model when a member is of another architecture or does not match the first.
Checkpoint mpjudge_ensemble_checkpoint(const std::vector<Checkpoint>& members, const std::vector<std::string>& paths);

}  // namespace mpjudge
