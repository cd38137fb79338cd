// The default MPJudge network (see mpjudge_net.h). Shapes: B batch, C channels, H x W the stage grid.
#include "model/mpjudge_net.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "common/error.h"
#include "model/config_json.h"

namespace mpjudge {
namespace {

int64_t stage_channels(const std::string& layer) {
  if (layer == "block_12_add") return 96;
  if (layer == "block_16_project_BN") return 320;
  if (layer == "out_relu") return 1280;
  if (layer == "block_5_add") return 32;
  throw Error(ErrorKind::Model, "MPJudge config: MAN layer " + layer + " is not a supported MobileNetV2 stage end");
}

}  // namespace

// Each field of MPJudgeConfig once: its JSON key, the member, and the value a checkpoint that lacks the key
// had (format-1 checkpoints have no painting descriptors; those before 2026-12 read descriptors version 1).
template <class Config, class Visitor>
void visit_config_fields(Config& c, Visitor&& v) {
  const MPJudgeConfig d;
  v("variant", c.variant, Variant::Man);
  v("man_layers", c.man_layers, d.man_layers);
  v("man_hidden", c.man_hidden, d.man_hidden);
  v("music_dim", c.music_dim, d.music_dim);
  v("n_mels", c.n_mels, d.n_mels);
  v("pitch_dim", c.pitch_dim, d.pitch_dim);
  v("descriptor_dim", c.descriptor_dim, d.descriptor_dim);
  v("head_hidden", c.head_hidden, d.head_hidden);
  v("painting_descriptor_dim", c.painting_descriptor_dim, int64_t(0));
  v("va_head", c.va_head, false);
  v("music_inputs", c.music_inputs, std::string("all"));
  v("descriptor_version", c.descriptor_version, 1);
  v("music_emotion_input", c.music_emotion_input, false);
  v("v1_descriptors", c.v1_descriptors, false);
}

namespace {

// config_json.h's readers, with the variant as its name.
struct ToJson : ConfigToJson {
  using ConfigToJson::operator();
  void operator()(const char* key, const Variant& v, const Variant&) const { j[key] = variant_name(v); }
};

struct FromJson : ConfigFromJson {
  using ConfigFromJson::operator();
  void operator()(const char* key, Variant& v, const Variant& absent) const {
    const std::string name = j.value(key, std::string(variant_name(absent)));
    const std::optional<Variant> parsed = variant_from_name(name);
    if (!parsed || *parsed == Variant::PaperSmall)
      throw Error(ErrorKind::Model,
                  "MPJudge config: variant must be man, late_fusion, embedding or emotion, found '" + name + "'");
    v = *parsed;
  }
};

}  // namespace

nlohmann::json MPJudgeConfig::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  visit_config_fields(*this, ToJson{{j}});
  return j;
}

MPJudgeConfig MPJudgeConfig::from_json(const nlohmann::json& j) {
  MPJudgeConfig c;
  try {
    visit_config_fields(c, FromJson{{j}});
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Model, std::string("MPJudge config: ") + e.what());
  }
  if (c.descriptor_version != 1 && c.descriptor_version != 2)
    throw Error(ErrorKind::Model,
                "MPJudge config: descriptor_version must be 1 or 2, found " + std::to_string(c.descriptor_version));
  if ((c.descriptor_version == 1 && (c.music_emotion_input || c.v1_descriptors)) ||
      c.descriptor_dim != music_descriptor_dim(c.descriptor_version, c.music_emotion_input, c.v1_descriptors))
    throw Error(ErrorKind::Model, "MPJudge config: descriptor_dim " + std::to_string(c.descriptor_dim) +
                                      " does not match descriptor_version " + std::to_string(c.descriptor_version) +
                                      (c.music_emotion_input ? " with the emotion input" : ""));
  if (c.music_inputs != "all" && c.music_inputs != "descriptors" && c.music_inputs != "mel")
    throw Error(ErrorKind::Model,
                "MPJudge config: music_inputs must be all, mel or descriptors, found '" + c.music_inputs + "'");
  if (c.man_layers.empty() || c.music_dim <= 0 || c.man_hidden <= 0 || c.n_mels <= 0 || c.head_hidden <= 0 ||
      (c.painting_descriptor_dim != 0 && c.painting_descriptor_dim != 11))
    throw Error(ErrorKind::Model,
                "MPJudge config: expected at least one MAN layer and positive sizes, found " + c.to_json().dump());
  // MAN points must follow the trunk's order.
  const auto& order = std::vector<std::string>{"block_5_add", "block_12_add", "block_16_project_BN", "out_relu"};
  size_t last = 0;
  for (const auto& l : c.man_layers) {
    stage_channels(l);
    size_t pos = size_t(std::find(order.begin(), order.end(), l) - order.begin());
    if (pos < last)
      throw Error(ErrorKind::Model, "MPJudge config: MAN layers must be in trunk order, found " + c.to_json().dump());
    last = pos + 1;
  }
  return c;
}

