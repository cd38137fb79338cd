// Judge: the one interface to every judge the library holds (the default network in each variant, an
// ensemble of them, the paper's network). Load one from a checkpoint (or make a fresh one to train),
// prepare its inputs for media files, run a batched forward that gives scores and modulation maps. The
// Scorer, training and evaluation use it and never ask which architecture they hold.
//
//   std::unique_ptr<Judge> j = load_judge("models/default.mpjc");
//   InputSet in = prepare_inputs(*j, {"a.jpg", "b.jpg"}, {"song.ogg"}, FeatureOptions{}, 2);
//   MPJudgeOutput o = j->forward(stack_paintings(in.paintings), expand_music(in.music[0], 2));
//   // o.score [2]; o.maps[k] [2, H, W] for j->map_layers()[k]
#pragma once

#include <mpjudge/mpjudge.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/mpjudge_net.h"
#include "model/paper.h"
#include "model/torch_pch.h"

namespace mpjudge {

class Progress;

// Prepares one judge's inputs medium by medium (batch dimension 1; a file or data in memory), from the
// on-disk feature cache where the judge's inputs are cached. One per thread.
class InputPreparer {
 public:
  virtual ~InputPreparer() = default;
  virtual PaintingInput painting(const PaintingSource& src, bool* from_cache = nullptr) = 0;
  virtual MusicInput music(const MusicSource& src, bool* from_cache = nullptr) = 0;
};

class Judge {
 public:
  virtual ~Judge() = default;
  // "mpjudge", "mpjudge-<variant>" (a baseline), "mpjudge-ensemble" or "paper" (ScoreResult::arch).
  virtual std::string arch() const = 0;
  // The names of forward()'s maps, in order (none for the baselines without modulation).
  virtual std::vector<std::string> map_layers() const = 0;
  virtual std::unique_ptr<InputPreparer> preparer(const FeatureOptions& opt) const = 0;
  // The training crop of a prepared music input: its middle `frames` log-mel frames (the paper's
  // fixed-size mel image is returned as it is).
  virtual MusicInput crop(const MusicInput& music, int64_t frames) const = 0;
  // painting and music: stacked inputs of B files (music may be one file expanded, expand_music).
  // score [B] (the default network's lies in [0, 1]; the paper's is its raw head output); maps [B, H, W].
  virtual MPJudgeOutput forward(const PaintingInput& painting, const MusicInput& music) = 0;
  // Whether SFT fits the pair scores; the emotion baseline fits media.csv valence/arousal labels instead
  // (forward then gives music_va and painting_va).
  virtual bool learns_scores() const { return true; }
  // Training: the network as one torch module; Error(Model) for an ensemble (trained one member at a time).
  virtual torch::nn::Module& module() = 0;
  virtual void set_training(bool on) = 0;
  virtual Checkpoint checkpoint() = 0;  // what load_judge reads back
  virtual nlohmann::json config_json() const = 0;
};

// Any checkpoint of the library: arch "mpjudge", "mpjudge-ensemble" or "paper". In eval mode.
// Throws Error(Model) for another architecture or a bad config/tensor set (naming `path`).
std::unique_ptr<Judge> load_judge(const Checkpoint& ck, const std::string& path);
std::unique_ptr<Judge> load_judge(const std::string& path);
// Fresh judges to train, initialised from the current torch seed.
std::unique_ptr<Judge> new_judge(const MPJudgeConfig& config);
std::unique_ptr<Judge> new_paper_judge(const PaperConfig& config);

// The inputs of many files at once, over `workers` threads with one preparer each (torch's intra-op
// threads are set to 1 meanwhile). Ticks `bar` once per file when given.
struct InputSet {
  std::vector<PaintingInput> paintings;  // per painting, batch dimension 1
  std::vector<MusicInput> music;         // per music file, batch dimension 1
};
InputSet prepare_inputs(const Judge& judge, const std::vector<std::string>& paintings,
                        const std::vector<std::string>& musics, const FeatureOptions& opt, int workers,
                        Progress* bar = nullptr);

}  // namespace mpjudge
