// The paper's MPJudge network, exactly as the authors' released code lays it out:
// a ViT-like visual encoder (16x16 patches, learned positions, no CLS token) whose blocks inject the
// music embedding by AdaIN (Modality-Adaptive Normalization), a mel-image CNN music encoder, and a
// mean-pooled linear head. Parameter names match the authors' state_dict under the prefixes
// "visual." (MyModel) and "music." (Music), so tools/convert_paper_checkpoint.py only adds prefixes.
// Not the default architecture (that is the MobileNetV2 one); this one exists so that the paper's
// checkpoints carry over, and (as paper-small) as an ablation that trains on a CPU.
#pragma once

#include <mpjudge/mpjudge.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "model/checkpoint.h"
#include "model/torch_pch.h"

namespace mpjudge {

struct PaperConfig {
  int64_t image_size = 256;  // RGB in [-1, 1]
  int64_t patch = 16;
  int64_t layers = 12;
  int64_t width = 1024;
  int64_t heads = 8;
  int64_t mel_size = 256;  // the log-mel as a 3-channel mel_size x mel_size image
  std::vector<int64_t> music_channels{64, 128, 256, 512};
  double adain_eps = 1e-5;  // added to the (unbiased) standard deviation, as the authors do

  static PaperConfig paper() { return {}; }
  static PaperConfig paper_small() {  // trainable on 2 CPU cores: ~123 ms per training pair
    PaperConfig c;
    c.layers = 6;
    c.width = 256;
    return c;
  }
  nlohmann::json to_json() const;
  static PaperConfig from_json(const nlohmann::json& j);  // throws Error(Model) on bad values
};

// AdaIN over tokens: normalise each channel by its mean and unbiased std over the N tokens, then
// scale and shift from the music embedding. x: [B, N, d], m: [B, d].
struct AdaINImpl : torch::nn::Module {
  AdaINImpl(int64_t d, double eps);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& m);
  torch::nn::Linear scale{nullptr}, bias{nullptr};
  double eps;
};
TORCH_MODULE(AdaIN);

// nn.MultiheadAttention(batch_first=True) self-attention with its parameter layout
// (in_proj_weight [3d, d], in_proj_bias [3d], out_proj).
struct SelfAttentionImpl : torch::nn::Module {
  SelfAttentionImpl(int64_t d, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);  // [B, N, d]
  torch::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};
  int64_t heads;
};
TORCH_MODULE(SelfAttention);

// x = LN(x); x = x + Attn(x); y = AdaIN(x, m); out = y + FFN(y). The modulation map is |y - x| per token.
struct PaperBlockImpl : torch::nn::Module {
  PaperBlockImpl(int64_t d, int64_t heads, double eps);
  std::pair<torch::Tensor, torch::Tensor> forward(torch::Tensor x, const torch::Tensor& m);  // out, map [B, N]
  SelfAttention cross_attn{nullptr};  // the authors' name, although it attends to itself
  torch::nn::LayerNorm adain1{nullptr};
  AdaIN adain2{nullptr};
  torch::nn::Sequential ffn{nullptr};
};
TORCH_MODULE(PaperBlock);

struct PaperVisualImpl : torch::nn::Module {
  explicit PaperVisualImpl(const PaperConfig& c);
  torch::nn::Conv2d patch_embed{nullptr};
  torch::Tensor pos_embed;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(PaperVisual);

struct PaperMusicImpl : torch::nn::Module {
  explicit PaperMusicImpl(const PaperConfig& c);
  torch::Tensor forward(const torch::Tensor& mel_image);  // [B, 3, M, M] -> [B, width]
  torch::nn::Sequential encoder{nullptr};
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(PaperMusic);

struct PaperOutput {
  torch::Tensor score;              // [B] (the raw head output, as the authors train it)
  std::vector<torch::Tensor> maps;  // per block: [B, N] modulation magnitudes
  int64_t grid = 0;                 // maps are grid x grid
};

struct PaperModelImpl : torch::nn::Module {
  explicit PaperModelImpl(const PaperConfig& c);
  PaperOutput forward(const torch::Tensor& image, const torch::Tensor& mel_image);
  PaperConfig config;
  PaperVisual visual{nullptr};
  PaperMusic music{nullptr};
};
TORCH_MODULE(PaperModel);

// Builds the network from a checkpoint of arch "paper": every parameter and buffer must be present
// with its shape, and nothing else may be (Error(Model) names the first offender).
PaperModel paper_from_checkpoint(const Checkpoint& ck, const std::string& path);
Checkpoint paper_to_checkpoint(PaperModel& model);

// The network's inputs, as the authors prepare them (docs/model.md):
// the painting stretched to size x size, RGB in [-1, 1]: [3, size, size];
torch::Tensor paper_image(const RgbImage& img, int64_t size);
// the log-mel (dB, [n_mels, T]) of the clip's middle kPaperMelFrames frames (20 s at hop 512; a shorter
// clip loops), its top 80 dB mapped to [-1, 1], resized bilinearly to [1, size, size]. The network
// reads it as 3 identical channels (expand to [B, 3, size, size]).
constexpr int64_t kPaperMelFrames = 862;
torch::Tensor paper_mel_image(const torch::Tensor& log_mel, int64_t size);

}  // namespace mpjudge
