// Training loop (see train.h and docs/training.md).
//
// Determinism: the model is initialised from the seed; batch order is a pure function of (seed, epoch);
// nothing else is random. The optimiser (AdamW) is written out here so that its whole state is plain
// tensors in the run's state checkpoint: resuming restores parameters, moments and the step, and the
// remaining steps then do exactly what they would have done.
#include "train/train.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "data/csv.h"
#include "data/mpd.h"
#include "eval/metrics.h"
#include "image/colour_shift.h"
#include "image/plot.h"
#include "model/checkpoint.h"
#include "model/encoders.h"
#include "model/inputs.h"
#include "model/judge.h"
#include "model/mpjudge_net.h"
#include "model/runtime.h"
#include "train/distributed.h"
#include "train/optim.h"

namespace mpjudge {
namespace {

namespace fs = std::filesystem;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ---- data --------------------------------------------------------------------------------------------

struct Features {
  std::map<std::string, int64_t> music_index, painting_index;
  torch::Tensor music_va, painting_va;            // [N, 2] media.csv labels (emotion variant)
  torch::Tensor music_va_mask, painting_va_mask;  // [N] 1 where labelled
  // The judge's inputs of every medium, stacked (judge.h): the default network's trunk maps [Np, C, H, W],
  // painting descriptors, cropped log-mels [Nm, n_mels, crop], pitch and music descriptors; the paper's
  // pixels (maps) and mel images (mel). Undefined where the judge reads none.
  torch::Tensor maps, pdesc, mel, pitch, desc;
};

struct Split {
  std::vector<int64_t> m, p;  // pairs
  std::vector<float> y;
  std::vector<int64_t> pm, pw, pl;  // preferences: music, chosen, rejected
};

torch::Tensor stack_defined(const std::vector<torch::Tensor>& v) {
  return v.empty() || !v.front().defined() ? torch::Tensor() : torch::stack(v);
}

// A medium's file: names are relative to the dataset folder, but for the absolute paths of the colour-shifted
// copies of --distill-colour-shifts.
std::string media_path(const MpdDataset& d, const std::string& name) {
  return !name.empty() && name[0] == '/' ? name : d.root + "/" + name;
}

Features extract_features(const MpdDataset& d, const std::set<std::string>& musics,
                          const std::set<std::string>& paintings, const Judge& judge, const TrainConfig& cfg,
                          bool show) {
  Features f;
  std::vector<std::string> ml(musics.begin(), musics.end()), pl(paintings.begin(), paintings.end());
  for (size_t i = 0; i < ml.size(); ++i) f.music_index[ml[i]] = int64_t(i);
  for (size_t i = 0; i < pl.size(); ++i) f.painting_index[pl[i]] = int64_t(i);
  const int workers =
      std::max(1, cfg.feature_threads > 0 ? cfg.feature_threads : int(std::thread::hardware_concurrency()));
  FeatureOptions fo;
  fo.cache_dir = cfg.cache_dir;
  std::vector<std::string> pp, mp;
  for (const auto& p : pl) pp.push_back(media_path(d, p));
  for (const auto& m : ml) mp.push_back(d.root + "/" + m);
  Progress bar("features", ml.size() + pl.size(), !show);
  InputSet in = prepare_inputs(judge, pp, mp, fo, workers, &bar);
  bar.finish();
  std::vector<torch::Tensor> mels, pitch, desc;
  for (const auto& one : in.music) {
    const MusicInput mi = judge.crop(one, cfg.crop_frames);
    mels.push_back(mi.mel.defined() ? mi.mel[0] : torch::Tensor());  // none for a descriptor-only judge
    pitch.push_back(mi.pitch.defined() ? mi.pitch[0] : torch::Tensor());
    desc.push_back(mi.descriptors.defined() ? mi.descriptors[0] : torch::Tensor());
  }
  PaintingInput all = stack_paintings(in.paintings);
  f.maps = all.map;
  f.pdesc = all.descriptors;
  f.mel = stack_defined(mels);
  f.pitch = stack_defined(pitch);
  f.desc = stack_defined(desc);
  return f;
}

// Squared error of predicted valence/arousal against the media.csv labels of the media at `index`, summed
// over the labelled ones.
torch::Tensor va_error(const torch::Tensor& pred, const torch::Tensor& labels, const torch::Tensor& mask,
                       const torch::Tensor& index) {
  return ((pred - labels.index_select(0, index)).pow(2).sum(1) * mask.index_select(0, index)).sum();
}

torch::Tensor select(const torch::Tensor& t, const torch::Tensor& index) {
  return t.defined() ? t.index_select(0, index) : t;
}

struct RunFieldsJson {
  Json& j;
  template <class T>
  void operator()(const TrainField& f, const T& v) const {
    if (f.run) j[f.name] = v;
  }
  void operator()(const TrainField& f, const Variant& v) const {
    if (f.run) j[f.name] = variant_name(v);
  }
};

// ---- the trainer -------------------------------------------------------------------------------------

struct Trainer {
  TrainConfig cfg;
  MpdDataset data;
  Features feat;
  std::map<std::string, Split> splits;
  std::unique_ptr<Judge> judge;
  std::vector<std::string> names;  // trainable parameters, sorted by name
  std::vector<torch::Tensor> params, m, v;
  int64_t step = 0, total_steps = 0, steps_per_epoch = 0;
  std::vector<float> ref_w, ref_l;  // dpo: reference scores of the train preferences
  std::unique_ptr<Distributed> dist;
  bool lead = true;        // rank 0: writes the run folder
  Json emotion_cross_fit;  // what --emotion-cross-fit applied (meta.trained)
  Json teacher;            // what --teacher distilled (meta.trained)

  torch::nn::Module& module() { return judge->module(); }

  MPJudgeOutput outputs(const std::vector<int64_t>& mi, const std::vector<int64_t>& pi) {
    torch::Tensor im = torch::tensor(mi, torch::kLong), ip = torch::tensor(pi, torch::kLong);
    return judge->forward({select(feat.maps, ip), select(feat.pdesc, ip)},
                          {select(feat.mel, im), select(feat.pitch, im), select(feat.desc, im)});
  }
  torch::Tensor scores(const std::vector<int64_t>& mi, const std::vector<int64_t>& pi) { return outputs(mi, pi).score; }