int64_t music_descriptor_dim(int descriptor_version, bool emotion_input, bool v1_descriptors) {
  return descriptor_version == 1 ? 10 : 12 + (emotion_input ? 2 : 0) + (v1_descriptors ? 3 : 0);
}

int64_t music_emotion_index(const MPJudgeConfig& config) {
  return config.descriptor_version >= 2 && config.music_emotion_input ? 12 : -1;
}

std::vector<float> music_descriptor_vector(const MusicDescriptors& d, const MPJudgeConfig& config) {
  if (d.version != config.descriptor_version)
    fail_internal("music_descriptor_vector: descriptors of version " + std::to_string(d.version) +
                  " for a network reading version " + std::to_string(config.descriptor_version));
  std::vector<float> v = {float(d.tempo_bpm / 120.0 - 1.0),
                          float(d.onset_rate_hz / 4.0 - 1.0),
                          d.mode == "major" ? 1.0f : -1.0f,
                          float(d.key_strength),
                          float((d.loudness_lufs + 23.0) / 10.0),
                          float(d.loudness_range_lu / 10.0),
                          float(d.spectral_centroid_hz / 2000.0 - 1.0),
                          float((d.pitch_height - 64.0) / 12.0),
                          float((d.rms_db + 20.0) / 10.0),
                          float(d.dynamic_range_db / 20.0)};
  if (config.descriptor_version >= 2)
    v.push_back(float(d.tempo_confidence * 2 - 1)), v.push_back(float(d.mode_confidence * 2 - 1));
  if (config.music_emotion_input) {
    if (int64_t(v.size()) != music_emotion_index(config)) fail_internal("music_descriptor_vector: emotion index");
    v.push_back(float(d.valence)), v.push_back(float(d.arousal));
  }
  if (config.v1_descriptors)
    v.insert(v.end(), {float(d.v1_tempo_bpm / 120.0 - 1.0), d.v1_major ? 1.0f : -1.0f, float(d.v1_key_strength)});
  return v;
}

std::vector<float> painting_descriptor_vector(const PaintingDescriptors& d) {
  return {float(d.lightness / 50.0 - 1.0),
          float(d.chroma / 30.0 - 1.0),
          float(d.a / 20.0),
          float(d.b / 20.0),
          float(d.contrast / 20.0 - 1.0),
          float(d.edge_density / 0.1 - 1.0),
          float(d.angularity * 2.0 - 1.0),
          float(d.colourfulness / 50.0 - 1.0),
          float(d.emotion.happy),
          float(d.emotion.sad),
          float(d.emotion.angry)};
}

PaintingInput stack_paintings(const std::vector<PaintingInput>& items) {
  std::vector<torch::Tensor> maps, desc;
  for (const auto& p : items) {
    maps.push_back(p.map.dim() == 4 ? p.map.squeeze(0) : p.map);
    if (p.descriptors.defined()) desc.push_back(p.descriptors.dim() == 2 ? p.descriptors.squeeze(0) : p.descriptors);
  }
  PaintingInput out{torch::stack(maps), {}};
  if (!desc.empty()) out.descriptors = torch::stack(desc);
  return out;
}

bool stack_music(const std::vector<const MusicInput*>& items, MusicInput& out) {
  if (items.empty()) return false;
  auto cat = [&](torch::Tensor MusicInput::*field, torch::Tensor& dst) {
    std::vector<torch::Tensor> parts;
    for (const MusicInput* m : items) {
      const torch::Tensor& t = m->*field;
      if (t.defined() != (items[0]->*field).defined() || (t.defined() && t.sizes() != (items[0]->*field).sizes()))
        return false;
      if (t.defined()) parts.push_back(t);
    }
    if (!parts.empty()) dst = torch::cat(parts);
    return true;
  };
  MusicInput m;
  if (!cat(&MusicInput::mel, m.mel) || !cat(&MusicInput::pitch, m.pitch) ||
      !cat(&MusicInput::descriptors, m.descriptors))
    return false;
  out = std::move(m);
  return true;
}

