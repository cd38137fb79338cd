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
#include "common/progress.h"
#include "data/mpd.h"
#include "image/plot.h"
#include "model/checkpoint.h"
#include "model/encoders.h"
#include "model/inputs.h"
#include "model/judge.h"
#include "model/runtime.h"
#include "train/distributed.h"

namespace mpjudge {
namespace {

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
  for (const auto& p : pl) pp.push_back(d.root + "/" + p);
  for (const auto& m : ml) mp.push_back(d.root + "/" + m);
  Progress bar("features", ml.size() + pl.size(), !show);
  InputSet in = prepare_inputs(judge, pp, mp, fo, workers, &bar);
  bar.finish();
  std::vector<torch::Tensor> mels, pitch, desc;
  for (const auto& one : in.music) {
    const MusicInput mi = judge.crop(one, cfg.crop_frames);
    mels.push_back(mi.mel[0]);
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

torch::Tensor select(const torch::Tensor& t, const torch::Tensor& index) {
  return t.defined() ? t.index_select(0, index) : t;
}

// ---- metrics -----------------------------------------------------------------------------------------

struct EvalResult {
  double srcc = NAN, mae = NAN, pref_acc = NAN;
  size_t n_pairs = 0, n_prefs = 0;
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
  bool lead = true;  // rank 0: writes the run folder

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

  EvalResult evaluate(const std::string& split) {
    EvalResult r;
    auto it = splits.find(split);
    if (it == splits.end()) return r;
    const Split& s = it->second;
    judge->set_training(false);
    if (!s.y.empty()) {
      std::vector<float> pred = scores_nograd(s.m, s.p);
      std::vector<double> a(pred.begin(), pred.end()), b(s.y.begin(), s.y.end());
      r.srcc = spearman(a, b);
      double mae = 0;
      for (size_t i = 0; i < a.size(); ++i) mae += std::fabs(a[i] - b[i]);
      r.mae = mae / double(a.size());
      r.n_pairs = a.size();
    }
    if (!s.pm.empty()) {
      std::vector<float> w = scores_nograd(s.pm, s.pw), l = scores_nograd(s.pm, s.pl);
      size_t ok = 0;
      for (size_t i = 0; i < w.size(); ++i) ok += w[i] > l[i];
      r.pref_acc = double(ok) / double(w.size());
      r.n_prefs = w.size();
    }
    judge->set_training(true);
    return r;
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
      torch::Tensor em = (o.music_va - feat.music_va.index_select(0, im)).pow(2).sum(1) *
                         feat.music_va_mask.index_select(0, im);
      torch::Tensor ep = (o.painting_va - feat.painting_va.index_select(0, ip)).pow(2).sum(1) *
                         feat.painting_va_mask.index_select(0, ip);
      return em.sum() + ep.sum();
    }
    MPJudgeOutput o = outputs(mi, pi);
    torch::Tensor pred = o.score, target = torch::tensor(y);
    torch::Tensor diff = pred - target;
    torch::Tensor loss = cfg.loss == "mse" ? diff.pow(2).sum() : diff.abs().sum();
    if (cfg.va_weight > 0 && o.music_va.defined()) {
      torch::Tensor im = torch::tensor(mi, torch::kLong);
      torch::Tensor em = (o.music_va - feat.music_va.index_select(0, im)).pow(2).sum(1) *
                         feat.music_va_mask.index_select(0, im);
      loss = loss + cfg.va_weight * em.sum();
    }
    if (cfg.rank_weight > 0 && idx.size() > 1) {
      // Pairwise margin ranking within the batch, for pairs whose targets differ by more than the margin.
      torch::Tensor dy = target.unsqueeze(0) - target.unsqueeze(1), dp = pred.unsqueeze(0) - pred.unsqueeze(1);
      torch::Tensor mask = (dy > cfg.rank_margin).to(torch::kFloat);
      torch::Tensor hinge = torch::relu(cfg.rank_margin - dp) * mask;
      loss = loss + cfg.rank_weight * hinge.sum() / mask.sum().clamp_min(1.0) * double(idx.size());
    }
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
    torch::Tensor margin = (s2.narrow(0, 0, n) - torch::tensor(rw)) - (s2.narrow(0, n, n) - torch::tensor(rl));
    return -torch::log_sigmoid(cfg.beta * margin).sum();
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
        throw Error(ErrorKind::Model,
                    path + ": expected tensor buffer." + b.key() + ", found none or another shape");
      b.value().copy_(it->second);
    }
    step = ck.meta.at("step").get<int64_t>();
  }