  std::vector<float> scores_nograd(const std::vector<int64_t>& mi, const std::vector<int64_t>& pi) {
    torch::NoGradGuard ng;
    std::vector<float> out;
    for (size_t b = 0; b < mi.size(); b += 128) {
      const size_t e = std::min(mi.size(), b + 128);
      torch::Tensor s =
          scores({mi.begin() + long(b), mi.begin() + long(e)}, {pi.begin() + long(b), pi.begin() + long(e)})
              .contiguous();
      out.insert(out.end(), s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
    }
    return out;
  }

  // The split's metrics without the slow fits (compute_metrics: SRCC, MAE, preference accuracy).
  Metrics evaluate(const std::string& split) {
    Metrics r;
    r.srcc = r.mae = r.pref_acc = NAN;
    auto it = splits.find(split);
    if (it == splits.end()) return r;
    const Split& s = it->second;
    judge->set_training(false);
    std::vector<ScoredPair> pairs;
    std::vector<ScoredPreference> prefs;
    const std::vector<float> pred = scores_nograd(s.m, s.p);
    for (size_t i = 0; i < pred.size(); ++i) pairs.push_back({{}, {}, {}, {}, pred[i], s.y[i]});
    const std::vector<float> w = scores_nograd(s.pm, s.pw), l = scores_nograd(s.pm, s.pl);
    for (size_t i = 0; i < w.size(); ++i) prefs.push_back({{}, w[i], l[i]});
    judge->set_training(true);
    return compute_metrics(pairs, prefs, false);
  }

  double lr_at(int64_t t) const {
    const int64_t warm = std::max<int64_t>(1, int64_t(std::lround(cfg.warmup * double(total_steps))));
    if (t < warm) return cfg.lr * double(t + 1) / double(warm);
    const double p = double(t - warm) / double(std::max<int64_t>(1, total_steps - warm));
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + std::cos(M_PI * std::min(1.0, p)));
  }

  // The indices of shard `shard` of global batch `t` (dropping the incomplete last batch of an epoch).
  // A global batch is always computed as cfg.grad_shards equal shards whose gradients are summed in
  // shard order; processes take shards round robin. So N processes do exactly the arithmetic of one.
  std::vector<int64_t> batch_of(int64_t t, size_t n, uint64_t salt, int shard) const {
    const int64_t spe = std::max<int64_t>(1, int64_t(n) / cfg.batch);
    const int64_t epoch = t / spe, pos = t % spe;
    std::vector<int64_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937_64 rng(cfg.seed * 0x9E3779B97F4A7C15ULL + uint64_t(epoch) * 0xBF58476D1CE4E5B9ULL + salt);
    std::shuffle(perm.begin(), perm.end(), rng);
    const int64_t B = cfg.batch, S = cfg.grad_shards;
    const int64_t lo = pos * B + shard * B / S, hi = pos * B + (shard + 1) * B / S;
    std::vector<int64_t> out;
    for (int64_t i = lo; i < hi; ++i) out.push_back(perm[size_t(i % int64_t(n))]);
    return out;
  }

  torch::Tensor regression_loss(const std::vector<int64_t>& idx, const Split& s) {
    std::vector<int64_t> mi, pi;
    std::vector<float> y;
    for (int64_t i : idx) mi.push_back(s.m[size_t(i)]), pi.push_back(s.p[size_t(i)]), y.push_back(s.y[size_t(i)]);
    if (!judge->learns_scores()) {
      // The emotion baseline never sees the scores: squared error of each side's valence/arousal against
      // its media.csv label, where there is one.
      MPJudgeOutput o = outputs(mi, pi);
      torch::Tensor im = torch::tensor(mi, torch::kLong), ip = torch::tensor(pi, torch::kLong);
      return va_error(o.music_va, feat.music_va, feat.music_va_mask, im) +
             va_error(o.painting_va, feat.painting_va, feat.painting_va_mask, ip);
    }
    MPJudgeOutput o = outputs(mi, pi);
    torch::Tensor pred = o.score, target = torch::tensor(y);
    torch::Tensor loss = regression_loss_sum(pred, target, cfg.loss);
    if (cfg.va_weight > 0 && o.music_va.defined()) {
      loss = loss +
             cfg.va_weight * va_error(o.music_va, feat.music_va, feat.music_va_mask, torch::tensor(mi, torch::kLong));
    }
    if (cfg.rank_weight > 0 && idx.size() > 1)
      loss = loss + cfg.rank_weight * rank_loss_sum(pred, target, cfg.rank_margin);
    return loss;  // a sum over this rank's samples; divided by the global batch by the caller
  }

  torch::Tensor dpo_loss(const std::vector<int64_t>& idx, const Split& s) {
    std::vector<int64_t> mi, wi, li;
    std::vector<float> rw, rl;
    for (int64_t i : idx) {
      mi.push_back(s.pm[size_t(i)]), wi.push_back(s.pw[size_t(i)]), li.push_back(s.pl[size_t(i)]);
      rw.push_back(ref_w[size_t(i)]), rl.push_back(ref_l[size_t(i)]);
    }
    // One forward for chosen and rejected together.
    std::vector<int64_t> m2 = mi, p2 = wi;
    m2.insert(m2.end(), mi.begin(), mi.end());
    p2.insert(p2.end(), li.begin(), li.end());
    torch::Tensor s2 = scores(m2, p2);
    const int64_t n = int64_t(idx.size());
    return dpo_loss_sum(s2.narrow(0, 0, n), s2.narrow(0, n, n), torch::tensor(rw), torch::tensor(rl), cfg.beta);
  }

  // The parameters in training mode, zero moments, and the step counts.
  void start_optimiser() {
    judge->set_training(true);
    for (auto& p : module().named_parameters()) names.push_back(p.key()), params.push_back(p.value());
    for (auto& p : params) m.push_back(torch::zeros_like(p)), v.push_back(torch::zeros_like(p));
    const Split& train = splits.at("train");
    const size_t n_items = cfg.stage == "sft" ? train.y.size() : train.pm.size();
    steps_per_epoch = std::max<int64_t>(1, int64_t(n_items) / cfg.batch);
    total_steps = cfg.steps > 0 ? cfg.steps : cfg.epochs * steps_per_epoch;
  }

  // Rank 0's parameters, moments and step to every process.
  void broadcast_state() {
    std::vector<torch::Tensor> all;
    for (size_t k = 0; k < params.size(); ++k)
      all.push_back(params[k].detach()), all.push_back(m[k]), all.push_back(v[k]);
    torch::Tensor st = torch::tensor({step}, torch::kLong);
    all.push_back(st);
    dist->broadcast(all);
    step = st.item<int64_t>();
  }

  // DPO: the frozen reference model's scores of the train preferences, computed once.
  void score_reference(const Checkpoint& ref) {
    const Split& train = splits.at("train");
    std::unique_ptr<Judge> keep = std::move(judge);
    judge = load_judge(ref, cfg.ref);
    ref_w = scores_nograd(train.pm, train.pw);
    ref_l = scores_nograd(train.pm, train.pl);
    judge = std::move(keep);
  }

