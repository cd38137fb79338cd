// The Scorer facade (mpjudge.h): loads a checkpoint, prepares cached painting trunk maps and music
// inputs, and runs the network. File access and caching live here; the network sees only tensors.
#include <mpjudge/mpjudge.h>

#include <algorithm>

#include "audio/audio_internal.h"
#include "common/error.h"
#include "common/files.h"
#include "image/image_internal.h"
#include "model/feature_cache.h"
#include "model/mpjudge_net.h"
#include "model/runtime.h"
#include "model/tensors.h"

namespace mpjudge {

namespace {
constexpr double kClipSeconds = 30.0;  // the music clip the network hears: the middle 30 s
constexpr int kBatch = 16;
}  // namespace

struct Scorer::Impl {
  std::string path;
  FeatureOptions opt;
  FeatureCache cache;
  MPJudgeNet net{nullptr};

  Impl(const std::string& p, const FeatureOptions& o) : path(p), opt(o), cache(o.cache_dir) {
    set_threads(o.threads);
    net = mpjudge_from_checkpoint(load_checkpoint(path), path, shared_mobilenet());
    net->eval();
  }

  // [C, H, W] trunk map of a painting, cached by content.
  torch::Tensor trunk(const std::string& painting, bool* from_cache) {
    MappedFile f(painting, 1ULL << 30);
    const std::string key =
        sha256_hex(f.data(), f.size()) + "-trunk-" + net->config.trunk_layer() + "-nsfwjs-mobilenet_v2@4.4.0-p1";
    if (opt.use_cache)
      if (auto hit = cache.get(key, {"map"})) {
        *from_cache = true;
        return hit->at("map");
      }
    *from_cache = false;
    RgbImage img = decode_image_bytes(f.data(), f.size(), painting, ImageConfig{});
    torch::Tensor map = net->trunk_map(MobileNetV2::input_from(img))[0];
    if (opt.use_cache) cache.put(key, {{"map", map}});
    return map;
  }

  // The music side for one file, cached by content: mel [n_mels, T], pitch [440], descriptors [10].
  MusicInput music(const std::string& file, bool* from_cache) {
    MappedFile f(file, 1ULL << 31);
    const std::string key = sha256_hex(f.data(), f.size()) + "-mpjudge-music-input-p1";
    auto pack = [](torch::Tensor mel, torch::Tensor pitch, torch::Tensor desc) {
      return MusicInput{mel.unsqueeze(0), pitch.unsqueeze(0), desc.unsqueeze(0)};
    };
    if (opt.use_cache)
      if (auto hit = cache.get(key, {"mel", "pitch", "descriptors"})) {
        *from_cache = true;
        return pack(hit->at("mel"), hit->at("pitch"), hit->at("descriptors"));
      }
    *from_cache = false;
    AudioConfig ac;
    ac.sample_rate = BasicPitch::kSampleRate;
    Pcm whole = decode_audio_bytes(f.data(), f.size(), file, ac);
    Pcm clip = whole.duration_s() > kClipSeconds
                   ? cut(whole, window_starts(whole.duration_s(), kClipSeconds, 1)[0], kClipSeconds)
                   : whole;
    MusicDescriptors d = describe_pcm(clip, file);  // refuses silence and < 1 s
    MelConfig mc;
    mc.n_mels = int(net->config.n_mels);
    torch::Tensor mel = to_tensor(mel_spectrogram(clip, mc))[0];
    torch::Tensor pitch = pool_pitch(shared_basic_pitch()->run(clip.samples.data(), clip.samples.size()));
    std::vector<float> dv = music_descriptor_vector(d);
    torch::Tensor desc = torch::tensor(dv);
    if (opt.use_cache) cache.put(key, {{"mel", mel}, {"pitch", pitch}, {"descriptors", desc}});
    return pack(mel, pitch, desc);
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
  torch::Tensor map = impl_->trunk(painting, &r.painting_from_cache);
  MPJudgeOutput o = impl_->net->forward(map.unsqueeze(0), mi);
  r.score = o.score[0].item<double>();
  r.model = impl_->path;
  r.arch = "mpjudge";
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
    std::vector<torch::Tensor> maps;
    for (size_t i = b0; i < b1; ++i) maps.push_back(impl_->trunk(paintings[i], &cached));
    const int64_t n = int64_t(b1 - b0);
    MusicInput batch{mi.mel.expand({n, -1, -1}), mi.pitch.expand({n, -1}), mi.descriptors.expand({n, -1})};
    torch::Tensor s = impl_->net->forward(torch::stack(maps), batch).score;
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
      if (p.key().rfind("man.", 0) == 0 &&
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
