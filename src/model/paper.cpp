// The paper's network (see paper.h). Shapes in comments: B batch, N tokens, d width.
#include "model/paper.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "model/config_json.h"
#include "model/inputs.h"

namespace mpjudge {

namespace {

// Each field of PaperConfig once (config_json.h).
template <class Config, class Visitor>
void visit_paper_fields(Config& c, Visitor&& v) {
  const PaperConfig d;
  v("image_size", c.image_size, d.image_size);
  v("patch", c.patch, d.patch);
  v("layers", c.layers, d.layers);
  v("width", c.width, d.width);
  v("heads", c.heads, d.heads);
  v("mel_size", c.mel_size, d.mel_size);
  v("music_channels", c.music_channels, d.music_channels);
  v("adain_eps", c.adain_eps, d.adain_eps);
}

}  // namespace

nlohmann::json PaperConfig::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  visit_paper_fields(*this, ConfigToJson{j});
  return j;
}

PaperConfig PaperConfig::from_json(const nlohmann::json& j) {
  PaperConfig c;
  try {
    visit_paper_fields(c, ConfigFromJson{j});
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Model, std::string("paper config: ") + e.what());
  }
  if (c.image_size <= 0 || c.patch <= 0 || c.image_size % c.patch || c.layers <= 0 || c.width <= 0 || c.heads <= 0 ||
      c.width % c.heads || c.music_channels.empty() || c.mel_size <= 0)
    throw Error(ErrorKind::Model,
                "paper config: expected positive sizes with image_size % patch == 0 and width % heads == 0, found " +
                    c.to_json().dump());
  return c;
}

AdaINImpl::AdaINImpl(int64_t d, double eps_) : eps(eps_) {
  scale = register_module("scale", torch::nn::Linear(d, d));
  bias = register_module("bias", torch::nn::Linear(d, d));
}

torch::Tensor AdaINImpl::forward(const torch::Tensor& x, const torch::Tensor& m) {
  torch::Tensor mu = x.mean(1, true);                    // [B, 1, d]
  torch::Tensor sd = x.std(1, /*unbiased=*/true, true);  // [B, 1, d]
  torch::Tensor xn = (x - mu) / (sd + eps);
  return xn * scale->forward(m).unsqueeze(1) + bias->forward(m).unsqueeze(1);
}

SelfAttentionImpl::SelfAttentionImpl(int64_t d, int64_t heads_) : heads(heads_) {
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * d, d}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * d}));
  out_proj = register_module("out_proj", torch::nn::Linear(d, d));
  torch::nn::init::xavier_uniform_(in_proj_weight);  // as nn.MultiheadAttention._reset_parameters
  torch::nn::init::zeros_(out_proj->bias);
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), N = x.size(1), d = x.size(2), dh = d / heads;
  auto qkv = torch::linear(x, in_proj_weight, in_proj_bias).chunk(3, -1);                             // 3 x [B, N, d]
  auto split = [&](const torch::Tensor& t) { return t.reshape({B, N, heads, dh}).transpose(1, 2); };  // [B, h, N, dh]
  torch::Tensor q = split(qkv[0]) * (1.0 / std::sqrt(double(dh))), k = split(qkv[1]), v = split(qkv[2]);
  torch::Tensor a = torch::softmax(torch::matmul(q, k.transpose(-2, -1)), -1);  // [B, h, N, N]
  torch::Tensor o = torch::matmul(a, v).transpose(1, 2).reshape({B, N, d});
  return out_proj->forward(o);
}

PaperBlockImpl::PaperBlockImpl(int64_t d, int64_t heads, double eps) {
  cross_attn = register_module("cross_attn", SelfAttention(d, heads));
  adain1 = register_module("adain1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  adain2 = register_module("adain2", AdaIN(d, eps));
  ffn = register_module(
      "ffn", torch::nn::Sequential(torch::nn::Linear(d, 4 * d), torch::nn::GELU(), torch::nn::Linear(4 * d, d)));
}

std::pair<torch::Tensor, torch::Tensor> PaperBlockImpl::forward(torch::Tensor x, const torch::Tensor& m) {
  x = adain1->forward(x);
  torch::Tensor xa = x + cross_attn->forward(x);  // the residual adds to the normalised x
  torch::Tensor xb = adain2->forward(xa, m);
  torch::Tensor map = (xb - xa).norm(2, -1);  // [B, N]
  return {xb + ffn->forward(xb), map};
}

PaperVisualImpl::PaperVisualImpl(const PaperConfig& c) {
  patch_embed =
      register_module("patch_embed", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, c.width, c.patch).stride(c.patch)));
  const int64_t n = (c.image_size / c.patch) * (c.image_size / c.patch);
  pos_embed = register_parameter("pos_embed", torch::randn({1, n, c.width}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.layers; ++i) blocks->push_back(PaperBlock(c.width, c.heads, c.adain_eps));
  head = register_module("head", torch::nn::Linear(c.width, 1));
}