  // The loss of global batch t, backpropagated: this process's shards in shard order. Returns the loss and,
  // for DPO, its regression part (summed over processes by the caller).
  std::pair<double, double> backward_batch(int64_t t) {
    const Split& S = splits.at("train");
    const double inv_batch = 1.0 / double(cfg.batch);
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    double loss_value = 0, reg_part = 0;
    for (int shard = cfg.rank; shard < cfg.grad_shards; shard += cfg.world_size) {
      torch::Tensor loss;
      if (cfg.stage == "sft") {
        loss = regression_loss(batch_of(t, S.y.size(), 1, shard), S) * inv_batch;
      } else {
        // Preferences set the epochs; the regression term walks its own permutation of the pairs.
        torch::Tensor l_dpo = dpo_loss(batch_of(t, S.pm.size(), 2, shard), S) * inv_batch;
        torch::Tensor l_reg = regression_loss(batch_of(t, S.y.size(), 3, shard), S) * inv_batch;
        reg_part += l_reg.item<double>();
        loss = l_dpo + cfg.lambda * l_reg;
      }
      loss.backward();  // gradients accumulate over this process's shards, in shard order
      loss_value += loss.item<double>();
    }
    return {loss_value, reg_part};
  }

  struct StepLog {
    double loss = 0, regression_loss = 0, lr = 0, grad_norm = 0;
  };
  // One optimiser step: the batch's gradients (summed over processes), global-norm clipping, AdamW.
  StepLog train_step() {
    const int64_t t = step;
    StepLog log;
    std::tie(log.loss, log.regression_loss) = backward_batch(t);
    std::vector<torch::Tensor> grads;
    for (auto& p : params) grads.push_back(p.grad().defined() ? p.grad() : torch::zeros_like(p));
    if (dist) {
      torch::Tensor lv = torch::tensor({log.loss, log.regression_loss}, torch::kDouble);
      dist->allreduce_sum(grads, lv);
      log.loss = lv[0].item<double>(), log.regression_loss = lv[1].item<double>();
    }
    const double scale = clip_scale(grads, cfg.clip, &log.grad_norm);
    log.lr = lr_at(t);
    adamw_step(params, grads, m, v, t, {log.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay}, scale);
    step = t + 1;
    return log;
  }

  void save_state(const std::string& path) {
    Checkpoint ck;
    ck.arch = "mpjudge-train-state";
    ck.config = judge->config_json();
    for (size_t k = 0; k < names.size(); ++k) {
      ck.tensors["param." + names[k]] = params[k].detach().clone();
      ck.tensors["adam_m." + names[k]] = m[k].clone();
      ck.tensors["adam_v." + names[k]] = v[k].clone();
    }
    for (const auto& [n, t] : module_state(module()))
      if (!ck.tensors.count("param." + n)) ck.tensors["buffer." + n] = t.clone();
    ck.meta = {{"step", step}, {"total_steps", total_steps}, {"train_config", config_json()}};
    save_checkpoint(path, ck);
  }

  void load_state(const std::string& path) {
    Checkpoint ck = load_checkpoint(path);
    if (ck.arch != "mpjudge-train-state")
      throw Error(ErrorKind::Model, path + ": expected a training state checkpoint, found arch " + ck.arch);
    const Json saved = Json::parse(ck.meta.at("train_config").dump()), now = config_json();
    for (const auto& [k, val] : now.items())
      if (k != "resume" && k != "steps_done" && saved.contains(k) && saved[k] != val)
        throw Error(ErrorKind::Usage,
                    path + ": the run was started with " + k + " = " + saved[k].dump() + ", now " + val.dump(),
                    "resume with the same options, or start a new run folder");
    torch::NoGradGuard ng;
    for (size_t k = 0; k < names.size(); ++k) {
      for (auto [prefix, dst] :
           {std::pair<const char*, torch::Tensor*>{"param.", &params[k]}, {"adam_m.", &m[k]}, {"adam_v.", &v[k]}}) {
        auto it = ck.tensors.find(prefix + names[k]);
        if (it == ck.tensors.end() || !it->second.sizes().equals(dst->sizes()))
          throw Error(ErrorKind::Model,
                      path + ": expected tensor " + prefix + names[k] + ", found none or another shape");
        dst->copy_(it->second);
      }
    }
    // Buffers: the BatchNorm running statistics of the paper network's music encoder (the default
    // architecture has none).
    for (auto& b : module().named_buffers()) {
      auto it = ck.tensors.find("buffer." + b.key());
      if (it == ck.tensors.end() || !it->second.sizes().equals(b.value().sizes()))
        throw Error(ErrorKind::Model, path + ": expected tensor buffer." + b.key() + ", found none or another shape");
      b.value().copy_(it->second);
    }
    step = ck.meta.at("step").get<int64_t>();
  }

