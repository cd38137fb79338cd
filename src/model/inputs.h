// What the default network reads, computed from media files and cached on disk by content: a
// painting's PaintingInput (trunk map: MobileNetV2 up to the first MAN point; descriptors) and a music
// clip's MusicInput (log-mel,
// pooled basic-pitch posteriors, descriptors of the middle 30 s). Shared by the Scorer, training and
// evaluation, so all three see exactly the same inputs. Not thread-safe: one per thread.
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>
#include <vector>

#include "model/feature_cache.h"
#include "model/mpjudge_net.h"

namespace mpjudge {

class ModelInputs {
 public:
  static constexpr double kClipSeconds = 30.0;  // the music clip the network hears: the middle 30 s
  ModelInputs(const FeatureOptions& opt, const MPJudgeConfig& config);
  // map [1, C, H, W] (output of config.trunk_layer()) and descriptors [1, 11] (when the config has them).
  PaintingInput painting(const std::string& file, bool* from_cache = nullptr);
  // mel [1, n_mels, T], pitch [1, 440], descriptors [1, 10] for a music file.
  MusicInput music(const std::string& file, bool* from_cache = nullptr);

 private:
  FeatureOptions opt_;
  MPJudgeConfig config_;
  FeatureCache cache_;
};

// The middle `frames` frames of a log-mel [.., T], or the clip looped until it fills them.
torch::Tensor fit_frames(const torch::Tensor& mel, int64_t frames);

class Progress;

// The inputs of many files at once, over `workers` threads with one ModelInputs each (torch's intra-op
// threads are set to 1 meanwhile). Ticks `bar` once per file when given.
struct InputSet {
  std::vector<PaintingInput> paintings;  // per painting, batch dimension 1
  std::vector<MusicInput> music;    // per music file, batch dimension 1
};
InputSet load_inputs(const std::vector<std::string>& paintings, const std::vector<std::string>& musics,
                     const FeatureOptions& opt, const MPJudgeConfig& config, int workers, Progress* bar = nullptr);

}  // namespace mpjudge
