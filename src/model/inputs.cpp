// Model inputs from media files, cached by content (see inputs.h).
#include "model/inputs.h"

#include <memory>
#include <optional>

#include "audio/decode_bytes.h"
#include "audio/music_emotion.h"
#include "common/files.h"
#include "common/trace.h"
#include "image/decode_bytes.h"
#include "model/encoders.h"
#include "model/tensors.h"

namespace mpjudge {

ModelInputs::ModelInputs(const FeatureOptions& opt, const MPJudgeConfig& config)
    : opt_(opt), config_(config), cache_(opt.cache_dir) {}

namespace {

// The bytes a medium is known by: a file's content (mapped), or the in-memory data with its shape, so
// that equal arrays share a cache entry and an array never collides with a file.
class MediumBytes {
 public:
  MediumBytes(const std::string& path, uint64_t limit) : file_(std::in_place, path, limit) {
    sha_ = sha256_hex(file_->data(), file_->size());
  }
  MediumBytes(const std::string& tag, const void* data, size_t size) {
    std::string buf = tag;
    buf.append(static_cast<const char*>(data), size);
    sha_ = sha256_hex(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
  }
  const std::string& sha() const { return sha_; }
  const MappedFile& file() const { return *file_; }

 private:
  std::optional<MappedFile> file_;
  std::string sha_;
};

MediumBytes bytes_of(const PaintingSource& src) {
  if (!src.image) return MediumBytes(src.path, 1ULL << 30);
  check_rgb(*src.image, src.name, ImageConfig{});
  const std::string tag = "rgb8:" + std::to_string(src.image->width) + "x" + std::to_string(src.image->height) + ":";
  return MediumBytes(tag, src.image->data.data(), src.image->data.size());
}

MediumBytes bytes_of(const MusicSource& src) {
  if (!src.pcm) return MediumBytes(src.path, 1ULL << 31);
  const std::string tag = "pcm-f32:" + std::to_string(src.pcm->sample_rate) + ":";
  return MediumBytes(tag, src.pcm->samples.data(), src.pcm->samples.size() * sizeof(float));
}

}  // namespace

PaintingInput ModelInputs::painting(const PaintingSource& src, bool* from_cache) {
  std::optional<trace::Scope> stage(std::in_place, "painting: read + sha256");
  const MediumBytes bytes = bytes_of(src);
  stage.emplace("painting: cache read");
  const std::string& sha = bytes.sha();
  const std::string map_key = sha + "-trunk-" + config_.trunk_layer() + "-nsfwjs-mobilenet_v2@4.4.0-p1";
  const std::string desc_key = sha + "-painting-descriptors-p1";
  const bool want_desc = config_.painting_descriptor_dim > 0;
  PaintingInput out;
  if (opt_.use_cache) {
    if (auto hit = cache_.get(map_key, {"map"})) out.map = hit->at("map");
    if (want_desc)
      if (auto hit = cache_.get(desc_key, {"descriptors"})) out.descriptors = hit->at("descriptors");
  }
  if (from_cache) *from_cache = out.map.defined() && (!want_desc || out.descriptors.defined());
  stage.reset();
  if (!out.map.defined() || (want_desc && !out.descriptors.defined())) {
    torch::NoGradGuard no_grad;
    stage.emplace("painting: decode");
    const RgbImage img =
        src.image ? *src.image : decode_image_bytes(bytes.file().data(), bytes.file().size(), src.name, ImageConfig{});
    stage.reset();
    if (!out.map.defined()) {
      const auto& net = shared_mobilenet();
      trace::Scope t("painting: trunk to the first MAN point");
      // Contiguous (NCHW), as a cache entry reads back: the trunk runs channels-last, and the network's
      // reductions over the map sum in memory order, so a channels-last map scored 1 ulp apart from the same
      // map read from the cache (seen on an AVX-512 machine).
      out.map = net->graph()
                    .run(MobileNetV2::input_from(img), {config_.trunk_layer()})
                    .at(config_.trunk_layer())[0]
                    .contiguous();
      if (opt_.use_cache) {
        trace::Scope tw("painting: cache write");
        cache_.put(map_key, {{"map", out.map}});
      }
    }
    if (want_desc && !out.descriptors.defined()) {
      trace::Scope t("painting: descriptors");
      out.descriptors = torch::tensor(painting_descriptor_vector(describe_image(img)));
      if (opt_.use_cache) cache_.put(desc_key, {{"descriptors", out.descriptors}});
    }
  }
  out.map = out.map.unsqueeze(0);
  if (out.descriptors.defined()) out.descriptors = out.descriptors.unsqueeze(0);
  return out;
}

MusicInput ModelInputs::music(const MusicSource& src, bool* from_cache) {
  std::optional<trace::Scope> stage(std::in_place, "music: read + sha256");
  const MediumBytes bytes = bytes_of(src);
  stage.emplace("music: cache read");
  // Version 1 keeps its cache key, so caches made before descriptors version 2 still serve.
  // With the emotion input, the estimator's weights are part of the key: refitted weights miss.
  static const std::string emotion_weights = [] {
    const std::string inc = emotion_model_inc(shipped_emotion_model(), "");
    return sha256_hex(reinterpret_cast<const uint8_t*>(inc.data()), inc.size()).substr(0, 12);
  }();
  // The log-mel and pitch posteriors do not depend on the descriptors: another descriptor set's entry
  // (the version-1 one, whose key is the base) serves them.
  const std::string base = bytes.sha() + "-mpjudge-music-input-p1";
  const std::string key = base +
                          (config_.descriptor_version == 1 ? "" : "-d" + std::to_string(config_.descriptor_dim)) +
                          (config_.music_emotion_input ? "-va" + emotion_weights : "");
  // What the music encoder reads decides what is computed (basic-pitch is most of a new clip's time): a
  // descriptor-only encoder reads neither the log-mel nor the pitch posteriors, a "mel" one no pitch
  // posteriors. The key's entry (read once) serves what it holds; the rest is computed and the entry completed.
  const bool sound = config_.music_inputs != "descriptors", with_pitch = config_.music_inputs == "all";
  std::map<std::string, torch::Tensor> have;
  if (opt_.use_cache)
    if (auto hit = cache_.get(key)) have = std::move(*hit);
  auto cached = [&have](const char* name) {
    auto it = have.find(name);
    return it == have.end() ? torch::Tensor() : it->second;
  };
  torch::Tensor desc = cached("descriptors"), mel = sound ? cached("mel") : torch::Tensor(),
                pitch = with_pitch ? cached("pitch") : torch::Tensor();
  auto input = [&] {
    return MusicInput{sound ? mel.unsqueeze(0) : torch::Tensor(), with_pitch ? pitch.unsqueeze(0) : torch::Tensor(),
                      desc.unsqueeze(0)};
  };
  if (from_cache) *from_cache = false;
  if (desc.defined() && (!sound || mel.defined()) && (!with_pitch || pitch.defined())) {
    if (from_cache) *from_cache = true;
    return input();
  }
  stage.emplace("music: decode + resample");
  torch::NoGradGuard no_grad;
  AudioConfig ac;
  ac.sample_rate = BasicPitch::kSampleRate;
  // A file is decoded and resampled around its middle 30 s only (a 5-minute track costs 30 s of decoding);
  // on as many threads as torch has here (one inside a worker of Scorer::prepare).
  ac.middle_s = kClipSeconds;
  ac.threads = at::get_num_threads();
  Pcm clip = src.pcm ? conform_pcm(*src.pcm, src.name, ac)
                     : decode_audio_bytes(bytes.file().data(), bytes.file().size(), src.name, ac);
  if (clip.duration_s() > kClipSeconds)  // a PCM given in memory
    clip = cut(clip, window_starts(clip.duration_s(), kClipSeconds, 1)[0], kClipSeconds);
  if (!desc.defined()) {
    stage.emplace("music: descriptors (+ emotion estimate)");
    const MusicDescriptors d =
        describe_pcm(clip, src.name, DescriptorVersion(config_.descriptor_version));  // refuses silence, < 1 s
    desc = torch::tensor(music_descriptor_vector(d, config_));
  }
  stage.reset();
  if (sound && opt_.use_cache && key != base && (!mel.defined() || (with_pitch && !pitch.defined())))
    if (auto hit = cache_.get(base)) {
      if (!mel.defined() && hit->count("mel")) mel = hit->at("mel");
      if (with_pitch && !pitch.defined() && hit->count("pitch")) pitch = hit->at("pitch");
    }
  if (sound && !mel.defined()) {
    MelConfig mc;
    mc.n_mels = int(config_.n_mels);
    trace::Scope t("music: log-mel");
    mel = to_tensor(mel_spectrogram(clip, mc))[0];
  }
  if (with_pitch && !pitch.defined()) {
    const auto& bp = shared_basic_pitch();
    trace::Scope t("music: basic-pitch");
    pitch = pool_pitch(bp->run(clip.samples.data(), clip.samples.size()));
  }
  trace::Scope t("music: cache write");
  if (opt_.use_cache) {
    // What the entry held, completed: one without the log-mel or the pitch posteriors serves the judges that
    // do not read them, and a judge that does completes it.
    have["descriptors"] = desc;
    if (sound) have["mel"] = mel;
    if (with_pitch) have["pitch"] = pitch;
    cache_.put(key, have);
  }
  return input();
}

torch::Tensor fit_frames(const torch::Tensor& mel, int64_t frames) {
  if (!mel.defined()) return mel;  // a descriptor-only judge's input
  const int64_t t = mel.size(-1);
  if (t >= frames) return mel.narrow(-1, (t - frames) / 2, frames);
  const int64_t reps = (frames + t - 1) / t;
  std::vector<int64_t> rep(size_t(mel.dim()), 1);
  rep.back() = reps;
  return mel.repeat(rep).narrow(-1, 0, frames);
}

}  // namespace mpjudge