  // The run's fields (visit_train_fields, those marked `run`), for config.json and the --resume check.
  Json config_json() const {
    Json j = Json::object();
    visit_train_fields(cfg, RunFieldsJson{j});
    return j;
  }
};

void write_curves(const std::string& run) {
  std::ifstream f(run + "/metrics.jsonl");
  ChartSeries loss{"train loss (mean of 20)", {}, {}}, srcc{"val SRCC", {}, {}}, pref{"val pref. accuracy", {}, {}};
  std::vector<double> window;
  for (std::string line; std::getline(f, line);) {
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    if (j.contains("loss")) {
      window.push_back(j["loss"].get<double>());
      if (window.size() > 20) window.erase(window.begin());
      loss.x.push_back(j["step"].get<double>());
      loss.y.push_back(std::accumulate(window.begin(), window.end(), 0.0) / double(window.size()));
    }
    if (j.contains("val_srcc") && j["val_srcc"].is_number())
      srcc.x.push_back(j["step"].get<double>()), srcc.y.push_back(j["val_srcc"].get<double>());
    if (j.contains("val_pref_acc") && j["val_pref_acc"].is_number())
      pref.x.push_back(j["step"].get<double>()), pref.y.push_back(j["val_pref_acc"].get<double>());
  }
  write_line_chart_png({loss}, "training loss", "step", run + "/loss.png");
  write_line_chart_png({srcc, pref}, "validation", "step", run + "/val.png");
}

// ---- the steps of train(), in order -------------------------------------------------------------------

// Options checked, and the defaults that depend on the stage and the variant filled in.
TrainConfig checked_config(TrainConfig cfg) {
  if (cfg.stage != "sft" && cfg.stage != "dpo") fail_usage("train: --stage must be sft or dpo, found " + cfg.stage);
  if (cfg.stage == "dpo" && cfg.ref.empty()) fail_usage("train: --stage dpo needs --ref CKPT (the SFT model)");
  if (cfg.loss != "l1" && cfg.loss != "mse") fail_usage("train: --loss must be l1 or mse, found " + cfg.loss);
  if (cfg.man != "all" && cfg.man != "last") fail_usage("train: --man must be all or last, found " + cfg.man);
  if (cfg.descriptor_version != 1 && cfg.descriptor_version != 2)
    fail_usage("train: --descriptor-version must be 1 or 2, found " + std::to_string(cfg.descriptor_version));
  if ((cfg.music_emotion_input || cfg.v1_descriptors) && cfg.descriptor_version != 2)
    fail_usage("train: --music-emotion-input and --v1-descriptors need --descriptor-version 2");
  if (cfg.music_inputs != "all" && cfg.music_inputs != "mel" && cfg.music_inputs != "descriptors")
    fail_usage("train: --music-inputs must be all, mel or descriptors, found " + cfg.music_inputs);
  const bool paper_small = cfg.variant == Variant::PaperSmall;
  if (paper_small && (cfg.man != "all" || cfg.va_weight > 0 || cfg.music_inputs != "all"))
    fail_usage("train: --man, --va-weight and --music-inputs apply to the default architecture, not paper_small");
  if (cfg.variant == Variant::Emotion && cfg.stage == "dpo")
    fail_usage("train: the emotion baseline is trained on valence/arousal labels only (--stage sft)");
  if (cfg.grad_shards < 1 || cfg.grad_shards % cfg.world_size != 0)
    fail_usage("train: --grad-shards " + std::to_string(cfg.grad_shards) + " must be a multiple of the " +
               std::to_string(cfg.world_size) + " processes");
  if (cfg.batch < cfg.grad_shards || cfg.batch % cfg.grad_shards != 0)
    fail_usage("train: --batch " + std::to_string(cfg.batch) + " must be a multiple of --grad-shards " +
               std::to_string(cfg.grad_shards));
  if (!cfg.teacher.empty() && cfg.stage != "sft")
    fail_usage("train: --teacher distils into an SFT run (--stage sft); DPO learns from the preferences");
  if (cfg.teacher.empty() && (cfg.distill_pairs != 0 || cfg.teacher_weight != 1.0))
    fail_usage("train: --distill-pairs and --teacher-weight need --teacher CKPT");
  if (!(cfg.teacher_weight >= 0 && cfg.teacher_weight <= 1) || cfg.distill_pairs < 0)
    fail_usage("train: expected --teacher-weight in 0..1 and --distill-pairs >= 0");
  if (cfg.distill_colour_shifts < 0 || cfg.distill_colour_shifts > 16)
    fail_usage("train: expected --distill-colour-shifts in 0..16, found " + std::to_string(cfg.distill_colour_shifts));
  if (cfg.distill_colour_shifts > 0 && cfg.distill_pairs == 0)
    fail_usage("train: --distill-colour-shifts needs --distill-pairs N (the copies are drawn into those pairs)");
  if (!cfg.teacher.empty() && cfg.variant == Variant::Emotion)
    fail_usage("train: the emotion baseline learns valence/arousal labels, not scores: it has no use for --teacher");
  // The paper's transformer, trained from scratch, wants a gentler peak than the small heads on frozen features.
  if (cfg.lr == 0) cfg.lr = cfg.stage == "dpo" ? 2e-4 : paper_small ? 3e-4 : 1e-3;
  // DPO fine-tunes: more than 2 passes over the preferences traded SRCC for preference accuracy on
  // MPD-Open (4 epochs: test SRCC -0.012, models/README.md).
  if (cfg.epochs == 0) cfg.epochs = cfg.stage == "dpo" ? 2 : 4;
  if (!(cfg.lr > 0) || cfg.epochs < 1 || cfg.crop_frames < 16) fail_usage("train: expected lr > 0, epochs >= 1");
  return cfg;
}

// The run folder: a new one, or the one --resume continues (rank 0 only).
void prepare_run_folder(const TrainConfig& cfg) {
  if (cfg.resume && !is_dir(cfg.out)) fail_usage("train: --resume " + cfg.out + ": no such run folder");
  if (!cfg.resume && is_dir(cfg.out) && access((cfg.out + "/config.json").c_str(), F_OK) == 0)
    fail_usage("train: " + cfg.out + " already holds a run", "use --resume to continue it, or another --out");
  mkdir(cfg.out.c_str(), 0755);
  if (!is_dir(cfg.out)) fail_usage("train: cannot create the run folder " + cfg.out);
}

// The judge to train: the default architecture in the variant asked for, or the paper's (paper_small),
// fresh from the seed, or as --init / --ref has it (`start` is then that checkpoint).
std::unique_ptr<Judge> starting_judge(const TrainConfig& cfg, Checkpoint& start) {
  const std::string start_path = !cfg.init.empty() ? cfg.init : cfg.ref;
  torch::manual_seed(cfg.seed);
  if (!start_path.empty()) {
    start = load_checkpoint(start_path);
    if (start.arch != "paper" && start.arch != "mpjudge")
      throw Error(
          ErrorKind::Model,
          start_path + ": expected a checkpoint of architecture 'mpjudge' or 'paper', found '" + start.arch + "'",
          "an ensemble is trained one member at a time: pass a member's checkpoint");
    return load_judge(start, start_path);
  }
  if (cfg.variant == Variant::PaperSmall) return new_paper_judge(PaperConfig::paper_small());
  MPJudgeConfig mc;
  if (cfg.man == "last") mc.man_layers = {"block_16_project_BN"};
  mc.variant = cfg.variant;
  mc.va_head = cfg.va_weight > 0 && cfg.variant == Variant::Man;
  mc.music_inputs = cfg.music_inputs;
  mc.descriptor_version = cfg.descriptor_version;
  mc.music_emotion_input = cfg.music_emotion_input;
  mc.v1_descriptors = cfg.v1_descriptors;
  mc.descriptor_dim = music_descriptor_dim(mc.descriptor_version, mc.music_emotion_input, mc.v1_descriptors);
  return new_judge(mc);
}

// The media that training reads: every medium of a non-excluded pair, and of the preferences that lie
// within one split.
void media_used(const MpdDataset& d, const MediaSplitIndex& index, std::set<std::string>& musics,
                std::set<std::string>& paintings) {
  for (const auto& p : d.pairs)
    if (d.split.at(p.id) != "excluded") musics.insert(p.music), paintings.insert(p.painting);
  for (const auto& q : d.preferences)
    if (!preference_split(q, index).empty())
      musics.insert(q.music), paintings.insert(q.chosen), paintings.insert(q.rejected);
}

// media.csv valence/arousal labels of the media in `feat` (the emotion baseline's targets, --va-weight's).
void load_va_labels(const MpdDataset& d, const TrainConfig& cfg, bool learns_scores, Features& feat) {
  const size_t nm = feat.music_index.size(), np = feat.painting_index.size();
  std::vector<float> mva(nm * 2, 0), pva(np * 2, 0), mmask(nm, 0), pmask(np, 0);
  size_t labelled_m = 0, labelled_p = 0;
  for (const auto& md : d.media) {
    if (!md.valence || !md.arousal) continue;
    auto put = [&](const std::map<std::string, int64_t>& index, std::vector<float>& va, std::vector<float>& mask,
                   size_t& count) {
      auto it = index.find(md.path);
      if (it == index.end()) return;
      va[size_t(it->second) * 2] = float(*md.valence), va[size_t(it->second) * 2 + 1] = float(*md.arousal);
      mask[size_t(it->second)] = 1, ++count;
    };
    if (md.kind == "music")
      put(feat.music_index, mva, mmask, labelled_m);
    else
      put(feat.painting_index, pva, pmask, labelled_p);
  }
  feat.music_va = torch::tensor(mva).view({int64_t(nm), 2});
  feat.painting_va = torch::tensor(pva).view({int64_t(np), 2});
  feat.music_va_mask = torch::tensor(mmask), feat.painting_va_mask = torch::tensor(pmask);
  if (cfg.va_weight > 0 && labelled_m == 0)
    fail_input(cfg.data + "/media.csv", "music valence/arousal labels for --va-weight", "none");
  if (!learns_scores && (labelled_m == 0 || labelled_p == 0))
    fail_input(cfg.data + "/media.csv", "valence and arousal for music and paintings (the emotion baseline's labels)",
               std::to_string(labelled_m) + " music and " + std::to_string(labelled_p) + " painting labels");
}

// --emotion-cross-fit: the out-of-fold estimates of the file, checked before any feature is extracted. Only
// music of train pairs may be listed (an estimate fitted with val or test music would reach those splits).
struct EmotionCrossFit {
  int64_t at = -1;  // index of valence in the music descriptor vector
  std::map<std::string, std::pair<float, float>> va;
  Json meta;  // what the model's meta.trained records
};
EmotionCrossFit read_emotion_cross_fit(const MpdDataset& d, const MediaSplitIndex& media_splits, const TrainConfig& cfg,
                                       const Judge& judge) {
  const std::string& file = cfg.emotion_cross_fit;
  if (judge.arch() != "mpjudge")
    fail_usage("train: --emotion-cross-fit applies to the default architecture, not " + judge.arch());
  EmotionCrossFit out;
  out.at = music_emotion_index(MPJudgeConfig::from_json(judge.config_json()));
  if (out.at < 0)
    fail_usage("train: --emotion-cross-fit needs a judge that reads the emotion estimate (--music-emotion-input)");
  const std::vector<uint8_t> bytes = read_file(file, 64ull << 20);
  const std::string text(bytes.begin(), bytes.end());
  std::vector<std::vector<std::string>> rows;
  std::string error;
  if (!parse_csv(text, rows, error)) fail_input(file, "CSV", error);
  const std::vector<std::string> header = {"music", "valence", "arousal", "fold"};
  if (rows.empty() || rows[0] != header)
    fail_input(file + ":1", "the header music,valence,arousal,fold (`mpjudge emotion --write-cross-fit`)",
               rows.empty()      ? "an empty file"
               : rows[0].empty() ? "an empty line"
                                 : rows[0][0] + ",...");
  std::set<std::string> corpus_music;
  for (const auto& m : d.media)
    if (m.kind == "music") corpus_music.insert(m.path);
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::string where = file + ":" + std::to_string(r + 1);
    const auto& row = rows[r];
    if (row.size() == 1 && row[0].empty()) continue;  // a blank line
    if (row.size() != 4) fail_input(where, "4 fields", std::to_string(row.size()));
    if (!corpus_music.count(row[0]))
      fail_input(where, "a music file of " + cfg.data + "/media.csv", row[0], "was the file written for this corpus?");
    auto split = media_splits.music.find(row[0]);
    if (split == media_splits.music.end() || split->second != "train")
      fail_input(where, "music of train pairs only",
                 row[0] + " in split " + (split == media_splits.music.end() ? "(none)" : split->second));
    if (out.va.count(row[0])) fail_input(where, "each music file once", row[0] + " again");
    double va[2];
    for (int k = 0; k < 2; ++k)
      if (!parse_double(row[size_t(1 + k)], va[k]) || va[k] < -1 || va[k] > 1)
        fail_input(where, std::string(k ? "arousal" : "valence") + " in -1..1", row[size_t(1 + k)]);
    out.va[row[0]] = {float(va[0]), float(va[1])};
  }
  if (out.va.empty()) fail_input(file, "at least one estimate", "none");
  out.meta = {{"file", file}, {"sha256", sha256_hex(bytes.data(), bytes.size())}, {"clips", out.va.size()}};
  return out;
}

// Each listed clip's valence/arousal input replaced by its out-of-fold estimate (clips in train but in no
// pair that training reads have no features and are passed over).
void apply_emotion_cross_fit(const EmotionCrossFit& cf, Features& feat) {
  auto acc = feat.desc.accessor<float, 2>();
  for (const auto& [music, va] : cf.va) {
    auto idx = feat.music_index.find(music);
    if (idx != feat.music_index.end()) acc[idx->second][cf.at] = va.first, acc[idx->second][cf.at + 1] = va.second;
  }
}

// ---- distillation (--teacher) ---------------------------------------------------------------------------

struct Teacher {
  std::unique_ptr<Judge> judge;
  Json meta;  // what the model's meta.trained records
};

// The teacher judge, loaded before any feature is extracted (a wrong path fails at once).
Teacher read_teacher(const TrainConfig& cfg) {
  Teacher t;
  std::string sha;
  {
    MappedFile f(cfg.teacher);
    sha = sha256_hex(f.data(), f.size());
  }
  const Checkpoint ck = load_checkpoint(cfg.teacher);
  t.judge = load_judge(ck, cfg.teacher);
  t.meta = {{"file", cfg.teacher},
            {"sha256", sha},
            {"version", ck.meta.value("version", std::string("unversioned"))},
            {"arch", t.judge->arch()},
            {"weight", cfg.teacher_weight}};
  return t;
}

// --distill-pairs: n more pairs of the train split's music with its paintings, none of them a pair the
// corpus already has, drawn by the seed (mt19937_64 draws taken modulo the sizes: the same on every platform).
// Refused when n is more than half of the unpaired combinations (checked before any feature is extracted).
// With --distill-colour-shifts K the paintings drawn from are the train paintings and K copies of each.
void check_distill_room(const MpdDataset& d, int64_t n, int64_t colour_shifts) {
  std::set<std::string> ms, ps;
  std::set<std::pair<std::string, std::string>> have;
  for (const auto& p : d.pairs)
    if (d.split.at(p.id) == "train") ms.insert(p.music), ps.insert(p.painting), have.insert({p.music, p.painting});
  const uint64_t room = uint64_t(ms.size()) * uint64_t(ps.size()) * uint64_t(1 + colour_shifts) - uint64_t(have.size());
  if (uint64_t(n) > room / 2)
    fail_usage("train: --distill-pairs " + std::to_string(n) + " is more than half of the " + std::to_string(room) +
               " unpaired combinations of the train split's " + std::to_string(ms.size()) + " music files and " +
               std::to_string(ps.size() * size_t(1 + colour_shifts)) + " paintings");
}

// --distill-colour-shifts: K copies of each train painting in shifted colours, written (PNG) to
// RUN/distill_paintings/ and named by their absolute paths. Shifts are drawn by the seed, independently
// per copy and axis: L* + U(-15, 15), chroma x exp(U(ln 0.67, ln 1.5)), b* + U(-15, 15): a family that
// holds the direction check's two versions (L* +-12, chroma x1.3 / x0.7, b* +-12) among many others.
// Every process writes its own (identical) copies; a resumed run writes them again.
std::vector<std::string> write_colour_shifted_copies(const MpdDataset& d, const TrainConfig& cfg, bool show) {
  std::set<std::string> originals;
  for (const auto& p : d.pairs)
    if (d.split.at(p.id) == "train") originals.insert(p.painting);
  const fs::path dir = fs::absolute(fs::path(cfg.out) / "distill_paintings");
  fs::create_directories(dir);
  std::mt19937_64 rng(cfg.seed * 0x9E3779B97F4A7C15ULL + 0xC0104ULL);
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * double(rng() >> 11) * 0x1.0p-53; };
  const size_t k_copies = size_t(cfg.distill_colour_shifts);
  const std::vector<std::string> sources(originals.begin(), originals.end());
  std::vector<LabShift> shifts;  // copy k of sources[i] at i * k_copies + k, as names
  std::vector<std::string> names;
  for (const std::string& p : sources) {
    std::string stem = p;
    for (char& c : stem)
      if (c == '/' || c == '.') c = '_';
    for (size_t k = 0; k < k_copies; ++k) {
      LabShift s;
      s.dl = uniform(-15, 15);
      s.chroma = std::exp(uniform(std::log(0.67), std::log(1.5)));
      s.db = uniform(-15, 15);
      names.push_back((dir / (stem + "__shift" + std::to_string(k) + ".png")).string());
      shifts.push_back(s);
    }
  }
  Progress bar("colour-shifted copies", names.size(), !show);
  parallel_for(sources.size(), int(std::thread::hardware_concurrency()), [&](size_t i, int) {
    const RgbImage img = load_image(d.root + "/" + sources[i]);  // decoded once for all its copies
    for (size_t k = 0; k < k_copies; ++k) write_lab_shifted_png(img, shifts[i * k_copies + k], names[i * k_copies + k]);
    bar.tick(k_copies);
  });
  bar.finish();
  return names;
}

