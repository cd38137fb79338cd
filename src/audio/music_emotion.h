// The music-emotion estimator (music_emotion.cpp): its input features (from the version-2 descriptors),
// a linear read-out fitted by `mpjudge emotion --write-weights` on listeners' labels, and the weights as a
// C++ include (src/audio/music_emotion_weights.inc).
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>
#include <vector>

namespace mpjudge {

// describe_pcm that also returns the estimator's input vector (version 2; empty for 1).
MusicDescriptors describe_pcm_features(const Pcm& pcm, const std::string& name, DescriptorVersion version,
                                       std::vector<double>* features);
const std::vector<std::string>& music_emotion_feature_names();

// Valence and arousal clamped to -1..1.
struct MusicEmotion {
  double valence = 0, arousal = 0;
  std::string model;  // its version; "none" when the build carries no fitted weights
};
MusicEmotion estimate_music_emotion(const std::vector<double>& features);

struct LinearEmotionModel {
  std::string version;
  std::vector<double> mean, scale, w_valence, w_arousal;
  double b_valence = 0, b_arousal = 0;
};
const LinearEmotionModel& shipped_emotion_model();
std::string emotion_model_inc(const LinearEmotionModel& m, const std::string& provenance);

}  // namespace mpjudge
