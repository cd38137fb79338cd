// The public feature API (mpjudge.h: painting_features, music_features, sha256_hex): decode, run the
// pretrained encoder, summarise, and cache by content hash. Encoders load once per process.
#include <openssl/evp.h>

#include <mpjudge/mpjudge.h>

#include "audio/decode_bytes.h"
#include "common/error.h"
#include "common/files.h"
#include "common/trace.h"
#include "image/decode_bytes.h"
#include "model/encoders.h"
#include "model/feature_cache.h"
#include "model/runtime.h"

namespace mpjudge {
namespace {

// Bump the /pN suffix whenever preprocessing or pooling changes: cached entries then miss.
constexpr const char* kPaintingEncoder = "nsfwjs-mobilenet_v2@4.4.0/p1";
constexpr const char* kMusicEncoder = "basic-pitch@1.0.1/p1";

const MobileNetV2& mobilenet() { return *shared_mobilenet(); }
const BasicPitch& basic_pitch() { return *shared_basic_pitch(); }

std::vector<float> to_vector(const at::Tensor& t) {
  at::Tensor c = t.to(torch::kFloat32).contiguous().reshape({-1});
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::string cache_key(const std::string& sha, const std::string& encoder) { return sha + "-" + encoder; }

}  // namespace

std::shared_ptr<const MobileNetV2> shared_mobilenet() {
  static const std::shared_ptr<const MobileNetV2> net = [] {  // thread-safe one-time load
    trace::Scope t("weights: MobileNetV2 (nsfwjs)");
    return std::make_shared<const MobileNetV2>();
  }();
  return net;
}

std::shared_ptr<const BasicPitch> shared_basic_pitch() {
  static const std::shared_ptr<const BasicPitch> net = [] {
    trace::Scope t("weights: basic-pitch");
    return std::make_shared<const BasicPitch>();
  }();
  return net;
}

at::Tensor pool_pitch(const BasicPitch::Output& o) {
  // Per key: mean and max of the note and onset posteriors, and the contour folded to semitones.
  at::Tensor contour88 = o.contour.mean(0).reshape({88, 3}).mean(1);
  return torch::cat(
      {o.note.mean(0), std::get<0>(o.note.max(0)), o.onset.mean(0), std::get<0>(o.onset.max(0)), contour88});
}

std::string sha256_hex(const uint8_t* data, size_t size) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data, size, md, &len, EVP_sha256(), nullptr) != 1) fail_internal("OpenSSL SHA-256 failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += hex[md[i] >> 4], out += hex[md[i] & 15];
  return out;
}

PaintingFeatures painting_features(const std::string& path, const FeatureOptions& opt) {
  set_threads(opt.threads);
  MappedFile file(path, 1ULL << 30);
  PaintingFeatures out;
  out.encoder = kPaintingEncoder;
  out.sha256 = sha256_hex(file.data(), file.size());
  out.class_names = MobileNetV2::class_names();
  FeatureCache cache(opt.cache_dir);
  const std::string key = cache_key(out.sha256, out.encoder);
  if (opt.use_cache) {
    if (auto hit = cache.get(key, {"pooled", "probs"})) {
      out.pooled = to_vector(hit->at("pooled"));
      out.class_probs = to_vector(hit->at("probs"));
      if (out.pooled.size() == size_t(MobileNetV2::kFeatureDim) && out.class_probs.size() == 5) {
        out.from_cache = true;
        return out;
      }
    }
  }
  RgbImage img = decode_image_bytes(file.data(), file.size(), path, ImageConfig{});
  torch::NoGradGuard no_grad;
  MobileNetV2::Output o = mobilenet().forward(MobileNetV2::input_from(img), false);
  out.pooled = to_vector(o.pooled[0]);
  out.class_probs = to_vector(o.probs[0]);
  if (opt.use_cache) cache.put(key, {{"pooled", o.pooled[0]}, {"probs", o.probs[0]}});
  return out;
}

MusicFeatures music_features(const std::string& path, const FeatureOptions& opt) {
  set_threads(opt.threads);
  MappedFile file(path, 1ULL << 31);
  MusicFeatures out;
  out.encoder = kMusicEncoder;
  out.sha256 = sha256_hex(file.data(), file.size());
  FeatureCache cache(opt.cache_dir);
  const std::string key = cache_key(out.sha256, out.encoder);
  if (opt.use_cache) {
    if (auto hit = cache.get(key, {"pooled", "note_activity", "meta"})) {
      out.pooled = to_vector(hit->at("pooled"));
      out.note_activity = to_vector(hit->at("note_activity"));
      std::vector<float> meta = to_vector(hit->at("meta"));
      if (out.note_activity.size() == 88 && meta.size() == 2) {
        out.duration_s = meta[0];
        out.frames = int(meta[1]);
        out.from_cache = true;
        return out;
      }
    }
  }
  AudioConfig ac;
  ac.sample_rate = BasicPitch::kSampleRate;
  Pcm pcm = decode_audio_bytes(file.data(), file.size(), path, ac);
  out.duration_s = pcm.duration_s();
  torch::NoGradGuard no_grad;
  BasicPitch::Output o = basic_pitch().run(pcm.samples.data(), pcm.samples.size());
  out.frames = int(o.note.size(0));
  if (out.frames == 0)
    throw Error(ErrorKind::Input, path + ": expected at least one basic-pitch frame (~12 ms of audio), found " +
                                      std::to_string(out.duration_s) + " s");
  at::Tensor pooled = pool_pitch(o);  // 5 x 88 = 440 values
  out.pooled = to_vector(pooled);
  out.note_activity = to_vector(o.note.mean(0));
  if (opt.use_cache)
    cache.put(key, {{"pooled", pooled},
                    {"note_activity", o.note.mean(0)},
                    {"meta", torch::tensor({float(out.duration_s), float(out.frames)})}});
  return out;
}

}  // namespace mpjudge
