// Training: regression on scores (SFT), then Direct Preference Optimization (DPO) against a frozen
// reference, on an MPD dataset. Deterministic by seed; resumable to bit-identical weights; data
// parallel over c10d ProcessGroupGloo. Torch-free header: the CLI includes it.
#pragma once

#include <mpjudge/mpjudge.h>

#include <cstdint>
#include <string>

#include "model/variant.h"

namespace mpjudge {

struct TrainConfig {
  // what
  std::string data;           // MPD dataset folder
  std::string out;            // run folder
  std::string stage = "sft";  // "sft" | "dpo"
  std::string ref;            // dpo: the frozen reference checkpoint (also the starting point unless init)
  std::string init;           // start from this checkpoint instead of a fresh model
  bool resume = false;        // continue the run in `out` from its last checkpoint
  std::string man = "all";    // MAN placement for a fresh model: "all" (block_12_add + block_16_project_BN) | "last"
  // The judge of a fresh model (model/variant.h): man (MPJudge), a baseline (late_fusion, embedding,
  // emotion: trained on media.csv valence/arousal instead of the scores) or paper_small.
  Variant variant = Variant::Man;
  // man, sft: weight of an auxiliary loss that teaches the music embedding the media.csv valence/arousal
  // (a head that only training uses); 0 = off.
  double va_weight = 0.0;
  std::string music_inputs = "all";  // a fresh man/late_fusion/embedding/emotion model: all | descriptors
  // A fresh model's music descriptors (MPJudgeConfig::descriptor_version; 1 reproduces models before
  // 2026-12) and whether it reads the music-emotion estimator's valence/arousal (version 2 only).
  int descriptor_version = 2;
  bool music_emotion_input = false;
  bool v1_descriptors = false;  // version 2 only: also version 1's tempo, mode and key strength
  // optimisation
  std::string loss = "l1";   // sft regression loss: "l1" | "mse"
  double rank_weight = 0.0;  // sft: weight of a pairwise margin-ranking term within each batch
  double rank_margin = 0.05;
  double lr = 0;  // peak learning rate; 0 = 1e-3 for sft, 2e-4 for dpo (a fine-tuning of the sft model)
  double lr_min = 1e-5, weight_decay = 0.05, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double warmup = 0.05;       // share of the steps with a linear warm-up
  double clip = 1.0;          // global gradient-norm clip (0 = off)
  int64_t epochs = 0;         // passes over the train pairs (sft) or preferences (dpo); 0 = 4 for sft, 2 for dpo
  int64_t steps = 0;          // overrides epochs when > 0
  int64_t batch = 64;         // global batch
  int grad_shards = 2;        // the batch is computed as this many shards, summed in order; processes share them
  double beta = 20.0;         // dpo: inverse temperature on score differences (scores are in [0, 1])
  double lambda = 1.0;        // dpo: weight of the regression term that keeps scores calibrated
  int64_t crop_frames = 862;  // log-mel frames per training clip (20 s at hop 512); shorter clips loop
  // bookkeeping
  int64_t ckpt_every = 200;  // steps between checkpoints (and always at the end)
  int64_t eval_every = 0;    // steps between validations; 0 = once per epoch
  uint64_t seed = 1;
  int threads = 0;          // torch intra-op threads per process; 0 = cores / processes
  int feature_threads = 0;  // feature extraction workers; 0 = cores
  bool quiet = false;
  std::string cache_dir;  // feature cache ("" = default)
  // distributed (c10d Gloo over a TCPStore)
  int nproc = 1;  // local processes to launch (rank 0 launches the others)
  int rank = 0, world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29517;
  int timeout_s = 600;    // joining, each collective, and waiting for the other ranks' features (+ 2x rank 0's)
  std::string interface;  // Gloo's network interface; "" = the one that routes to master_addr
  int local_world = 0;    // processes of this job on this machine, for the thread count (0 = nproc, or 1)
  std::string argv0;  // the executable, for --nproc
};

struct TrainResult {
  std::string model;  // RUN/model.mpjc
  int64_t steps = 0;
  double seconds = 0;
  double val_srcc = 0, val_pref_acc = 0;  // at the end
  double feature_seconds = 0;
};

// Throws Error(Usage) for a bad configuration, Error(Input) for a bad dataset, Error(Model) for a bad
// checkpoint. With nproc > 1, launches the other ranks as child processes of this executable.
TrainResult train(const TrainConfig& cfg);

}  // namespace mpjudge