void add_distill_pairs(Split& train, int64_t n, const TrainConfig& cfg, const std::vector<int64_t>& extra_paintings) {
  const std::set<int64_t> ms(train.m.begin(), train.m.end());
  std::set<int64_t> ps(train.p.begin(), train.p.end());
  ps.insert(extra_paintings.begin(), extra_paintings.end());
  const std::vector<int64_t> mv(ms.begin(), ms.end()), pv(ps.begin(), ps.end());
  std::set<std::pair<int64_t, int64_t>> have;
  for (size_t i = 0; i < train.m.size(); ++i) have.insert({train.m[i], train.p[i]});
  std::mt19937_64 rng(cfg.seed * 0x9E3779B97F4A7C15ULL + 0xD157111ULL);
  for (int64_t added = 0; added < n;) {
    const int64_t m = mv[size_t(rng() % mv.size())], p = pv[size_t(rng() % pv.size())];
    if (!have.insert({m, p}).second) continue;
    train.m.push_back(m), train.p.push_back(p), train.y.push_back(0.f);
    ++added;
  }
}

std::vector<std::string> names_by_index(const std::map<std::string, int64_t>& index) {
  std::vector<std::string> names(index.size());
  for (const auto& [name, i] : index) names[size_t(i)] = name;
  return names;
}

