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
  std::string music_inputs = "all";  // a fresh man/late_fusion/embedding/emotion model: all | mel | descriptors
  // A fresh model's music descriptors (MPJudgeConfig::descriptor_version; 1 reproduces models before
  // 2026-12) and whether it reads the music-emotion estimator's valence/arousal (version 2 only).
  int descriptor_version = 2;
  bool music_emotion_input = false;
  bool v1_descriptors = false;  // version 2 only: also version 1's tempo, mode and key strength
  // With music_emotion_input: the estimate each train clip is given in training comes from this CSV
  // (`mpjudge emotion --write-cross-fit`: out-of-fold estimates), not from the estimator that was fitted
  // on those very clips. "" = the shipped estimator everywhere.
  std::string emotion_cross_fit;
  // Distillation (sft): the scores of this judge (any checkpoint; an ensemble usually), on the inputs `score`
  // gives it, become the regression targets: teacher_weight * teacher + (1 - teacher_weight) * the expert
  // score for the train pairs, and the teacher alone for distill_pairs more pairs of train media (music of
  // train pairs with paintings of train pairs, drawn by the seed; no val or test medium is ever read).
  std::string teacher;
  double teacher_weight = 1.0;
  int64_t distill_pairs = 0;
  // With distill_pairs: this many colour-shifted copies of each train painting (CIELAB lightness, chroma and
  // yellow-blue, drawn by the seed; written to RUN/distill_paintings/) join the paintings the drawn pairs
  // are drawn from, so the student learns how the teacher answers a change of colour.
  int64_t distill_colour_shifts = 0;
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
  std::string argv0;      // the executable, for --nproc
};