MusicInput expand_music(const MusicInput& one, int64_t n) {
  auto expand = [n](const torch::Tensor& t) {
    if (!t.defined()) return t;
    std::vector<int64_t> size(size_t(t.dim()), -1);
    size[0] = n;
    return t.expand(size);
  };
  return {expand(one.mel), expand(one.pitch), expand(one.descriptors)};
}

GlobalMANImpl::GlobalMANImpl(int64_t dim, int64_t music_dim) {
  gamma = register_module("gamma", torch::nn::Linear(music_dim, dim));
  beta = register_module("beta", torch::nn::Linear(music_dim, dim));
  for (auto* l : {&gamma, &beta}) {
    torch::nn::init::zeros_((*l)->weight);
    torch::nn::init::zeros_((*l)->bias);
  }
}

torch::Tensor GlobalMANImpl::forward(const torch::Tensor& d, const torch::Tensor& m) {
  return d * (1.0 + gamma->forward(m)) + beta->forward(m);  // [B, dim]
}

MANImpl::MANImpl(int64_t channels, int64_t music_dim, int64_t hidden) {
  feat = register_module("feat", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, hidden, 1)));
  music = register_module("music", torch::nn::Linear(music_dim, hidden));
  gamma = register_module("gamma", torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, channels, 1)));
  beta = register_module("beta", torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, channels, 1)));
  // Identity at initialisation: the modulation starts at exactly zero.
  for (auto* conv : {&gamma, &beta}) {
    torch::nn::init::zeros_((*conv)->weight);
    torch::nn::init::zeros_((*conv)->bias);
  }
}

std::pair<torch::Tensor, torch::Tensor> MANImpl::forward(const torch::Tensor& x, const torch::Tensor& m) {
  // Instance normalisation over the spatial grid, per channel (no affine: the music supplies it).
  torch::Tensor mu = x.mean({2, 3}, true), var = x.var({2, 3}, false, true);
  torch::Tensor xn = (x - mu) / torch::sqrt(var + 1e-5);                                            // [B, C, H, W]
  torch::Tensor z = torch::relu(feat->forward(x) + music->forward(m).unsqueeze(-1).unsqueeze(-1));  // [B, hid, H, W]
  torch::Tensor delta = xn * gamma->forward(z) + beta->forward(z);                                  // [B, C, H, W]
  return {x + delta, delta.norm(2, 1)};                                                             // map [B, H, W]
}

MusicEncoderImpl::MusicEncoderImpl(const MPJudgeConfig& c)
    : descriptors_only(c.music_inputs == "descriptors"), reads_pitch(c.music_inputs == "all") {
  if (descriptors_only) {
    mlp = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(c.descriptor_dim, c.music_dim),
                                                       torch::nn::ReLU(), torch::nn::Linear(c.music_dim, c.music_dim)));
    return;
  }
  conv = register_module(
      "conv", torch::nn::Sequential(
                  torch::nn::Conv1d(torch::nn::Conv1dOptions(c.n_mels, 128, 5).stride(2).padding(2)), torch::nn::ReLU(),
                  torch::nn::Conv1d(torch::nn::Conv1dOptions(128, 128, 5).stride(2).padding(2)), torch::nn::ReLU(),
                  torch::nn::Conv1d(torch::nn::Conv1dOptions(128, 128, 5).stride(2).padding(2)), torch::nn::ReLU()));
  const int64_t pitch_in = reads_pitch ? c.pitch_dim : 0;
  mlp = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(256 + pitch_in + c.descriptor_dim, c.music_dim),
                                                     torch::nn::ReLU(), torch::nn::Linear(c.music_dim, c.music_dim)));
}

namespace {

// Whether every row of the batch is the same clip: expand_music's view (stride 0 along the batch), as a
// ranking gives one song against many paintings.
bool one_clip_expanded(const MusicInput& in) {
  auto same = [](const torch::Tensor& t) { return !t.defined() || (t.dim() > 0 && t.size(0) > 1 && t.stride(0) == 0); };
  const torch::Tensor& any = in.mel.defined() ? in.mel : in.descriptors;
  return any.defined() && any.size(0) > 1 && same(in.mel) && same(in.pitch) && same(in.descriptors);
}

torch::Tensor first_row(const torch::Tensor& t) { return t.defined() ? t.narrow(0, 0, 1) : t; }

}  // namespace

