// Pretrained encoders on the KerasGraph runner (see encoders.h).
#include "model/encoders.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "common/error.h"
#include "common/files.h"
#include "model/tensors.h"
#include "model/tf_graph.h"

namespace mpjudge {
namespace {}  // namespace

std::string weights_root() {
  if (const char* env = getenv("MPJUDGE_WEIGHTS")) {
    if (is_dir(env)) return env;
    throw Error(ErrorKind::Model,
                std::string(env) + ": expected the pretrained-weights folder (MPJUDGE_WEIGHTS), found no such folder");
  }
  for (const std::string& cand : {library_dir() + "/../deps/node_modules", library_dir() + "/../../deps/node_modules",
                                  std::string("deps/node_modules")})
    if (is_dir(cand + "/nsfwjs")) return cand;
  throw Error(ErrorKind::Model,
              "pretrained weights: expected deps/node_modules with nsfwjs and @spotify/basic-pitch, found none",
              "run scripts/setup.sh, or set MPJUDGE_WEIGHTS to a node_modules folder holding them");
}

const std::vector<std::string>& MobileNetV2::stage_layers() {
  static const std::vector<std::string> s{"expanded_conv_project_BN", "block_2_add", "block_5_add", "block_12_add",
                                          "block_16_project_BN",      "out_relu"};
  return s;
}

const std::vector<std::string>& MobileNetV2::class_names() {
  static const std::vector<std::string> c{"Drawing", "Hentai", "Neutral", "Porn", "Sexy"};
  return c;
}

MobileNetV2::MobileNetV2(const std::string& model_dir) {
  std::string dir = model_dir.empty() ? weights_root() + "/nsfwjs/dist/models/mobilenet_v2" : model_dir;
  graph_ = std::make_unique<KerasGraph>(tfjs::load_wrapped_layers_model(dir));
  for (const auto& l : stage_layers())
    if (!graph_->has_layer(l))
      throw Error(ErrorKind::Model, dir + ": expected nsfwjs MobileNetV2, found no layer " + l);
}

at::Tensor MobileNetV2::input_from(const RgbImage& img) {
  const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
  if (img.width == kSize && img.height == kSize) return to_tensor(normalise(img, zero, one));
  return to_tensor(normalise(resize_image(img, kSize, kSize, ResizePolicy::Stretch), zero, one));
}

MobileNetV2::Output MobileNetV2::forward(const at::Tensor& x, bool want_stages) const {
  if (x.dim() != 4 || x.size(1) != 3) throw Error(ErrorKind::Usage, "MobileNetV2 input must be [N, 3, H, W]");
  std::vector<std::string> outs{"out_relu", "dense_3"};
  if (want_stages) outs.insert(outs.begin(), stage_layers().begin(), stage_layers().end() - 1);
  auto r = graph_->run(x, outs);
  Output o;
  if (want_stages)
    for (const auto& l : stage_layers()) o.stages.push_back(r.at(l));
  o.pooled = r.at("out_relu").mean({2, 3});
  o.probs = r.at("dense_3");
  return o;
}

MobileNetV2::Output MobileNetV2::forward_from(const std::string& stage_layer, const at::Tensor& map) const {
  auto r = graph_->run(at::Tensor(), {"out_relu", "dense_3"}, {{stage_layer, map}});
  Output o;
  o.pooled = r.at("out_relu").mean({2, 3});
  o.probs = r.at("dense_3");
  return o;
}

BasicPitch::BasicPitch(const std::string& model_dir) {
  std::string dir = model_dir.empty() ? weights_root() + "/@spotify/basic-pitch/model" : model_dir;
  graph_ = std::make_unique<TfGraph>(tfjs::load_model_json(dir));
}

BasicPitch::~BasicPitch() = default;

BasicPitch::Output BasicPitch::run_windows(const at::Tensor& windows) const {
  if (windows.dim() != 2 || windows.size(1) != kWindow)
    throw Error(ErrorKind::Usage, "basic-pitch windows must be [N, " + std::to_string(kWindow) + "]");
  auto r = graph_->run({{"input_2", windows.unsqueeze(-1).contiguous()}}, {"Identity", "Identity_1", "Identity_2"});
  return Output{r.at("Identity_1"), r.at("Identity_2"), r.at("Identity")};
}

BasicPitch::Output BasicPitch::run(const float* pcm, size_t n, int batch) const {
  // tf.signal.frame(padEnd=true) over [3840 zeros, audio]: windows start every kHop while the start
  // lies inside the padded signal; the tail is zero-padded.
  const int64_t lead = kOverlapFrames * kFftHop / 2;
  const int64_t total = lead + int64_t(n);
  std::vector<int64_t> starts;
  for (int64_t s = 0; s < total; s += kHop) starts.push_back(s);
  const int64_t n_out = int64_t(double(n) * (double(kFps) / kSampleRate));
  std::vector<at::Tensor> notes, onsets, contours;
  int64_t have = 0;
  for (size_t b0 = 0; b0 < starts.size() && have < n_out; b0 += size_t(batch)) {
    size_t b1 = std::min(starts.size(), b0 + size_t(batch));
    at::Tensor w = torch::zeros({int64_t(b1 - b0), kWindow});
    float* wp = w.data_ptr<float>();
    for (size_t k = b0; k < b1; ++k)
      for (int64_t i = 0; i < kWindow; ++i) {
        int64_t src = starts[k] + i - lead;
        if (src >= 0 && src < int64_t(n)) wp[int64_t(k - b0) * kWindow + i] = pcm[src];
      }
    Output o = run_windows(w);
    const int64_t keep = o.note.size(1) - kOverlapFrames;  // 15 frames off each end
    for (int64_t k = 0; k < int64_t(b1 - b0) && have < n_out; ++k) {
      int64_t take = std::min(keep, n_out - have);
      notes.push_back(o.note[k].narrow(0, kOverlapFrames / 2, take));
      onsets.push_back(o.onset[k].narrow(0, kOverlapFrames / 2, take));
      contours.push_back(o.contour[k].narrow(0, kOverlapFrames / 2, take));
      have += take;
    }
  }
  if (notes.empty()) return Output{torch::zeros({0, 88}), torch::zeros({0, 88}), torch::zeros({0, 264})};
  return Output{torch::cat(notes), torch::cat(onsets), torch::cat(contours)};
}

}  // namespace mpjudge