// Every field of TrainConfig that a user sets, listed once: `mpjudge train` makes its flags from this list
// (--NAME with '_' as '-'; bools are flags) and a run's config.json takes the fields marked `run` (checked
// on --resume). NAME is the JSON key. `v(field, member)` is called for each, in order.
struct TrainField {
  const char* name;
  const char* help;
  bool run = true;            // part of the run: written to config.json, must match on --resume
  bool required = false;      // a flag that must be given
  const char* env = nullptr;  // the flag falls back to this environment variable
};
template <class Config, class Visitor>
void visit_train_fields(Config& c, Visitor&& v) {
  // what
  v(TrainField{"stage", "sft | dpo"}, c.stage);
  v(TrainField{"data", "MPD dataset folder (with split.json)", true, true}, c.data);
  v(TrainField{"out", "Run folder (config.json, metrics.jsonl, curves, state.mpjc, model.mpjc)", false, true}, c.out);
  v(TrainField{"ref", "dpo: frozen reference checkpoint (the SFT model; also the starting point)"}, c.ref);
  v(TrainField{"init", "Start from this checkpoint instead of a fresh model"}, c.init);
  v(TrainField{"resume", "Continue the run in --out from its last checkpoint", false}, c.resume);
  v(TrainField{"man", "MAN placement of a fresh model: all (14x14 and 7x7 stages) | last (7x7 only)"}, c.man);
  v(TrainField{"variant",
               "Judge of a fresh model: man (MPJudge) | late_fusion | embedding | emotion (baselines) | paper_small "
               "(the authors' ViT-AdaIN from pixels; docs/evaluation.md); default man"},
    c.variant);
  v(TrainField{"va_weight",
               "sft, man: weight of an auxiliary music valence/arousal loss on media.csv labels (0 = off)"},
    c.va_weight);
  v(TrainField{"music_inputs",
               "Music encoder of a fresh model: all (log-mel CNN + pitch posteriors + descriptors) | mel (no "
               "basic-pitch) | descriptors"},
    c.music_inputs);
  v(TrainField{"descriptor_version",
               "Music descriptors of a fresh model: 2 (tempo/mode confidences; docs/descriptors.md) | 1 (as before "
               "2026-12)"},
    c.descriptor_version);
  v(TrainField{"music_emotion_input",
               "A fresh model also reads the music-emotion estimator's valence and arousal (descriptor version 2)"},
    c.music_emotion_input);
  v(TrainField{"v1_descriptors",
               "A fresh model also reads version 1's tempo, mode and key strength (descriptor version 2)"},
    c.v1_descriptors);
  v(TrainField{"emotion_cross_fit",
               "With --music-emotion-input: train clips get the valence/arousal of this CSV (`mpjudge emotion "
               "--write-cross-fit`: out-of-fold estimates), so the judge learns how far the estimate holds on music "
               "the estimator has not heard"},
    c.emotion_cross_fit);
  v(TrainField{"teacher",
               "sft: distil this judge (e.g. the shipped ensemble): its scores become the regression targets"},
    c.teacher);
  v(TrainField{"teacher_weight",
               "With --teacher: target = w * teacher + (1 - w) * expert score on the train pairs (0..1; default 1)"},
    c.teacher_weight);
  v(TrainField{"distill_pairs",
               "With --teacher: this many more pairs of train music and train paintings, scored by the teacher alone"},
    c.distill_pairs);
  v(TrainField{"distill_colour_shifts",
               "With --distill-pairs: this many colour-shifted copies of each train painting (CIELAB L* +-15, "
               "chroma x0.67..1.5, b* +-15, drawn by the seed) join the paintings the drawn pairs are drawn from"},
    c.distill_colour_shifts);
  // optimisation
  v(TrainField{"loss", "sft regression loss: l1 | mse"}, c.loss);
  v(TrainField{"rank_weight", "sft: weight of the in-batch pairwise ranking term"}, c.rank_weight);
  v(TrainField{"rank_margin", "sft: margin of the ranking term"}, c.rank_margin);
  v(TrainField{"lr", "Peak learning rate (AdamW); 0 = 1e-3 for sft, 3e-4 for paper_small, 2e-4 for dpo"}, c.lr);
  v(TrainField{"lr_min", "Final learning rate of the cosine schedule"}, c.lr_min);
  v(TrainField{"weight_decay", "AdamW decoupled weight decay"}, c.weight_decay);
  v(TrainField{"beta1", "AdamW beta1"}, c.beta1);
  v(TrainField{"beta2", "AdamW beta2"}, c.beta2);
  v(TrainField{"eps", "AdamW epsilon"}, c.eps);
  v(TrainField{"warmup", "Share of the steps with linear warm-up"}, c.warmup);
  v(TrainField{"clip", "Global gradient-norm clip (0 = off)"}, c.clip);
  v(TrainField{"epochs", "Passes over the train pairs (sft) or preferences (dpo); 0 = 4 for sft, 2 for dpo"}, c.epochs);
  v(TrainField{"steps", "Optimiser steps (overrides --epochs when > 0)"}, c.steps);
  v(TrainField{"batch", "Global batch size"}, c.batch);
  v(TrainField{"grad_shards",
               "The batch is computed as this many equal shards (summed in order); processes take shards round "
               "robin, so any process count that divides it gives the same arithmetic"},
    c.grad_shards);
  v(TrainField{"beta", "dpo: inverse temperature on score differences"}, c.beta);
  v(TrainField{"lambda", "dpo: weight of the regression term"}, c.lambda);
  v(TrainField{"crop_frames", "Log-mel frames per training clip"}, c.crop_frames);
  // bookkeeping
  v(TrainField{"ckpt_every", "Steps between checkpoints"}, c.ckpt_every);
  v(TrainField{"eval_every", "Steps between validations (0 = every epoch)"}, c.eval_every);
  v(TrainField{"seed", "Seed (initialisation and batch order)"}, c.seed);
  v(TrainField{"feature_threads", "Feature extraction workers (0 = cores)", false}, c.feature_threads);
  v(TrainField{"cache_dir", "Feature cache folder (default $MPJUDGE_CACHE or ~/.cache/mpjudge)", false}, c.cache_dir);
  v(TrainField{"quiet", "No progress bar", false}, c.quiet);
  // distributed: torch.distributed's launcher conventions, each flag falls back to the variable torchrun,
  // SLURM scripts and Kubernetes jobs set (docs/training.md)
  v(TrainField{"nproc", "Data-parallel processes on this machine", false}, c.nproc);
  v(TrainField{"rank", "This process's rank (multi-machine)", false, false, "RANK"}, c.rank);
  v(TrainField{"world_size", "Total processes over all machines", false, false, "WORLD_SIZE"}, c.world_size);
  v(TrainField{"master_addr", "Address of rank 0 (hosts the TCPStore)", false, false, "MASTER_ADDR"}, c.master_addr);
  v(TrainField{"master_port", "Port of rank 0's TCPStore", false, false, "MASTER_PORT"}, c.master_port);
  v(TrainField{"interface", "Network interface for Gloo (default: the one that routes to the master)", false, false,
               "GLOO_SOCKET_IFNAME"},
    c.interface);
  v(TrainField{"timeout", "Seconds to wait for the store, the other ranks and each collective before giving up", false},
    c.timeout_s);
  v(TrainField{"local_world_size", "Processes of this job on this machine (threads per process)", false, false,
               "LOCAL_WORLD_SIZE"},
    c.local_world);
}

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