torch::Tensor MusicEncoderImpl::forward(const MusicInput& in) {
  // One song against a batch of paintings: encode it once and expand the embedding (the convolutions
  // over its log-mel cost more than the rest of the batch's music side).
  if (one_clip_expanded(in)) {
    const int64_t b = (in.mel.defined() ? in.mel : in.descriptors).size(0);
    return forward(MusicInput{first_row(in.mel), first_row(in.pitch), first_row(in.descriptors)}).expand({b, -1});
  }
  if (descriptors_only) return mlp->forward(in.descriptors);  // [B, music_dim]
  // dB log-mel to roughly unit scale before the convolutions.
  torch::Tensor h = conv->forward((in.mel + 40.0) / 40.0);                         // [B, 128, T/8]
  torch::Tensor pooled = torch::cat({h.mean(-1), std::get<0>(h.max(-1))}, 1);      // [B, 256]
  if (!reads_pitch) return mlp->forward(torch::cat({pooled, in.descriptors}, 1));  // music_inputs mel
  return mlp->forward(torch::cat({pooled, in.pitch, in.descriptors}, 1));          // [B, music_dim]
}

JudgeNetImpl::JudgeNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk_)
    : config(c), trunk(std::move(trunk_)) {
  music = register_module("music", MusicEncoder(c));
}

torch::Tensor JudgeNetImpl::pooled_painting(const PaintingInput& painting) {
  torch::Tensor x;
  {
    torch::NoGradGuard no_grad;  // the frozen trunk, from the cached map to the end
    x = trunk->graph()
            .run(torch::Tensor(), {"out_relu"}, {{config.trunk_layer(), painting.map}})
            .at("out_relu")
            .mean({2, 3});  // [B, 1280]
  }
  if (config.painting_descriptor_dim > 0) x = torch::cat({x, painting.descriptors}, 1);
  return x;
}

torch::Tensor JudgeNetImpl::trunk_map(const torch::Tensor& image01) const {
  torch::NoGradGuard no_grad;
  return trunk->graph().run(image01, {config.trunk_layer()}).at(config.trunk_layer()).contiguous();  // as cached
}

void JudgeNetImpl::check_descriptors(const PaintingInput& painting) const {
  if (config.painting_descriptor_dim > 0 &&
      (!painting.descriptors.defined() || painting.descriptors.size(-1) != config.painting_descriptor_dim))
    throw Error(ErrorKind::Internal, "MPJudgeNet: painting descriptors missing or of the wrong size");
}

namespace {

torch::nn::Sequential va_regressor(int64_t in) {
  return torch::nn::Sequential(torch::nn::Linear(in, 64), torch::nn::ReLU(), torch::nn::Linear(64, 2),
                               torch::nn::Tanh());
}

}  // namespace

MPJudgeNetImpl::MPJudgeNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk_)
    : JudgeNetImpl(c, std::move(trunk_)) {
  man = register_module("man", torch::nn::ModuleList());
  for (const auto& l : c.man_layers) man->push_back(MAN(stage_channels(l), c.music_dim, c.man_hidden));
  if (c.painting_descriptor_dim > 0)
    global_man = register_module("global_man", GlobalMAN(c.painting_descriptor_dim, c.music_dim));
  head = register_module("head", torch::nn::Sequential(torch::nn::Linear(pooled_dim(), c.head_hidden),
                                                       torch::nn::ReLU(), torch::nn::Linear(c.head_hidden, 1)));
  if (c.va_head) va_music = register_module("va_music", va_regressor(c.music_dim));
}

MPJudgeOutput MPJudgeNetImpl::forward(const PaintingInput& painting, const MusicInput& in) {
  check_descriptors(painting);
  torch::Tensor m = music->forward(in);
  MPJudgeOutput out;
  if (config.va_head) out.music_va = va_music->forward(m);
  torch::Tensor x = painting.map;
  for (size_t k = 0; k < config.man_layers.size(); ++k) {
    auto [y, map] = man[k]->as<MAN>()->forward(x, m);
    out.maps.push_back(map);
    // Resume the frozen trunk from the modulated map up to the next MAN point (or the final map).
    const std::string& next = k + 1 < config.man_layers.size() ? config.man_layers[k + 1] : std::string("out_relu");
    x = next == config.man_layers[k]
            ? y
            : trunk->graph().run(torch::Tensor(), {next}, {{config.man_layers[k], y}}).at(next);
  }
  torch::Tensor pooled = x.mean({2, 3});  // [B, 1280]
  if (config.painting_descriptor_dim > 0)
    pooled = torch::cat({pooled, global_man->forward(painting.descriptors, m)}, 1);
  out.score = torch::sigmoid(head->forward(pooled)).squeeze(-1);
  return out;
}