// The teacher's scores of the train pairs, on the inputs `score` gives it (the whole clip, its own features
// and cache entries), each clip encoded once for all its paintings.
std::vector<float> teacher_scores(Judge& teacher, const MpdDataset& d, const Features& feat, const Split& train,
                                  const TrainConfig& cfg, bool show) {
  const std::vector<std::string> mnames = names_by_index(feat.music_index),
                                 pnames = names_by_index(feat.painting_index);
  std::map<int64_t, size_t> mslot, pslot;  // feature index -> position in the teacher's input set
  std::vector<std::string> mp, pp;
  for (int64_t i : std::set<int64_t>(train.m.begin(), train.m.end()))
    mslot[i] = mp.size(), mp.push_back(d.root + "/" + mnames[size_t(i)]);
  for (int64_t i : std::set<int64_t>(train.p.begin(), train.p.end()))
    pslot[i] = pp.size(), pp.push_back(media_path(d, pnames[size_t(i)]));
  FeatureOptions fo;
  fo.cache_dir = cfg.cache_dir;
  const int workers =
      std::max(1, cfg.feature_threads > 0 ? cfg.feature_threads : int(std::thread::hardware_concurrency()));
  InputSet in;
  {
    Progress bar("teacher features", mp.size() + pp.size(), !show);
    in = prepare_inputs(teacher, pp, mp, fo, workers, &bar);
    bar.finish();
  }
  std::map<int64_t, std::vector<size_t>> by_music;
  for (size_t i = 0; i < train.m.size(); ++i) by_music[train.m[i]].push_back(i);
  std::vector<float> out(train.m.size());
  torch::NoGradGuard ng;
  Progress bar("teacher scores", train.m.size(), !show);
  for (const auto& [m, rows] : by_music)
    for (size_t b = 0; b < rows.size(); b += 64) {
      const size_t e = std::min(rows.size(), b + 64);
      std::vector<PaintingInput> ps;
      for (size_t k = b; k < e; ++k) ps.push_back(in.paintings[pslot.at(train.p[rows[k]])]);
      const torch::Tensor s =
          teacher.forward(stack_paintings(ps), expand_music(in.music[mslot.at(m)], int64_t(e - b))).score.contiguous();
      for (size_t k = b; k < e; ++k) out[rows[k]] = s[int64_t(k - b)].item<float>();
      bar.tick(e - b);
    }
  bar.finish();
  return out;
}