  Json config_json() const {
    return {{"stage", cfg.stage},
            {"data", cfg.data},
            {"ref", cfg.ref},
            {"init", cfg.init},
            {"man", cfg.man},
            {"variant", variant_name(cfg.variant)},
            {"va_weight", cfg.va_weight},
            {"music_inputs", cfg.music_inputs},
            {"descriptor_version", cfg.descriptor_version},
            {"music_emotion_input", cfg.music_emotion_input},
            {"v1_descriptors", cfg.v1_descriptors},
            {"loss", cfg.loss},
            {"rank_weight", cfg.rank_weight},
            {"rank_margin", cfg.rank_margin},
            {"lr", cfg.lr},
            {"lr_min", cfg.lr_min},
            {"weight_decay", cfg.weight_decay},
            {"beta1", cfg.beta1},
            {"beta2", cfg.beta2},
            {"eps", cfg.eps},
            {"warmup", cfg.warmup},
            {"clip", cfg.clip},
            {"epochs", cfg.epochs},
            {"steps", cfg.steps},
            {"batch", cfg.batch},
            {"grad_shards", cfg.grad_shards},
            {"beta", cfg.beta},
            {"lambda", cfg.lambda},
            {"crop_frames", cfg.crop_frames},
            {"ckpt_every", cfg.ckpt_every},
            {"eval_every", cfg.eval_every},
            {"seed", cfg.seed}};
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

}  // namespace

TrainResult train(const TrainConfig& cfg_in) {
  const auto t0 = Clock::now();
  Trainer T;
  T.cfg = cfg_in;
  TrainConfig& cfg = T.cfg;
  if (cfg.stage != "sft" && cfg.stage != "dpo") fail_usage("train: --stage must be sft or dpo, found " + cfg.stage);
  if (cfg.stage == "dpo" && cfg.ref.empty()) fail_usage("train: --stage dpo needs --ref CKPT (the SFT model)");
  if (cfg.loss != "l1" && cfg.loss != "mse") fail_usage("train: --loss must be l1 or mse, found " + cfg.loss);
  if (cfg.man != "all" && cfg.man != "last") fail_usage("train: --man must be all or last, found " + cfg.man);
  if (cfg.descriptor_version != 1 && cfg.descriptor_version != 2)
    fail_usage("train: --descriptor-version must be 1 or 2, found " + std::to_string(cfg.descriptor_version));
  if ((cfg.music_emotion_input || cfg.v1_descriptors) && cfg.descriptor_version != 2)
    fail_usage("train: --music-emotion-input and --v1-descriptors need --descriptor-version 2");
  if (cfg.music_inputs != "all" && cfg.music_inputs != "descriptors")
    fail_usage("train: --music-inputs must be all or descriptors, found " + cfg.music_inputs);
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
  // The paper's transformer, trained from scratch, wants a gentler peak than the small heads on frozen features.
  if (cfg.lr == 0) cfg.lr = cfg.stage == "dpo" ? 2e-4 : paper_small ? 3e-4 : 1e-3;
  // DPO fine-tunes: more than 2 passes over the preferences traded SRCC for preference accuracy on
  // MPD-Open (4 epochs: test SRCC -0.012, models/README.md).
  if (cfg.epochs == 0) cfg.epochs = cfg.stage == "dpo" ? 2 : 4;
  if (!(cfg.lr > 0) || cfg.epochs < 1 || cfg.crop_frames < 16) fail_usage("train: expected lr > 0, epochs >= 1");
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

  // Run folder.
  const std::string state_path = cfg.out + "/state.mpjc";
  if (T.lead) {
    if (cfg.resume && !is_dir(cfg.out)) fail_usage("train: --resume " + cfg.out + ": no such run folder");
    if (!cfg.resume && is_dir(cfg.out) && access((cfg.out + "/config.json").c_str(), F_OK) == 0)
      fail_usage("train: " + cfg.out + " already holds a run", "use --resume to continue it, or another --out");
    mkdir(cfg.out.c_str(), 0755);
    if (!is_dir(cfg.out)) fail_usage("train: cannot create the run folder " + cfg.out);
  }

  // Dataset and splits.
  std::vector<MpdProblem> problems;
  T.data = read_mpd(cfg.data, problems);
  if (!problems.empty())
    throw Error(ErrorKind::Input, problems[0].str(), "run `mpjudge data validate " + cfg.data + "` for the full list");
  if (T.data.split.empty())
    fail_usage("train: " + cfg.data + " has no split.json", "run `mpjudge data split " + cfg.data + "` first");
  std::map<std::string, std::string> music_split, painting_split;
  std::set<std::string> musics, paintings;
  for (const auto& p : T.data.pairs) {
    const std::string& s = T.data.split.at(p.id);
    if (s == "excluded") continue;
    music_split[p.music] = s, painting_split[p.painting] = s;
    musics.insert(p.music), paintings.insert(p.painting);
  }
  for (const auto& q : T.data.preferences) {
    auto a = music_split.find(q.music), b = painting_split.find(q.chosen), c = painting_split.find(q.rejected);
    if (a != music_split.end() && b != painting_split.end() && c != painting_split.end() && a->second == b->second &&
        b->second == c->second)
      musics.insert(q.music), paintings.insert(q.chosen), paintings.insert(q.rejected);
  }
  // The judge: the default architecture in the variant asked for, or the paper's (paper_small), fresh
  // from the seed or as --init / --ref has it.
  MPJudgeConfig mc;
  if (cfg.man == "last") mc.man_layers = {"block_16_project_BN"};
  if (!paper_small) mc.variant = cfg.variant;
  mc.va_head = cfg.va_weight > 0 && cfg.variant == Variant::Man;
  mc.music_inputs = cfg.music_inputs;
  mc.descriptor_version = cfg.descriptor_version;
  mc.music_emotion_input = cfg.music_emotion_input;
  mc.v1_descriptors = cfg.v1_descriptors;
  mc.descriptor_dim = music_descriptor_dim(mc.descriptor_version, mc.music_emotion_input, mc.v1_descriptors);
  Checkpoint start;
  const std::string start_path = !cfg.init.empty() ? cfg.init : cfg.ref;
  torch::manual_seed(cfg.seed);
  if (!start_path.empty()) {
    start = load_checkpoint(start_path);
    if (start.arch != "paper" && start.arch != "mpjudge")
      throw Error(
          ErrorKind::Model,
          start_path + ": expected a checkpoint of architecture 'mpjudge' or 'paper', found '" + start.arch + "'",
          "an ensemble is trained one member at a time: pass a member's checkpoint");
    T.judge = load_judge(start, start_path);
  } else {
    T.judge = paper_small ? new_paper_judge(PaperConfig::paper_small()) : new_judge(mc);
  }
  // Features: rank 0 first (it fills the on-disk cache), then the others read it.
  auto tf = Clock::now();
  // Rank 0 extracts first (on one machine the others then read its cache); the others wait for it as long
  // as the store answers, and rank 0 waits for them at most --timeout plus twice its own extraction time.
  if (T.dist && !T.lead) T.dist->wait("features-lead", {0}, 0);
  T.feat = extract_features(T.data, musics, paintings, *T.judge, cfg, show);
  if (T.dist) T.dist->mark(T.lead ? "features-lead" : "features");
  if (T.dist && T.lead) {
    std::vector<int> others;
    for (int r = 1; r < cfg.world_size; ++r) others.push_back(r);
    T.dist->wait("features", others, cfg.timeout_s + 2 * seconds_since(tf));
  }
  const double feature_seconds = seconds_since(tf);
  {  // media.csv valence/arousal labels, for the emotion variant
    const size_t nm = T.feat.music_index.size(), np = T.feat.painting_index.size();
    std::vector<float> mva(nm * 2, 0), pva(np * 2, 0), mmask(nm, 0), pmask(np, 0);
    size_t labelled_m = 0, labelled_p = 0;
    for (const auto& md : T.data.media) {
      if (!md.valence || !md.arousal) continue;
      auto put = [&](const std::map<std::string, int64_t>& index, std::vector<float>& va, std::vector<float>& mask,
                     size_t& count) {
        auto it = index.find(md.path);
        if (it == index.end()) return;
        va[size_t(it->second) * 2] = float(*md.valence), va[size_t(it->second) * 2 + 1] = float(*md.arousal);
        mask[size_t(it->second)] = 1, ++count;
      };
      if (md.kind == "music") put(T.feat.music_index, mva, mmask, labelled_m);
      else put(T.feat.painting_index, pva, pmask, labelled_p);
    }
    T.feat.music_va = torch::tensor(mva).view({int64_t(nm), 2});
    T.feat.painting_va = torch::tensor(pva).view({int64_t(np), 2});
    T.feat.music_va_mask = torch::tensor(mmask), T.feat.painting_va_mask = torch::tensor(pmask);
    if (cfg.va_weight > 0 && labelled_m == 0)
      fail_input(cfg.data + "/media.csv", "music valence/arousal labels for --va-weight", "none");
    if (!T.judge->learns_scores() && (labelled_m == 0 || labelled_p == 0))
      fail_input(cfg.data + "/media.csv", "valence and arousal for music and paintings (the emotion baseline's labels)",
                 std::to_string(labelled_m) + " music and " + std::to_string(labelled_p) + " painting labels");
  }
  for (const auto& p : T.data.pairs) {
    const std::string& s = T.data.split.at(p.id);
    if (s == "excluded") continue;
    Split& sp = T.splits[s];
    sp.m.push_back(T.feat.music_index.at(p.music)), sp.p.push_back(T.feat.painting_index.at(p.painting));
    sp.y.push_back(float(p.score));
  }
  for (const auto& q : T.data.preferences) {
    auto a = music_split.find(q.music), b = painting_split.find(q.chosen), c = painting_split.find(q.rejected);
    if (a == music_split.end() || b == painting_split.end() || c == painting_split.end() || a->second != b->second ||
        b->second != c->second)
      continue;
    Split& sp = T.splits[a->second];
    sp.pm.push_back(T.feat.music_index.at(q.music));
    sp.pw.push_back(T.feat.painting_index.at(q.chosen)), sp.pl.push_back(T.feat.painting_index.at(q.rejected));
  }
  const Split& train_split = T.splits["train"];
  if (train_split.y.size() < size_t(cfg.batch))
    fail_input(cfg.data + "/split.json", "at least one batch (" + std::to_string(cfg.batch) + ") of train pairs",
               std::to_string(train_split.y.size()));
  if (cfg.stage == "dpo" && train_split.pm.size() < size_t(cfg.batch))
    fail_input(cfg.data + "/preferences.csv",
               "at least one batch (" + std::to_string(cfg.batch) + ") of preferences within the train split",
               std::to_string(train_split.pm.size()));

  T.judge->set_training(true);
  for (auto& p : T.module().named_parameters()) {
    T.names.push_back(p.key());
    T.params.push_back(p.value());
  }
  for (auto& p : T.params) T.m.push_back(torch::zeros_like(p)), T.v.push_back(torch::zeros_like(p));
  const size_t n_items = cfg.stage == "sft" ? train_split.y.size() : train_split.pm.size();
  T.steps_per_epoch = std::max<int64_t>(1, int64_t(n_items) / cfg.batch);
  T.total_steps = cfg.steps > 0 ? cfg.steps : cfg.epochs * T.steps_per_epoch;
  if (cfg.resume && T.lead) {
    if (access(state_path.c_str(), F_OK) != 0)
      fail_usage("train: --resume " + cfg.out + ": no state.mpjc yet", "start the run again without --resume");
    T.load_state(state_path);
  }
  if (T.dist) {  // everyone starts from rank 0's parameters, moments and step
    std::vector<torch::Tensor> all;
    for (size_t k = 0; k < T.params.size(); ++k)
      all.push_back(T.params[k].detach()), all.push_back(T.m[k]), all.push_back(T.v[k]);
    torch::Tensor st = torch::tensor({T.step}, torch::kLong);
    all.push_back(st);
    T.dist->broadcast(all);
    T.step = st.item<int64_t>();
  }

  // DPO reference: the frozen SFT model's scores on the train preferences, computed once.
  if (cfg.stage == "dpo") {
    const Checkpoint ref = cfg.init.empty() ? start : load_checkpoint(cfg.ref);  // start is --ref unless --init
    std::unique_ptr<Judge> keep = std::move(T.judge);
    T.judge = load_judge(ref, cfg.ref);
    T.ref_w = T.scores_nograd(train_split.pm, train_split.pw);
    T.ref_l = T.scores_nograd(train_split.pm, train_split.pl);
    T.judge = std::move(keep);
  }

  if (T.lead) {
    Json c = T.config_json();
    c["world_size"] = cfg.world_size;
    c["threads"] = at::get_num_threads();
    c["mpjudge"] = version();
    c["model_config"] = T.judge->config_json();
    c["train_pairs"] = train_split.y.size();
    c["train_preferences"] = train_split.pm.size();
    c["total_steps"] = T.total_steps;
    std::ifstream corpus(cfg.data + "/corpus.json");
    if (corpus) c["corpus"] = Json::parse(corpus, nullptr, false);
    if (!cfg.resume) write_file_atomic(cfg.out + "/config.json", c.dump(2) + "\n");
  }

  // Metrics file: on resume keep only what the checkpointed steps wrote.
  std::string metrics_path = cfg.out + "/metrics.jsonl";
  if (T.lead) {
    std::string kept;
    if (cfg.resume) {
      std::ifstream f(metrics_path);
      for (std::string line; std::getline(f, line);) {
        Json j = Json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.value("step", int64_t(1) << 60) <= T.step) kept += line + "\n";
      }
    }
    write_file_atomic(metrics_path, kept);
  }
  std::FILE* metrics = T.lead ? std::fopen(metrics_path.c_str(), "a") : nullptr;
  const int64_t eval_every = cfg.eval_every > 0 ? cfg.eval_every : T.steps_per_epoch;

