// The music-emotion study behind `mpjudge emotion`: the estimator of valence/arousal from audio
// (music_emotion.cpp) fitted by ridge regression on the listeners' labels of an MPD dataset (Emotify's
// GEMS-derived listener emotions, vgmidi's annotated valence/arousal), evaluated by cross-validation grouped
// by excerpt (a vgmidi piece's Happy/Sad variations and numbered phrases are one group), side by side with the
// reference panel's formula estimate and a linear read-out of a judge's music encoder.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace mpjudge {

struct EmotionStudyOptions {
  std::string data;           // MPD dataset with media.csv (and split.json for the final fit's train clips)
  std::string model;          // judge whose music encoder is read out ("" = none)
  std::string write_weights;  // write the estimator fitted on the train split's clips here (a .inc)
  // Write out-of-fold estimates of the clips the estimator is fitted on (and of the unlabelled train clips of
  // their excerpt groups) to this CSV (music,valence,arousal,fold): `train --emotion-cross-fit` reads them.
  std::string write_cross_fit;
  std::string cache_dir;
  int folds = 5;
  uint64_t seed = 1;
  int threads = 2;
  bool quiet = false;  // no progress bars
  bool tables = true;  // print the markdown tables to stdout
};

// Prints the tables (markdown) to stdout; returns them as JSON.
nlohmann::json music_emotion_study(const EmotionStudyOptions& opt);

}  // namespace mpjudge