// The train split's targets: the teacher's scores mixed with the experts' on the corpus's pairs (the first
// `labelled` rows), the teacher's alone on the drawn ones. Rank 0 writes them all to RUN/distill_targets.csv
// (music, painting, expert score or empty for a drawn pair, teacher score, target).
void apply_teacher(Split& train, size_t labelled, const std::vector<float>& t, double w, const Features& feat,
                   const std::string& csv_path) {
  const std::vector<std::string> mnames = names_by_index(feat.music_index),
                                 pnames = names_by_index(feat.painting_index);
  std::string csv = "music,painting,expert,teacher,target\n";
  char num[64];
  for (size_t i = 0; i < train.y.size(); ++i) {
    const float expert = train.y[i];
    train.y[i] = i < labelled ? float(w * double(t[i]) + (1 - w) * double(expert)) : t[i];
    csv += csv_field(mnames[size_t(train.m[i])]) + "," + csv_field(pnames[size_t(train.p[i])]) + ",";
    if (i < labelled) std::snprintf(num, sizeof num, "%.6f", double(expert)), csv += num;
    std::snprintf(num, sizeof num, ",%.6f,%.6f\n", double(t[i]), double(train.y[i]));
    csv += num;
  }
  if (!csv_path.empty()) write_file_atomic(csv_path, csv);
}

// Pairs and within-split preferences by split, as feature indices.
std::map<std::string, Split> index_splits(const MpdDataset& d, const MediaSplitIndex& index, const Features& feat) {
  std::map<std::string, Split> splits;
  for (const auto& p : d.pairs) {
    const std::string& s = d.split.at(p.id);
    if (s == "excluded") continue;
    Split& sp = splits[s];
    sp.m.push_back(feat.music_index.at(p.music)), sp.p.push_back(feat.painting_index.at(p.painting));
    sp.y.push_back(float(p.score));
  }
  for (const auto& q : d.preferences) {
    const std::string s = preference_split(q, index);
    if (s.empty()) continue;
    Split& sp = splits[s];
    sp.pm.push_back(feat.music_index.at(q.music));
    sp.pw.push_back(feat.painting_index.at(q.chosen)), sp.pl.push_back(feat.painting_index.at(q.rejected));
  }
  return splits;
}

// config.json of the run: the options, the model's config, the sizes, the corpus it reads.
void write_run_config(const Trainer& T) {
  const TrainConfig& cfg = T.cfg;
  const Split& train = T.splits.at("train");
  Json c = T.config_json();
  c["world_size"] = cfg.world_size;
  c["threads"] = at::get_num_threads();
  c["mpjudge"] = version();
  c["model_config"] = T.judge->config_json();
  c["train_pairs"] = train.y.size();
  c["train_preferences"] = train.pm.size();
  c["total_steps"] = T.total_steps;
  std::ifstream corpus(cfg.data + "/corpus.json");
  if (corpus) c["corpus"] = Json::parse(corpus, nullptr, false);
  write_file_atomic(cfg.out + "/config.json", c.dump(2) + "\n");
}

// metrics.jsonl opened for appending; on resume it keeps only what the checkpointed steps wrote.
std::FILE* open_metrics(const std::string& path, bool resume, int64_t step) {
  std::string kept;
  if (resume) {
    std::ifstream f(path);
    for (std::string line; std::getline(f, line);) {
      Json j = Json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("step", int64_t(1) << 60) <= step) kept += line + "\n";
    }
  }
  write_file_atomic(path, kept);
  return std::fopen(path.c_str(), "a");
}

Json metric_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

// The trained model (with where it came from) and summary.json with every split's metrics.
void finish(Trainer& T, TrainResult& res, double feature_seconds, Clock::time_point t0) {
  const TrainConfig& cfg = T.cfg;
  Checkpoint ck = T.judge->checkpoint();
  ck.meta["trained"] = {{"stage", cfg.stage}, {"steps", T.step}, {"seed", cfg.seed}, {"data", cfg.data}};
  if (!T.emotion_cross_fit.is_null()) ck.meta["trained"]["emotion_cross_fit"] = T.emotion_cross_fit;
  if (!T.teacher.is_null()) ck.meta["trained"]["teacher"] = T.teacher;
  std::ifstream corpus(cfg.data + "/corpus.json");
  if (corpus) {
    Json c = Json::parse(corpus, nullptr, false);
    if (!c.is_discarded())
      ck.meta["trained"]["corpus"] = {{"version", c.value("corpus", "")}, {"seed", c.value("seed", 0)}};
  }
  res.model = cfg.out + "/model.mpjc";
  save_checkpoint(res.model, ck);
  Json summary{{"model", res.model}, {"stage", cfg.stage}, {"steps", T.step}};
  // The reference scores percentiles are read against: the model's scores on the test split, with the
  // inputs `score` gives it (the whole clip, not the training crop).
  if (T.splits.count("test") && !T.splits.at("test").y.empty()) {
    FeatureOptions fo;
    fo.cache_dir = cfg.cache_dir;
    summary["reference"] =
        Json::parse(write_model_reference(res.model, res.model, cfg.data, "test", "", fo))["reference"];
  }
  for (const char* split : {"val", "test", "test_style", "test_music"}) {
    const Metrics r = T.evaluate(split);
    if (r.n_pairs == 0) continue;
    summary[split] = {{"srcc", r.srcc},
                      {"mae", r.mae},
                      {"pref_acc", metric_or_null(r.pref_acc)},
                      {"pairs", r.n_pairs},
                      {"preferences", r.n_prefs}};
    if (std::string(split) == "val") res.val_srcc = r.srcc, res.val_pref_acc = r.pref_acc;
  }
  res.seconds = seconds_since(t0);
  summary["seconds"] = res.seconds;
  summary["feature_seconds"] = feature_seconds;
  write_file_atomic(cfg.out + "/summary.json", summary.dump(2) + "\n");
}

}  // namespace