LateFusionNetImpl::LateFusionNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk_)
    : JudgeNetImpl(c, std::move(trunk_)) {
  head = register_module("head", torch::nn::Sequential(torch::nn::Linear(pooled_dim() + c.music_dim, c.head_hidden),
                                                       torch::nn::ReLU(), torch::nn::Linear(c.head_hidden, 1)));
}

MPJudgeOutput LateFusionNetImpl::forward(const PaintingInput& painting, const MusicInput& in) {
  check_descriptors(painting);
  MPJudgeOutput out;
  out.score = torch::sigmoid(head->forward(torch::cat({pooled_painting(painting), music->forward(in)}, 1))).squeeze(-1);
  return out;
}

EmbeddingNetImpl::EmbeddingNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk_)
    : JudgeNetImpl(c, std::move(trunk_)) {
  proj_painting = register_module("proj_painting", torch::nn::Linear(pooled_dim(), c.head_hidden));
  proj_music = register_module("proj_music", torch::nn::Linear(c.music_dim, c.head_hidden));
  logit_scale = register_parameter("logit_scale", torch::full({1}, 5.0));
  logit_bias = register_parameter("logit_bias", torch::zeros({1}));
}

MPJudgeOutput EmbeddingNetImpl::forward(const PaintingInput& painting, const MusicInput& in) {
  check_descriptors(painting);
  const auto unit = torch::nn::functional::NormalizeFuncOptions().dim(1);
  torch::Tensor m = music->forward(in);
  torch::Tensor a = torch::nn::functional::normalize(proj_painting->forward(pooled_painting(painting)), unit);
  torch::Tensor b = torch::nn::functional::normalize(proj_music->forward(m), unit);
  MPJudgeOutput out;
  out.score = torch::sigmoid(logit_scale * (a * b).sum(1) + logit_bias);
  return out;
}

EmotionNetImpl::EmotionNetImpl(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk_)
    : JudgeNetImpl(c, std::move(trunk_)) {
  va_music = register_module("va_music", va_regressor(c.music_dim));
  va_painting = register_module("va_painting", va_regressor(pooled_dim()));
}

MPJudgeOutput EmotionNetImpl::forward(const PaintingInput& painting, const MusicInput& in) {
  check_descriptors(painting);
  torch::Tensor m = music->forward(in);
  MPJudgeOutput out;
  out.music_va = va_music->forward(m);
  out.painting_va = va_painting->forward(pooled_painting(painting));
  out.score = 1.0 - (out.music_va - out.painting_va).norm(2, 1) / (2.0 * std::sqrt(2.0));
  return out;
}

JudgeNetPtr make_judge_net(const MPJudgeConfig& c, std::shared_ptr<const MobileNetV2> trunk) {
  switch (c.variant) {
    case Variant::Man:
      return std::make_shared<MPJudgeNetImpl>(c, std::move(trunk));
    case Variant::LateFusion:
      return std::make_shared<LateFusionNetImpl>(c, std::move(trunk));
    case Variant::Embedding:
      return std::make_shared<EmbeddingNetImpl>(c, std::move(trunk));
    case Variant::Emotion:
      return std::make_shared<EmotionNetImpl>(c, std::move(trunk));
    case Variant::PaperSmall:
      break;
  }
  fail_internal("make_judge_net: variant paper_small is the paper's architecture, not the default one");
}

Checkpoint judge_net_checkpoint(JudgeNetImpl& net) {
  Checkpoint ck;
  ck.arch = "mpjudge";
  ck.config = net.config.to_json();
  ck.meta["trunk"] = "nsfwjs-mobilenet_v2@4.4.0";
  ck.tensors = module_state(net);
  return ck;
}

JudgeNetPtr judge_net_from_checkpoint(const Checkpoint& ck, const std::string& path,
                                      std::shared_ptr<const MobileNetV2> trunk) {
  if (ck.arch != "mpjudge")
    throw Error(ErrorKind::Model, path + ": expected a checkpoint of architecture 'mpjudge', found '" + ck.arch + "'");
  JudgeNetPtr net = make_judge_net(MPJudgeConfig::from_json(ck.config), std::move(trunk));
  load_state(*net, ck, path);
  return net;
}

