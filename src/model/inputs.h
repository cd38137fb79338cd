// What the default network reads, computed from media (files, or data in memory) and cached on disk by
// content: a
// painting's PaintingInput (trunk map: MobileNetV2 up to the first MAN point; descriptors) and a music
// clip's MusicInput (log-mel, pooled basic-pitch posteriors, descriptors of the middle 30 s). The
// preparer of every default-architecture judge (judge.h), so the Scorer, training and evaluation see
// exactly the same inputs. Not thread-safe: one per thread.
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>
#include <vector>

#include "model/feature_cache.h"
#include "model/judge.h"
#include "model/mpjudge_net.h"

namespace mpjudge {

class ModelInputs : public InputPreparer {
 public:
  static constexpr double kClipSeconds = 30.0;  // the music clip the network hears: the middle 30 s
  ModelInputs(const FeatureOptions& opt, const MPJudgeConfig& config);
  // map [1, C, H, W] (output of config.trunk_layer()) and descriptors [1, 11] (when the config has them).
  PaintingInput painting(const PaintingSource& src, bool* from_cache = nullptr) override;
  // mel [1, n_mels, T], pitch [1, 440], descriptors [1, 10] for a music clip.
  MusicInput music(const MusicSource& src, bool* from_cache = nullptr) override;

 private:
  FeatureOptions opt_;
  MPJudgeConfig config_;
  FeatureCache cache_;
};

// The middle `frames` frames of a log-mel [.., T], or the clip looped until it fills them.
torch::Tensor fit_frames(const torch::Tensor& mel, int64_t frames);

}  // namespace mpjudge