TrainResult train(const TrainConfig& cfg_in) {
  const auto t0 = Clock::now();
  Trainer T;
  T.cfg = checked_config(cfg_in);
  const TrainConfig& cfg = T.cfg;
  T.lead = cfg.rank == 0;
  const bool show = T.lead && !cfg.quiet;
  if (cfg.world_size > 1) {
    DistOptions d;
    d.master_addr = cfg.master_addr, d.master_port = cfg.master_port, d.rank = cfg.rank, d.world = cfg.world_size;
    d.timeout_s = cfg.timeout_s, d.interface = cfg.interface;
    T.dist = std::make_unique<Distributed>(d);
  }
  // Threads: this machine's cores over this job's processes on it (--nproc, or the launcher's
  // LOCAL_WORLD_SIZE; one per machine otherwise).
  const int cores = int(std::thread::hardware_concurrency());
  const int local = cfg.nproc > 1 ? cfg.nproc : cfg.local_world > 0 ? cfg.local_world : 1;
  set_threads(cfg.threads > 0 ? cfg.threads : std::max(1, cores / local));
  if (T.lead) prepare_run_folder(cfg);

  T.data = read_mpd_checked(cfg.data);
  if (T.data.split.empty())
    fail_usage("train: " + cfg.data + " has no split.json", "run `mpjudge data split " + cfg.data + "` first");
  Checkpoint start;
  T.judge = starting_judge(cfg, start);

  // Features: rank 0 first (on one machine the others then read its cache); the others wait for it as long
  // as the store answers, and rank 0 waits for them at most --timeout plus twice its own extraction time.
  std::set<std::string> musics, paintings;
  const MediaSplitIndex media_splits = split_of_media(T.data);
  media_used(T.data, media_splits, musics, paintings);
  EmotionCrossFit cross_fit;
  if (!cfg.emotion_cross_fit.empty()) cross_fit = read_emotion_cross_fit(T.data, media_splits, cfg, *T.judge);
  Teacher teacher;
  std::vector<std::string> shifted;  // --distill-colour-shifts: the copies' absolute paths
  if (!cfg.teacher.empty()) {
    check_distill_room(T.data, cfg.distill_pairs, cfg.distill_colour_shifts);
    teacher = read_teacher(cfg);
    if (cfg.distill_colour_shifts > 0) shifted = write_colour_shifted_copies(T.data, cfg, show);
    paintings.insert(shifted.begin(), shifted.end());
  }
  const auto tf = Clock::now();
  if (T.dist && !T.lead) T.dist->wait("features-lead", {0}, 0);
  T.feat = extract_features(T.data, musics, paintings, *T.judge, cfg, show);
  if (T.dist) T.dist->mark(T.lead ? "features-lead" : "features");
  if (T.dist && T.lead) {
    std::vector<int> others;
    for (int r = 1; r < cfg.world_size; ++r) others.push_back(r);
    T.dist->wait("features", others, cfg.timeout_s + 2 * seconds_since(tf));
  }
  const double feature_seconds = seconds_since(tf);
  if (!cfg.emotion_cross_fit.empty()) {
    apply_emotion_cross_fit(cross_fit, T.feat);
    T.emotion_cross_fit = cross_fit.meta;
  }
  load_va_labels(T.data, cfg, T.judge->learns_scores(), T.feat);
  T.splits = index_splits(T.data, media_splits, T.feat);
  const Split& train_split = T.splits["train"];
  if (train_split.y.size() < size_t(cfg.batch))
    fail_input(cfg.data + "/split.json", "at least one batch (" + std::to_string(cfg.batch) + ") of train pairs",
               std::to_string(train_split.y.size()));
  if (teacher.judge) {
    Split& train = T.splits["train"];
    const size_t labelled = train.y.size();
    std::vector<int64_t> extra;
    for (const auto& p : shifted) extra.push_back(T.feat.painting_index.at(p));
    add_distill_pairs(train, cfg.distill_pairs, cfg, extra);
    const std::vector<float> t = teacher_scores(*teacher.judge, T.data, T.feat, train, cfg, show);
    apply_teacher(train, labelled, t, cfg.teacher_weight, T.feat, T.lead ? cfg.out + "/distill_targets.csv" : "");
    teacher.meta["train_pairs"] = labelled;
    teacher.meta["distill_pairs"] = cfg.distill_pairs;
    if (cfg.distill_colour_shifts > 0) teacher.meta["distill_colour_shifts"] = cfg.distill_colour_shifts;
    T.teacher = teacher.meta;
    teacher.judge.reset();
  }
  if (cfg.stage == "dpo" && train_split.pm.size() < size_t(cfg.batch))
    fail_input(cfg.data + "/preferences.csv",
               "at least one batch (" + std::to_string(cfg.batch) + ") of preferences within the train split",
               std::to_string(train_split.pm.size()));

  T.start_optimiser();
  const std::string state_path = cfg.out + "/state.mpjc";
  if (cfg.resume && T.lead) {
    if (access(state_path.c_str(), F_OK) != 0)
      fail_usage("train: --resume " + cfg.out + ": no state.mpjc yet", "start the run again without --resume");
    T.load_state(state_path);
  }
  if (T.dist) T.broadcast_state();  // everyone starts from rank 0's parameters, moments and step
  if (cfg.stage == "dpo") T.score_reference(cfg.init.empty() ? start : load_checkpoint(cfg.ref));
  if (T.lead && !cfg.resume) write_run_config(T);

  std::FILE* metrics = T.lead ? open_metrics(cfg.out + "/metrics.jsonl", cfg.resume, T.step) : nullptr;
  const int64_t eval_every = cfg.eval_every > 0 ? cfg.eval_every : T.steps_per_epoch;
  Progress bar("train " + cfg.stage, size_t(T.total_steps), !show);
  bar.tick(size_t(T.step));
  const auto tl = Clock::now();
  while (T.step < T.total_steps) {
    const Trainer::StepLog log = T.train_step();
    if (metrics) {
      Json j{{"step", T.step},
             {"epoch", double(T.step) / double(T.steps_per_epoch)},
             {"loss", log.loss},
             {"lr", log.lr},
             {"grad_norm", log.grad_norm},
             {"seconds", std::round(seconds_since(tl) * 1000) / 1000}};
      if (cfg.stage == "dpo") j["regression_loss"] = log.regression_loss;
      std::fprintf(metrics, "%s\n", j.dump().c_str());
      std::fflush(metrics);
    }
    char status[96];
    std::snprintf(status, sizeof status, "loss %.4f", log.loss);
    bar.tick(1, status);
    const bool last = T.step == T.total_steps;
    if (T.lead && (T.step % eval_every == 0 || last)) {
      const Metrics r = T.evaluate("val");
      Json e{{"step", T.step},
             {"val_srcc", metric_or_null(r.srcc)},
             {"val_mae", metric_or_null(r.mae)},
             {"val_pref_acc", metric_or_null(r.pref_acc)}};
      std::fprintf(metrics, "%s\n", e.dump().c_str());
      std::fflush(metrics);
    }
    if (T.lead && (T.step % cfg.ckpt_every == 0 || last)) {
      T.save_state(state_path);
      write_curves(cfg.out);
    }
  }
  bar.finish();
  if (metrics) std::fclose(metrics);

  TrainResult res;
  res.steps = T.step;
  res.feature_seconds = feature_seconds;
  if (T.lead) finish(T, res, feature_seconds, t0);
  if (T.dist) T.dist->barrier();
  res.seconds = seconds_since(t0);
  return res;
}

}  // namespace mpjudge
