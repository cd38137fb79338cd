// `mpjudge train` (see cmd_train.h and docs/training.md).
#include "cmd_train.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"

extern char** environ;

namespace mpjudge::cli {

CLI::App* add_train_command(CLI::App& app, TrainConfig& c, CommonOptions& opt) {
  auto* t = app.add_subcommand("train", "Train MPJudge: regression (sft), then preference optimisation (dpo)");
  t->add_option("--data", c.data, "MPD dataset folder (with split.json)")->required();
  t->add_option("--out", c.out, "Run folder (config.json, metrics.jsonl, curves, state.mpjc, model.mpjc)")->required();
  t->add_option("--stage", c.stage, "sft | dpo")->capture_default_str();
  t->add_option("--ref", c.ref, "dpo: frozen reference checkpoint (the SFT model; also the starting point)");
  t->add_option("--init", c.init, "Start from this checkpoint instead of a fresh model");
  t->add_flag("--resume", c.resume, "Continue the run in --out from its last checkpoint");
  t->add_option("--man", c.man, "MAN placement of a fresh model: all (14x14 and 7x7 stages) | last (7x7 only)")
      ->capture_default_str();
  t->add_option_function<std::string>(
      "--variant",
      [&c](const std::string& name) {
        const std::optional<Variant> v = variant_from_name(name);
        if (!v)
          throw CLI::ValidationError("--variant",
                                     std::string("expected ") + variant_names() + ", found '" + name + "'");
        c.variant = *v;
      },
      "Judge of a fresh model: man (MPJudge) | late_fusion | embedding | emotion (baselines) | paper_small (the "
      "authors' ViT-AdaIN from pixels; docs/evaluation.md). Default man");
  t->add_option("--va-weight", c.va_weight,
                "sft, man: weight of an auxiliary music valence/arousal loss on media.csv labels (0 = off)")
      ->capture_default_str();
  t->add_option("--music-inputs", c.music_inputs,
                "Music encoder of a fresh model: all (log-mel CNN + pitch posteriors + descriptors) | descriptors")
      ->capture_default_str();
  t->add_option("--descriptor-version", c.descriptor_version,
                "Music descriptors of a fresh model: 2 (tempo/mode confidences; docs/descriptors.md) | 1 (as before "
                "2026-12)")
      ->capture_default_str();
  t->add_flag("--music-emotion-input", c.music_emotion_input,
              "A fresh model also reads the music-emotion estimator's valence and arousal (descriptor version 2)");
  t->add_flag("--v1-descriptors", c.v1_descriptors,
              "A fresh model also reads version 1's tempo, mode and key strength (descriptor version 2)");
  t->add_option("--loss", c.loss, "sft regression loss: l1 | mse")->capture_default_str();
  t->add_option("--rank-weight", c.rank_weight, "sft: weight of the in-batch pairwise ranking term")
      ->capture_default_str();
  t->add_option("--rank-margin", c.rank_margin, "sft: margin of the ranking term")->capture_default_str();
  t->add_option("--lr", c.lr, "Peak learning rate (AdamW); 0 = 1e-3 for sft, 2e-4 for dpo")->capture_default_str();
  t->add_option("--lr-min", c.lr_min, "Final learning rate of the cosine schedule")->capture_default_str();
  t->add_option("--weight-decay", c.weight_decay, "AdamW decoupled weight decay")->capture_default_str();
  t->add_option("--beta1", c.beta1, "AdamW beta1")->capture_default_str();
  t->add_option("--beta2", c.beta2, "AdamW beta2")->capture_default_str();
  t->add_option("--eps", c.eps, "AdamW epsilon")->capture_default_str();
  t->add_option("--warmup", c.warmup, "Share of the steps with linear warm-up")->capture_default_str();
  t->add_option("--clip", c.clip, "Global gradient-norm clip (0 = off)")->capture_default_str();
  t->add_option("--epochs", c.epochs, "Passes over the train pairs (sft) or preferences (dpo); 0 = 4 for sft, 2 for dpo")->capture_default_str();
  t->add_option("--steps", c.steps, "Optimiser steps (overrides --epochs when > 0)")->capture_default_str();
  t->add_option("--batch", c.batch, "Global batch size")->capture_default_str();
  t->add_option("--grad-shards", c.grad_shards,
                "The batch is computed as this many equal shards (summed in order); processes take shards round "
                "robin, so any process count that divides it gives the same arithmetic")
      ->capture_default_str();
  t->add_option("--beta", c.beta, "dpo: inverse temperature on score differences")->capture_default_str();
  t->add_option("--lambda", c.lambda, "dpo: weight of the regression term")->capture_default_str();
  t->add_option("--crop-frames", c.crop_frames, "Log-mel frames per training clip")->capture_default_str();
  t->add_option("--ckpt-every", c.ckpt_every, "Steps between checkpoints")->capture_default_str();
  t->add_option("--eval-every", c.eval_every, "Steps between validations (0 = every epoch)")->capture_default_str();
  t->add_option("--seed", c.seed, "Seed (initialisation and batch order)")->capture_default_str();
  t->add_option("--feature-threads", c.feature_threads, "Feature extraction workers (0 = cores)")
      ->capture_default_str();
  t->add_option("--cache-dir", c.cache_dir, "Feature cache folder (default $MPJUDGE_CACHE or ~/.cache/mpjudge)");
  t->add_option("--nproc", c.nproc, "Data-parallel processes on this machine")->capture_default_str();
  // torch.distributed's launcher conventions: each flag falls back to the variable torchrun, SLURM
  // scripts and Kubernetes jobs set (docs/training.md).
  t->add_option("--rank", c.rank, "This process's rank (multi-machine)")->envname("RANK")->capture_default_str();
  t->add_option("--world-size", c.world_size, "Total processes over all machines")
      ->envname("WORLD_SIZE")
      ->capture_default_str();
  t->add_option("--master-addr", c.master_addr, "Address of rank 0 (hosts the TCPStore)")
      ->envname("MASTER_ADDR")
      ->capture_default_str();
  t->add_option("--master-port", c.master_port, "Port of rank 0's TCPStore")
      ->envname("MASTER_PORT")
      ->capture_default_str();
  t->add_option("--interface", c.interface, "Network interface for Gloo (default: the one that routes to the master)")
      ->envname("GLOO_SOCKET_IFNAME");
  t->add_option("--timeout", c.timeout_s,
                "Seconds to wait for the store, the other ranks and each collective before giving up")
      ->capture_default_str();
  t->add_option("--local-world-size", c.local_world, "Processes of this job on this machine (threads per process)")
      ->envname("LOCAL_WORLD_SIZE");
  t->add_flag("--quiet", c.quiet, "No progress bar");
  add_output_options(t, opt);
  return t;
}

int run_train(TrainConfig& c, const CommonOptions& opt, int argc, char** argv) {
  if (opt.threads > 0) c.threads = opt.threads;
  std::vector<pid_t> children;
  std::vector<std::thread> monitors;
  std::atomic<bool> done{false};
  std::atomic<int> child_failed{0};
  if (c.nproc > 1) {
    if (c.world_size != 1 || c.rank != 0)
      fail_usage("train: use --nproc on one machine, or --rank/--world-size across machines");
    c.world_size = c.nproc;
    // Ranks 1..n-1: this executable with the same arguments, minus --nproc, plus their rank.
    for (int r = 1; r < c.nproc; ++r) {
      std::vector<std::string> args;
      for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--nproc" || a == "--quiet") {
          i += a == "--nproc";
          continue;
        }
        if (a.rfind("--nproc=", 0) == 0) continue;
        args.push_back(a);
      }
      for (const std::string& a : {std::string("--rank"), std::to_string(r), std::string("--world-size"),
                                   std::to_string(c.nproc), std::string("--quiet")})
        args.push_back(a);
      std::vector<char*> av;
      for (auto& a : args) av.push_back(a.data());
      av.push_back(nullptr);
      pid_t pid = 0;
      if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, av.data(), environ) != 0)
        fail_internal("train: cannot launch rank " + std::to_string(r));
      children.push_back(pid);
    }
    // A rank that dies takes the whole job down at once, instead of leaving the others waiting.
    for (size_t k = 0; k < children.size(); ++k)
      monitors.emplace_back([&, k]() {
        int st = 0;
        while (waitpid(children[k], &st, 0) < 0 && errno == EINTR) {
        }
        const int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        if (code != 0) {
          child_failed = code;
          if (!done) {
            std::fprintf(stderr, "mpjudge: error: train: rank %zu exited with status %d; stopping\n", k + 1, code);
            for (pid_t p : children) kill(p, SIGTERM);
            std::_Exit(kInternal);
          }
        }
      });
  }
  auto join = [&]() {
    for (auto& t : monitors) t.join();
    monitors.clear();
  };
  TrainResult r;
  try {
    r = train(c);
  } catch (...) {
    done = true;
    for (pid_t p : children) kill(p, SIGTERM);
    join();
    throw;
  }
  done = true;
  join();
  if (child_failed) fail_internal("train: a worker rank exited with status " + std::to_string(child_failed.load()));
  if (c.rank != 0) return kOk;
  Json out{{"model", r.model},
           {"steps", r.steps},
           {"seconds", json_number(r.seconds, 1)},
           {"feature_seconds", json_number(r.feature_seconds, 1)},
           {"val_srcc", json_number(r.val_srcc)},
           {"val_pref_acc", json_number(r.val_pref_acc)},
           {"run", c.out}};
  std::printf("%s\n", opt.json ? out.dump(2).c_str() : out.dump().c_str());
  return kOk;
}

}  // namespace mpjudge::cli