void MPJudgeEnsemble::eval() {
  for (auto& m : members) m->eval();
}

MPJudgeOutput MPJudgeEnsemble::forward(const PaintingInput& painting, const MusicInput& music) {
  MPJudgeOutput out = members.front()->forward(painting, music);
  if (members.size() == 1) return out;
  for (size_t k = 1; k < members.size(); ++k) {
    MPJudgeOutput o = members[k]->forward(painting, music);
    out.score = out.score + o.score;
    for (size_t i = 0; i < out.maps.size(); ++i) out.maps[i] = out.maps[i] + o.maps[i];
  }
  const double n = double(members.size());
  out.score = out.score / n;
  for (auto& m : out.maps) m = m / n;
  out.music_va = out.painting_va = torch::Tensor();  // a member's own; not an ensemble output
  return out;
}

namespace {

const char* kEnsembleArch = "mpjudge-ensemble";

std::string member_prefix(size_t k) { return "member" + std::to_string(k) + "."; }

// Members must read the same inputs and give maps of the same layers.
void check_member(const MPJudgeConfig& first, const MPJudgeConfig& c, const std::string& what) {
  if (c.variant != first.variant || c.man_layers != first.man_layers ||
      c.painting_descriptor_dim != first.painting_descriptor_dim || c.n_mels != first.n_mels ||
      c.pitch_dim != first.pitch_dim || c.descriptor_dim != first.descriptor_dim)
    throw Error(ErrorKind::Model,
                what + ": expected a judge with the first member's variant, MAN layers and input sizes " +
                    first.to_json().dump() + ", found " + c.to_json().dump());
}

}  // namespace

MPJudgeEnsemble mpjudge_ensemble_from_checkpoint(const Checkpoint& ck, const std::string& path,
                                                 std::shared_ptr<const MobileNetV2> trunk) {
  MPJudgeEnsemble e;
  if (ck.arch != kEnsembleArch) {
    e.members.push_back(judge_net_from_checkpoint(ck, path, std::move(trunk)));
    return e;
  }
  const nlohmann::json members = ck.config.value("members", nlohmann::json::array());
  if (!members.is_array() || members.empty())
    throw Error(ErrorKind::Model,
                path + ": expected a non-empty \"members\" list in the ensemble's config, found " + ck.config.dump());
  for (size_t k = 0; k < members.size(); ++k) {
    Checkpoint one;
    one.arch = "mpjudge";
    one.config = members[k];
    const std::string prefix = member_prefix(k);
    for (const auto& [name, t] : ck.tensors)
      if (name.rfind(prefix, 0) == 0) one.tensors[name.substr(prefix.size())] = t;
    const std::string what = path + " member " + std::to_string(k);
    e.members.push_back(judge_net_from_checkpoint(one, what, trunk));
    if (k > 0) check_member(e.config(), e.members.back()->config, what);
  }
  size_t used = 0;
  for (const auto& m : e.members) used += m->named_parameters().size() + m->named_buffers().size();
  if (used != ck.tensors.size())
    throw Error(ErrorKind::Model, path + ": expected " + std::to_string(used) + " member tensors, found " +
                                      std::to_string(ck.tensors.size()));
  return e;
}

Checkpoint mpjudge_ensemble_checkpoint(const std::vector<Checkpoint>& members, const std::vector<std::string>& paths) {
  if (members.size() < 2)
    throw Error(ErrorKind::Usage,
                "ensemble: expected at least 2 member checkpoints, found " + std::to_string(members.size()));
  Checkpoint ck;
  ck.arch = kEnsembleArch;
  ck.config = {{"members", nlohmann::json::array()}};
  ck.meta["members"] = paths;
  const MPJudgeConfig first = MPJudgeConfig::from_json(members.front().config);
  for (size_t k = 0; k < members.size(); ++k) {
    const Checkpoint& m = members[k];
    if (m.arch != "mpjudge")
      throw Error(
          ErrorKind::Model,
          paths[k] + ": expected a checkpoint of architecture 'mpjudge' as an ensemble member, found '" + m.arch + "'");
    check_member(first, MPJudgeConfig::from_json(m.config), paths[k]);
    ck.config["members"].push_back(m.config);
    for (const auto& [name, t] : m.tensors) ck.tensors[member_prefix(k) + name] = t;
  }
  return ck;
}

}  // namespace mpjudge
