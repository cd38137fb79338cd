// The pretrained encoders, ported from their tfjs packages: the nsfwjs MobileNetV2 painting trunk and
// (encoders_pitch.h) Spotify's basic-pitch. They load weights from the folder scripts/setup.sh fills
// (deps/node_modules) or any folder given; they never open media files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <mpjudge/mpjudge.h>

#include "model/keras_graph.h"

namespace mpjudge {

class TfGraph;

// Where the pinned npm packages live: $MPJUDGE_WEIGHTS, else <library dir>/../deps/node_modules (or
// two folders up: the tests, the Python module), else
// ./deps/node_modules. Throws Error(Model) with a hint when none exists.
std::string weights_root();

// nsfwjs 4.4.0's MobileNetV2 (Keras, alpha 1.0, ImageNet-initialised, fine-tuned on 5 classes).
// Input: [N, 3, 224, 224] RGB in [0, 1] (nsfwjs divides by 255; no mean subtraction).
class MobileNetV2 {
 public:
  static constexpr int kSize = 224;
  static constexpr int kFeatureDim = 1280;
  // The end of each resolution stage: 112x112x16, 56x56x24, 28x28x32, 14x14x96, 7x7x320, 7x7x1280.
  static const std::vector<std::string>& stage_layers();
  static const std::vector<std::string>& class_names();  // Drawing, Hentai, Neutral, Porn, Sexy

  explicit MobileNetV2(const std::string& model_dir = "");

  // nsfwjs's preprocessing: the whole image resized to 224x224 (no crop), RGB / 255, as [1, 3, 224, 224].
  static at::Tensor input_from(const RgbImage& img);  // "" = weights_root()/nsfwjs/.../mobilenet_v2

  struct Output {
    std::vector<at::Tensor> stages;  // NCHW maps at stage_layers()
    at::Tensor pooled;               // [N, 1280]: mean of the final 7x7x1280 map
    at::Tensor probs;                // [N, 5]
  };
  Output forward(const at::Tensor& x, bool want_stages = true) const;
  // Resume from a stage's map (e.g. cached, or modulated by MAN) to the pooled feature and the classes.
  Output forward_from(const std::string& stage_layer, const at::Tensor& map) const;
  const KerasGraph& graph() const { return *graph_; }

 private:
  std::unique_ptr<KerasGraph> graph_;
};

// Spotify basic-pitch 1.0.1 (tfjs graph model: CQT with constant filter banks, harmonic stacking, a
// small CNN). Input: mono 22.05 kHz PCM of any length, cut into windows of 43844 samples exactly as
// the package's BasicPitch.evaluateModel does (3840 leading zeros, hop 36164, 15 frames trimmed at
// each window edge). Output: ~86 frames per second of note/onset posteriors over the 88 piano keys
// (MIDI 21..108) and contour posteriors over 264 bins (3 per semitone).
class BasicPitch {
 public:
  static constexpr int kSampleRate = 22050;
  static constexpr int kWindow = 43844;
  static constexpr int kFftHop = 256;
  static constexpr int kOverlapFrames = 30;
  static constexpr int kHop = kWindow - kOverlapFrames * kFftHop;
  static constexpr int kFps = kSampleRate / kFftHop;  // 86, as the package computes it
  static constexpr int kLowestMidi = 21;

  explicit BasicPitch(const std::string& model_dir = "");  // "" = weights_root()/@spotify/basic-pitch/model
  ~BasicPitch();

  struct Output {
    at::Tensor note;     // [T, 88]
    at::Tensor onset;    // [T, 88]
    at::Tensor contour;  // [T, 264]
  };
  // One batch of windows: [N, 43844] -> per-window [N, 172, 88/88/264].
  Output run_windows(const at::Tensor& windows) const;
  // A whole clip, windowed and stitched; T = floor(n * 86 / 22050). `batch` windows per forward.
  Output run(const float* pcm, size_t n, int batch = 8) const;

 private:
  std::unique_ptr<TfGraph> graph_;
};

// Process-wide encoders, loaded on first use (thread-safe), shared by the feature API and the Scorer.
std::shared_ptr<const MobileNetV2> shared_mobilenet();
std::shared_ptr<const BasicPitch> shared_basic_pitch();
// basic-pitch posteriors pooled over time: per key the mean and max of note and onset, and the mean
// contour folded to semitones: [440].
at::Tensor pool_pitch(const BasicPitch::Output& o);

}  // namespace mpjudge