  Progress bar("train " + cfg.stage, size_t(T.total_steps), !show);
  bar.tick(size_t(T.step));
  const auto tl = Clock::now();
  const Split& S = train_split;
  const double inv_batch = 1.0 / double(cfg.batch);
  while (T.step < T.total_steps) {
    const int64_t t = T.step;
    for (auto& p : T.params) p.mutable_grad() = torch::Tensor();
    double loss_value = 0, reg_part = 0;
    for (int shard = cfg.rank; shard < cfg.grad_shards; shard += cfg.world_size) {
      torch::Tensor loss;
      if (cfg.stage == "sft") {
        loss = T.regression_loss(T.batch_of(t, S.y.size(), 1, shard), S) * inv_batch;
      } else {
        // Preferences set the epochs; the regression term walks its own permutation of the pairs.
        torch::Tensor l_dpo = T.dpo_loss(T.batch_of(t, S.pm.size(), 2, shard), S) * inv_batch;
        torch::Tensor l_reg = T.regression_loss(T.batch_of(t, S.y.size(), 3, shard), S) * inv_batch;
        reg_part += l_reg.item<double>();
        loss = l_dpo + cfg.lambda * l_reg;
      }
      loss.backward();  // gradients accumulate over this process's shards, in shard order
      loss_value += loss.item<double>();
    }
    std::vector<torch::Tensor> grads;
    for (auto& p : T.params) grads.push_back(p.grad().defined() ? p.grad() : torch::zeros_like(p));
    if (T.dist) {
      torch::Tensor lv = torch::tensor({loss_value, reg_part}, torch::kDouble);
      T.dist->allreduce_sum(grads, lv);
      loss_value = lv[0].item<double>(), reg_part = lv[1].item<double>();
    }
    // Global gradient-norm clipping, then AdamW (decoupled weight decay; biases and norms too, as torch).
    double sq = 0;
    for (auto& g : grads) sq += g.pow(2).sum().item<double>();
    const double gnorm = std::sqrt(sq);
    const double scale = cfg.clip > 0 && gnorm > cfg.clip ? cfg.clip / (gnorm + 1e-6) : 1.0;
    const double lr = T.lr_at(t);
    const double bc1 = 1 - std::pow(cfg.beta1, double(t + 1)), bc2 = 1 - std::pow(cfg.beta2, double(t + 1));
    {
      torch::NoGradGuard ng;
      for (size_t k = 0; k < T.params.size(); ++k) {
        torch::Tensor g = grads[k] * scale;
        T.m[k].mul_(cfg.beta1).add_(g, 1 - cfg.beta1);
        T.v[k].mul_(cfg.beta2).addcmul_(g, g, 1 - cfg.beta2);
        T.params[k].mul_(1 - lr * cfg.weight_decay);
        torch::Tensor denom = (T.v[k] / bc2).sqrt_().add_(cfg.eps);
        T.params[k].addcdiv_(T.m[k], denom, -lr / bc1);
      }
    }
    T.step = t + 1;
    if (metrics) {
      Json j{{"step", T.step},     {"epoch", double(T.step) / double(T.steps_per_epoch)},
             {"loss", loss_value}, {"lr", lr},
             {"grad_norm", gnorm}, {"seconds", std::round(seconds_since(tl) * 1000) / 1000}};
      if (cfg.stage == "dpo") j["regression_loss"] = reg_part;
      std::fprintf(metrics, "%s\n", j.dump().c_str());
      std::fflush(metrics);
    }
    char status[96];
    std::snprintf(status, sizeof status, "loss %.4f", loss_value);
    bar.tick(1, status);
    const bool last = T.step == T.total_steps;
    if (T.lead && (T.step % eval_every == 0 || last)) {
      EvalResult r = T.evaluate("val");
      Json j{{"step", T.step},
             {"val_srcc", std::isfinite(r.srcc) ? Json(r.srcc) : Json(nullptr)},
             {"val_mae", std::isfinite(r.mae) ? Json(r.mae) : Json(nullptr)},
             {"val_pref_acc", std::isfinite(r.pref_acc) ? Json(r.pref_acc) : Json(nullptr)}};
      std::fprintf(metrics, "%s\n", j.dump().c_str());
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
  if (T.lead) {
    Checkpoint ck = T.judge->checkpoint();
    ck.meta["trained"] = {{"stage", cfg.stage}, {"steps", T.step}, {"seed", cfg.seed}, {"data", cfg.data}};
    std::ifstream corpus(cfg.data + "/corpus.json");
    if (corpus) {
      Json c = Json::parse(corpus, nullptr, false);
      if (!c.is_discarded())
        ck.meta["trained"]["corpus"] = {{"version", c.value("corpus", "")}, {"seed", c.value("seed", 0)}};
    }
    res.model = cfg.out + "/model.mpjc";
    save_checkpoint(res.model, ck);
    Json summary{{"model", res.model}, {"stage", cfg.stage}, {"steps", T.step}};
    for (const char* split : {"val", "test", "test_style", "test_music"}) {
      EvalResult r = T.evaluate(split);
      if (r.n_pairs == 0) continue;
      summary[split] = {{"srcc", r.srcc},
                        {"mae", r.mae},
                        {"pref_acc", std::isfinite(r.pref_acc) ? Json(r.pref_acc) : Json(nullptr)},
                        {"pairs", r.n_pairs},
                        {"preferences", r.n_prefs}};
      if (std::string(split) == "val") res.val_srcc = r.srcc, res.val_pref_acc = r.pref_acc;
    }
    res.seconds = seconds_since(t0);
    summary["seconds"] = res.seconds;
    summary["feature_seconds"] = feature_seconds;
    write_file_atomic(cfg.out + "/summary.json", summary.dump(2) + "\n");
  }
  if (T.dist) T.dist->barrier();
  res.seconds = seconds_since(t0);
  return res;
}

}  // namespace mpjudge
