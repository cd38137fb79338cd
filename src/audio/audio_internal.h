// Internals of the audio front-end shared with the model layer and tests; not public API.
#pragma once

#include <mpjudge/mpjudge.h>

namespace mpjudge {

// decode_audio over bytes the caller owns (a file read by MappedFile, an upload buffer): no copy.
Pcm decode_audio_bytes(const uint8_t* data, size_t size, const std::string& name, const AudioConfig& cfg);

// describe_pcm that also returns the music-emotion estimator's input vector (version 2; empty for 1).
MusicDescriptors describe_pcm_features(const Pcm& pcm, const std::string& name, DescriptorVersion version,
                                       std::vector<double>* features);
const std::vector<std::string>& music_emotion_feature_names();

// The music-emotion estimator (music_emotion.cpp): a linear read-out of the features, fitted by
// `mpjudge emotion --write-weights` on listeners' labels; clamped to -1..1.
struct MusicEmotion {
  double valence = 0, arousal = 0;
  std::string model;  // its version; "none" when the build carries no fitted weights
};
MusicEmotion estimate_music_emotion(const std::vector<double>& features);

// The estimator's weights as a C++ include (src/audio/music_emotion_weights.inc).
struct LinearEmotionModel {
  std::string version;
  std::vector<double> mean, scale, w_valence, w_arousal;
  double b_valence = 0, b_arousal = 0;
};
const LinearEmotionModel& shipped_emotion_model();
std::string emotion_model_inc(const LinearEmotionModel& m, const std::string& provenance);

}  // namespace mpjudge