PaperMusicImpl::PaperMusicImpl(const PaperConfig& c) {
  encoder = register_module("encoder", torch::nn::Sequential());
  int64_t in = 3;
  for (int64_t ch : c.music_channels) {  // conv 4x4/2 + BN + ReLU, indices 0,1,2 / 3,4,5 / ...
    encoder->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, ch, 4).stride(2).padding(1)));
    encoder->push_back(torch::nn::BatchNorm2d(ch));
    encoder->push_back(torch::nn::ReLU());
    in = ch;
  }
  encoder->push_back(torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions({1, 1})));
  proj = register_module("proj", torch::nn::Linear(in, c.width));
}

torch::Tensor PaperMusicImpl::forward(const torch::Tensor& mel_image) {
  return proj->forward(encoder->forward(mel_image).flatten(1));  // [B, C] -> [B, width]
}

PaperModelImpl::PaperModelImpl(const PaperConfig& c) : config(c) {
  visual = register_module("visual", PaperVisual(c));
  music = register_module("music", PaperMusic(c));
}

PaperOutput PaperModelImpl::forward(const torch::Tensor& image, const torch::Tensor& mel_image) {
  if (image.dim() != 4 || image.size(2) != config.image_size || image.size(3) != config.image_size)
    throw Error(ErrorKind::Usage, "paper model: image must be [B, 3, " + std::to_string(config.image_size) + ", " +
                                      std::to_string(config.image_size) + "]");
  torch::Tensor m = music->forward(mel_image);                                       // [B, d]
  torch::Tensor x = visual->patch_embed->forward(image).flatten(2).transpose(1, 2);  // [B, N, d]
  x = x + visual->pos_embed.narrow(1, 0, x.size(1));
  PaperOutput out;
  out.grid = config.image_size / config.patch;
  for (const auto& b : *visual->blocks) {
    auto [y, map] = b->as<PaperBlock>()->forward(x, m);
    x = y;
    out.maps.push_back(map);
  }
  out.score = visual->head->forward(x.mean(1)).squeeze(-1);  // [B]
  return out;
}

PaperModel paper_from_checkpoint(const Checkpoint& ck, const std::string& path) {
  if (ck.arch != "paper")
    throw Error(ErrorKind::Model, path + ": expected a checkpoint of architecture 'paper', found '" + ck.arch + "'");
  PaperModel model(PaperConfig::from_json(ck.config));
  load_state(*model, ck, path);
  return model;
}

Checkpoint paper_to_checkpoint(PaperModel& model) {
  Checkpoint ck;
  ck.arch = "paper";
  ck.config = model->config.to_json();
  ck.tensors = module_state(*model);
  return ck;
}

torch::Tensor paper_image(const RgbImage& img, int64_t size) {
  TensorImage t = normalise_pm1(resize_image(img, int(size), int(size), ResizePolicy::Stretch));
  return torch::from_blob(t.data.data(), {3, size, size}, torch::kFloat).clone();
}

torch::Tensor paper_mel_image(const torch::Tensor& log_mel, int64_t size) {
  if (log_mel.dim() != 2 || log_mel.size(1) < 1)
    throw Error(ErrorKind::Usage, "paper_mel_image: expected a log-mel [n_mels, T]");
  torch::Tensor m = fit_frames(log_mel, kPaperMelFrames);
  torch::Tensor top = m.max();
  m = ((m - top + 80.0).clamp(0.0, 80.0) / 40.0 - 1.0).unsqueeze(0).unsqueeze(0);  // [1, 1, n_mels, frames]
  namespace F = torch::nn::functional;
  return F::interpolate(m, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{size, size})
                               .mode(torch::kBilinear)
                               .align_corners(false))[0];
}

}  // namespace mpjudge
