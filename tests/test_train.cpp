// Training: a run folder with every hyper-parameter, per-step JSONL metrics and curve images;
// SIGKILL + --resume reaches bit-identical weights; 2 data-parallel processes (c10d Gloo on loopback)
// reach the weights of 1 process with the same global batch; DPO starts at log 2 against its frozen
// reference; bad configurations are usage errors that leave the run folder alone.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <mpjudge/mpjudge.h>
#include "common/json.h"
#include "data/csv.h"
#include "data/mpd.h"
#include "model/checkpoint.h"
#include "model/torch_pch.h"
#include "test_util.h"

using namespace mpjudge;
namespace fs = std::filesystem;

namespace {

std::string g_dir, g_data, g_cache;

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Largest absolute difference over all tensors of two checkpoints (names must match).
double max_diff(const std::string& a, const std::string& b) {
  Checkpoint x = load_checkpoint(a), y = load_checkpoint(b);
  EXPECT_EQ(x.tensors.size(), y.tensors.size());
  double d = 0;
  for (const auto& [name, t] : x.tensors) {
    auto it = y.tensors.find(name);
    if (it == y.tensors.end()) {
      ADD_FAILURE() << name << " missing in " << b;
      continue;
    }
    d = std::max(d, (t.to(torch::kDouble) - it->second.to(torch::kDouble)).abs().max().item<double>());
  }
  return d;
}

// The first music clip and the first painting listed in the test corpus's media.csv (absolute paths).
std::pair<std::string, std::string> first_music_and_painting() {
  std::ifstream media(g_data + "/media.csv");
  std::string line, music, painting;
  std::getline(media, line);
  while (std::getline(media, line) && (music.empty() || painting.empty())) {
    const std::string path = line.substr(0, line.find(','));
    (line.find(",music,") != std::string::npos ? music : painting) = g_data + "/" + path;
  }
  return {music, painting};
}

std::string train_args(const std::string& out, const std::string& extra) {
  return "train --data " + g_data + " --out " + out + " --cache-dir " + g_cache + " --quiet " + extra;
}

class Train : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_dir = testutil::tmp_dir("train");
    g_data = g_dir + "/corpus";
    g_cache = g_dir + "/cache";
    auto r = testutil::run_cli("corpus build --out " + g_data +
                               " --seed 2 --clips 30 --paintings 30 --pairs 200 --preferences 60 --clip-seconds 6"
                               " --quiet --shared-data none --debian-root " +
                               std::string(MPJUDGE_SOURCE_DIR) + "/deps/media");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
};

}  // namespace

TEST_F(Train, RunFolderMetricsCurvesAndDeterminism) {
  const std::string a = g_dir + "/det_a", b = g_dir + "/det_b";
  auto r = testutil::run_cli(train_args(a, "--batch 16 --steps 8 --eval-every 4 --lr 3e-3 --json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json out = Json::parse(r.out);
  EXPECT_EQ(out["steps"], 8);
  for (const char* f :
       {"config.json", "metrics.jsonl", "loss.png", "val.png", "state.mpjc", "model.mpjc", "summary.json"})
    EXPECT_TRUE(fs::exists(a + "/" + f)) << f;
  Json cfg = Json::parse(slurp(a + "/config.json"));
  for (const char* k : {"lr", "lr_min", "weight_decay", "warmup", "clip", "batch", "seed", "loss", "beta", "lambda",
                        "rank_weight", "epochs", "steps", "crop_frames", "model_config", "corpus"})
    EXPECT_TRUE(cfg.contains(k)) << "config.json lacks " << k;
  EXPECT_EQ(cfg["lr"], 3e-3);
  int steps = 0, evals = 0;
  std::ifstream m(a + "/metrics.jsonl");
  for (std::string line; std::getline(m, line);) {
    Json j = Json::parse(line);
    if (j.contains("loss")) {
      EXPECT_EQ(j["step"], ++steps);
      EXPECT_TRUE(std::isfinite(j["loss"].get<double>()));
    }
    if (j.contains("val_srcc")) ++evals;
  }
  EXPECT_EQ(steps, 8);
  EXPECT_EQ(evals, 2);
  // Same seed, same weights; another seed, other weights.
  ASSERT_EQ(testutil::run_cli(train_args(b, "--batch 16 --steps 8 --eval-every 4 --lr 3e-3")).exit_code, 0);
  EXPECT_EQ(max_diff(a + "/model.mpjc", b + "/model.mpjc"), 0.0);
  const std::string c = g_dir + "/det_c";
  ASSERT_EQ(testutil::run_cli(train_args(c, "--batch 16 --steps 8 --eval-every 4 --lr 3e-3 --seed 9")).exit_code, 0);
  EXPECT_GT(max_diff(a + "/model.mpjc", c + "/model.mpjc"), 1e-4);
  // The trained model scores with the ordinary scorer.
  auto [music, painting] = first_music_and_painting();
  auto s = testutil::run_cli("score --model " + a + "/model.mpjc --music " + music + " --painting " + painting +
                             " --cache-dir " + g_cache + " --json");
  EXPECT_EQ(s.exit_code, 0) << s.err;
}

// The last training step a run folder's metrics.jsonl has logged (0 for none yet).
int last_logged_step(const std::string& run) {
  std::ifstream m(run + "/metrics.jsonl");
  int last = 0;
  for (std::string line; std::getline(m, line);) {
    Json j = Json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.contains("loss")) last = j["step"];
  }
  return last;
}

// Runs `args` to the end, then again with a SIGKILL once a checkpoint exists and `kill_after` steps are
// logged, resumes it, and expects bit-identical weights and every step logged once.
void check_resume_after_sigkill(const std::string& tag, const std::string& args, int steps, int kill_after) {
  const std::string full = g_dir + "/" + tag + "_full", cut = g_dir + "/" + tag + "_killed";
  ASSERT_EQ(testutil::run_cli(train_args(full, args)).exit_code, 0);
  const std::string cmd = std::string(MPJUDGE_BINARY) + " " + train_args(cut, args);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), nullptr);
    _exit(127);
  }
  // Polls until the run has logged `kill_after` steps, as long as it runs (a loaded CI machine can take
  // minutes to get there; 120 s was once too few), with a 20-minute bound against a hang.
  const auto t0 = std::chrono::steady_clock::now();
  int killed_at = -1, st = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::minutes(20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (waitpid(pid, &st, WNOHANG) == pid) {
      exited = true;
      break;
    }
    if (!fs::exists(cut + "/state.mpjc")) continue;
    const int last = last_logged_step(cut);
    if (last >= kill_after) {
      kill(pid, SIGKILL);
      killed_at = last;
      break;
    }
  }
  if (!exited) {
    if (killed_at < 0) kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  ASSERT_GT(killed_at, 0) << (exited ? "the run ended before step " : "the run never reached step ") << kill_after;
  ASSERT_TRUE(WIFSIGNALED(st)) << "the run finished before it could be killed";
  EXPECT_FALSE(fs::exists(cut + "/model.mpjc"));
  printf("%s: killed at step %d; resuming\n", tag.c_str(), killed_at);
  auto r = testutil::run_cli(train_args(cut, args + " --resume"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double d = max_diff(full + "/model.mpjc", cut + "/model.mpjc");
  printf("%s: max |w_uninterrupted - w_resumed| = %g\n", tag.c_str(), d);
  EXPECT_EQ(d, 0.0);
  // The metrics log has every step exactly once.
  int n = 0;
  std::ifstream m(cut + "/metrics.jsonl");
  for (std::string line; std::getline(m, line);)
    if (line.find("\"loss\"") != std::string::npos) {
      EXPECT_EQ(Json::parse(line)["step"], ++n);
    }
  EXPECT_EQ(n, steps);
}

TEST_F(Train, ResumeAfterSigkillIsBitIdentical) {
  check_resume_after_sigkill("default", "--batch 16 --steps 24 --ckpt-every 4 --eval-every 8", 24, 6);
}

// paper_small has BatchNorm in its music encoder: its running statistics must come back too.
TEST_F(Train, PaperSmallResumeAfterSigkillIsBitIdentical) {
  check_resume_after_sigkill("paper", "--variant paper_small --batch 8 --steps 6 --ckpt-every 2 --eval-every 6", 6, 3);
}

TEST_F(Train, TwoProcessesMatchOneWithTheSameGlobalBatch) {
  const std::string one = g_dir + "/dp1", two = g_dir + "/dp2";
  // Same arithmetic per process: one intra-op thread each (thread counts change convolution rounding).
  const std::string args = "--batch 16 --steps 10 --eval-every 10 --master-port 29641 --threads 1";
  ASSERT_EQ(testutil::run_cli(train_args(one, args)).exit_code, 0);
  auto r = testutil::run_cli(train_args(two, args + " --nproc 2"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json cfg = Json::parse(slurp(two + "/config.json"));
  EXPECT_EQ(cfg["world_size"], 2);
  const double d = max_diff(one + "/model.mpjc", two + "/model.mpjc");
  printf("max |w_1proc - w_2proc| after 10 steps = %g\n", d);
  EXPECT_LE(d, 1e-5);
}

TEST_F(Train, DpoStartsAtLogTwoAgainstTheFrozenReference) {
  const std::string sft = g_dir + "/sft", dpo = g_dir + "/dpo";
  ASSERT_EQ(testutil::run_cli(train_args(sft, "--batch 16 --steps 6")).exit_code, 0);
  auto r =
      testutil::run_cli(train_args(dpo, "--stage dpo --ref " + sft + "/model.mpjc --batch 8 --steps 4 --lambda 0"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream m(dpo + "/metrics.jsonl");
  std::string line;
  std::getline(m, line);
  const double first = Json::parse(line)["loss"];
  printf("first DPO loss %.6f (log 2 = %.6f)\n", first, std::log(2.0));
  EXPECT_NEAR(first, std::log(2.0), 1e-5);  // policy == reference at the start: zero margin
  EXPECT_EQ(Json::parse(slurp(dpo + "/config.json"))["stage"], "dpo");
}

// The baselines train and evaluate through the same commands; the emotion one learns valence/arousal.
TEST_F(Train, BaselineVariantsTrainEvaluateAndScore) {
  for (const char* v : {"late_fusion", "embedding", "emotion"}) {
    const std::string run = g_dir + "/variant_" + v;
    auto r = testutil::run_cli(train_args(run, std::string("--variant ") + v + " --batch 16 --steps 12 --lr 3e-3"));
    ASSERT_EQ(r.exit_code, 0) << v << ": " << r.err;
    Json mc = Json::parse(slurp(run + "/config.json"))["model_config"];
    EXPECT_EQ(mc["variant"], v);
    Checkpoint ck = load_checkpoint(run + "/model.mpjc");
    for (const auto& [name, t] : ck.tensors) EXPECT_NE(name.rfind("man.", 0), 0u) << v << " has MAN tensor " << name;
    auto e = testutil::run_cli("eval --model " + run + "/model.mpjc --data " + g_data + " --split val --cache-dir " +
                               g_cache + " --bootstrap 20 --json");
    ASSERT_EQ(e.exit_code, 0) << v << ": " << e.err;
    Json ev = Json::parse(e.out);
    EXPECT_GT(ev["n_pairs"].get<int>(), 0);
    EXPECT_TRUE(ev["srcc"].is_number()) << v << ": " << e.out;
    // Losses are finite; the emotion baseline's (valence/arousal error) goes down.
    std::vector<double> losses;
    std::ifstream m(run + "/metrics.jsonl");
    for (std::string line; std::getline(m, line);) {
      Json j = Json::parse(line);
      if (!j.contains("loss")) continue;
      losses.push_back(j["loss"]);
      EXPECT_TRUE(std::isfinite(losses.back()));
    }
    ASSERT_EQ(losses.size(), 12u);
    if (std::string(v) == "emotion") {
      const double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[9] + losses[10] + losses[11]) / 3;
      printf("emotion baseline: valence/arousal loss %.4f -> %.4f\n", first, last);
      EXPECT_LT(last, first);
    }
  }
  // explain needs modulation maps: a baseline is refused with a usage error, not a crash or an empty folder.
  auto [music, painting] = first_music_and_painting();
  auto x = testutil::run_cli("explain --model " + g_dir + "/variant_embedding/model.mpjc --music " + music +
                             " --painting " + painting + " --cache-dir " + g_cache + " --out " + g_dir + "/xmaps");
  EXPECT_EQ(x.exit_code, 2) << x.err;
  EXPECT_NE(x.err.find("no modulation maps"), std::string::npos) << x.err;
  auto bad = testutil::run_cli(train_args(g_dir + "/variant_bad", "--variant nope"));
  EXPECT_EQ(bad.exit_code, 2);
}

// The paper-small ablation: the authors' ViT-AdaIN trained from pixels and mel images by the same command,
// deterministic by seed, saved as an arch "paper" checkpoint that eval reads; DPO starts from it too.
TEST_F(Train, PaperSmallTrainsFromPixelsAndEvaluates) {
  const std::string a = g_dir + "/paper_a", b = g_dir + "/paper_b";
  const std::string args = "--variant paper_small --batch 8 --steps 3 --eval-every 3";
  auto r = testutil::run_cli(train_args(a, args));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(testutil::run_cli(train_args(b, args)).exit_code, 0);
  EXPECT_EQ(max_diff(a + "/model.mpjc", b + "/model.mpjc"), 0.0);
  Checkpoint ck = load_checkpoint(a + "/model.mpjc");
  EXPECT_EQ(ck.arch, "paper");
  EXPECT_EQ(ck.config["layers"], 6);
  EXPECT_EQ(ck.config["width"], 256);
  EXPECT_TRUE(ck.tensors.count("visual.blocks.5.adain2.scale.weight"));
  Json c = Json::parse(slurp(a + "/config.json"));
  EXPECT_EQ(c["variant"], "paper_small");
  EXPECT_EQ(c["lr"], 3e-4);  // the transformer's own default peak
  std::ifstream m(a + "/metrics.jsonl");
  int steps = 0;
  for (std::string line; std::getline(m, line);) {
    Json j = Json::parse(line);
    if (!j.contains("loss")) continue;
    ++steps;
    EXPECT_TRUE(std::isfinite(j["loss"].get<double>()));
  }
  EXPECT_EQ(steps, 3);
  auto e = testutil::run_cli("eval --model " + a + "/model.mpjc --data " + g_data + " --split val --cache-dir " +
                             g_cache + " --bootstrap 10 --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  Json ev = Json::parse(e.out);
  EXPECT_GT(ev["n_pairs"].get<int>(), 0);
  EXPECT_TRUE(ev["srcc"].is_number()) << e.out;
  // eval and the trainer's own summary see the same inputs: the same SRCC on the same split.
  Json summary = Json::parse(slurp(a + "/summary.json"));
  EXPECT_NEAR(ev["srcc"].get<double>(), summary["val"]["srcc"].get<double>(), 1e-3);
  // The ordinary scorer serves it too: a score in [0, 1] and one 16x16 map per AdaIN block.
  auto [music, painting] = first_music_and_painting();
  auto sc = testutil::run_cli("score --model " + a + "/model.mpjc --music " + music + " --painting " + painting +
                              " --cache-dir " + g_cache + " --json");
  ASSERT_EQ(sc.exit_code, 0) << sc.err;
  Json sj = Json::parse(sc.out);
  EXPECT_GE(sj["score"].get<double>(), 0.0);
  EXPECT_LE(sj["score"].get<double>(), 1.0);
  auto x = testutil::run_cli("explain --model " + a + "/model.mpjc --music " + music + " --painting " + painting +
                             " --cache-dir " + g_cache + " --out " + g_dir + "/paper_maps --json");
  ASSERT_EQ(x.exit_code, 0) << x.err;
  int pngs = 0;
  for (const auto& f : fs::directory_iterator(g_dir + "/paper_maps")) pngs += f.path().extension() == ".png";
  EXPECT_EQ(pngs, 6);
  const std::string d = g_dir + "/paper_dpo";
  r = testutil::run_cli(train_args(d, "--stage dpo --ref " + a + "/model.mpjc --batch 8 --steps 2"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(load_checkpoint(d + "/model.mpjc").arch, "paper");
  r = testutil::run_cli(train_args(g_dir + "/paper_bad", "--variant paper_small --man last"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

// --va-weight adds a training-only valence/arousal head on the music embedding: recorded, saved, and the
// score path is unchanged in shape.
TEST_F(Train, AuxiliaryValenceArousalHead) {
  const std::string run = g_dir + "/va";
  auto r = testutil::run_cli(train_args(run, "--va-weight 0.5 --batch 16 --steps 4"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json c = Json::parse(slurp(run + "/config.json"));
  EXPECT_EQ(c["va_weight"], 0.5);
  EXPECT_EQ(c["model_config"]["va_head"], true);
  Checkpoint ck = load_checkpoint(run + "/model.mpjc");
  EXPECT_TRUE(ck.tensors.count("va_music.0.weight"));
  auto e = testutil::run_cli("eval --model " + run + "/model.mpjc --data " + g_data + " --split val --cache-dir " +
                             g_cache + " --bootstrap 10 --json");
  EXPECT_EQ(e.exit_code, 0) << e.err;
  // Without the flag there is no such head (the default network's tensors are unchanged).
  ASSERT_EQ(testutil::run_cli("init-model --out " + g_dir + "/plain.mpjc").exit_code, 0);
  EXPECT_FALSE(load_checkpoint(g_dir + "/plain.mpjc").tensors.count("va_music.0.weight"));
}

// --music-inputs descriptors: a music encoder on the descriptor vector alone (no mel CNN, no pitch path),
// recorded in the checkpoint; eval --predictions writes every scored pair, and the SRCC of that file is eval's.
TEST_F(Train, DescriptorOnlyMusicEncoderAndEvalPredictions) {
  const std::string run = g_dir + "/desc";
  auto r = testutil::run_cli(train_args(run, "--music-inputs descriptors --batch 16 --steps 4"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(slurp(run + "/config.json"))["model_config"]["music_inputs"], "descriptors");
  Checkpoint ck = load_checkpoint(run + "/model.mpjc");
  for (const auto& [name, t] : ck.tensors) EXPECT_NE(name.rfind("music.conv.", 0), 0u) << name;
  ASSERT_TRUE(ck.tensors.count("music.mlp.0.weight"));
  EXPECT_EQ(ck.tensors.at("music.mlp.0.weight").size(1), 12);  // descriptor_dim of descriptors version 2
  const std::string csv_path = g_dir + "/desc_pred.csv";
  auto e = testutil::run_cli("eval --model " + run + "/model.mpjc --data " + g_data + " --split val --cache-dir " +
                             g_cache + " --bootstrap 10 --json --predictions " + csv_path);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  Json ev = Json::parse(e.out);
  std::vector<std::vector<std::string>> rows;
  std::string err;
  ASSERT_TRUE(parse_csv(slurp(csv_path), rows, err)) << err;
  ASSERT_EQ(rows.size(), ev["n_pairs"].get<size_t>() + 1);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"music", "painting", "music_source", "painting_source", "mos", "pred"}));
  std::vector<double> mos, pred;
  for (size_t i = 1; i < rows.size(); ++i) mos.push_back(std::stod(rows[i][4])), pred.push_back(std::stod(rows[i][5]));
  printf("descriptor-only encoder: val SRCC %.4f from eval, %.4f from its predictions file\n", ev["srcc"].get<double>(),
         spearman(pred, mos));
  EXPECT_NEAR(spearman(pred, mos), ev["srcc"].get<double>(), 1e-3);
  // paper_small has no such encoder: a usage error.
  EXPECT_EQ(
      testutil::run_cli(train_args(g_dir + "/desc_bad", "--variant paper_small --music-inputs descriptors")).exit_code,
      2);
  EXPECT_EQ(testutil::run_cli(train_args(g_dir + "/desc_bad", "--music-inputs pitch")).exit_code, 2);
}

// --music-inputs mel: the log-mel CNN and the descriptors, no basic-pitch: scoring such a judge never runs
// basic-pitch; its cache entry serves it again; an ensemble with a full member still gets the pitch posteriors.
TEST_F(Train, MelMusicEncoderNeedsNoBasicPitch) {
  const std::string run = g_dir + "/mel";
  auto r = testutil::run_cli(train_args(run, "--music-inputs mel --batch 16 --steps 4"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Checkpoint ck = load_checkpoint(run + "/model.mpjc");
  ASSERT_TRUE(ck.tensors.count("music.conv.0.weight"));
  EXPECT_EQ(ck.tensors.at("music.mlp.0.weight").size(1), 256 + 12);  // pooled log-mel + descriptors version 2
  auto [music, painting] = first_music_and_painting();
  const std::string cache = g_dir + "/mel_cache";
  setenv("MPJUDGE_TRACE", "1", 1);
  auto first = testutil::run_cli("score --model " + run + "/model.mpjc --music " + music + " --painting " + painting +
                                 " --cache-dir " + cache + " --json");
  auto again = testutil::run_cli("score --model " + run + "/model.mpjc --music " + music + " --painting " + painting +
                                 " --cache-dir " + cache + " --json");
  unsetenv("MPJUDGE_TRACE");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(first.err.find("music: log-mel"), std::string::npos) << first.err;
  EXPECT_EQ(first.err.find("basic-pitch"), std::string::npos) << first.err;
  EXPECT_EQ(again.err.find("music: log-mel"), std::string::npos) << "the cache entry did not serve: " << again.err;
  EXPECT_EQ(Json::parse(first.out)["score"], Json::parse(again.out)["score"]);
  // With a full member beside it, the entry is completed with the pitch posteriors and both score as alone.
  const std::string full = g_dir + "/mel_full", ens = g_dir + "/mel_ens.mpjc";
  ASSERT_EQ(testutil::run_cli(train_args(full, "--batch 16 --steps 4 --seed 4")).exit_code, 0);
  ASSERT_EQ(testutil::run_cli("ensemble --out " + ens + " " + run + "/model.mpjc " + full + "/model.mpjc").exit_code,
            0);
  FeatureOptions fo;
  fo.cache_dir = cache;
  const double e = Scorer(ens, fo).score(music, painting).score;
  const double a = Scorer(run + "/model.mpjc", fo).score(music, painting).score;
  const double b = Scorer(full + "/model.mpjc", fo).score(music, painting).score;
  printf("mel encoder %.6f, full encoder %.6f, their ensemble %.6f\n", a, b, e);
  EXPECT_NEAR(e, (a + b) / 2, 1e-6);
  FeatureOptions none = fo;
  none.use_cache = false;
  EXPECT_NEAR(Scorer(ens, none).score(music, painting).score, e, 1e-6);
}

// --emotion-cross-fit: the train clips' emotion inputs come from the file (what `mpjudge emotion
// --write-cross-fit` writes), recorded with its hash in the model; a file that lists val music, music of
// another corpus, a value out of range or a bad header is an input error naming its row; a judge that does not
// read the estimate is a usage error.
TEST_F(Train, EmotionCrossFitReplacesTheTrainClipsEstimates) {
  const MpdDataset d = read_mpd_checked(g_data);
  const MediaSplitIndex ms = split_of_media(d);
  std::string train_music, val_music;
  for (const auto& [path, split] : ms.music) {
    if (split == "train" && train_music.empty()) train_music = path;
    if (split == "val" && val_music.empty()) val_music = path;
  }
  ASSERT_FALSE(train_music.empty() || val_music.empty());
  auto write = [&](const std::string& name, const std::string& body) {
    std::ofstream(g_dir + "/" + name, std::ios::binary) << body;
    return g_dir + "/" + name;
  };
  const std::string header = "music,valence,arousal,fold\n";
  std::string all_train = header;
  for (const auto& [path, split] : ms.music)
    if (split == "train") all_train += path + ",1.0,-1.0,0\n";
  const std::string good = write("cf_good.csv", all_train);
  const std::string flags = "--music-inputs descriptors --music-emotion-input --batch 16 --steps 4 --seed 3";
  ASSERT_EQ(testutil::run_cli(train_args(g_dir + "/cf_none", flags)).exit_code, 0);
  auto r = testutil::run_cli(train_args(g_dir + "/cf", flags + " --emotion-cross-fit " + good));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Checkpoint ck = load_checkpoint(g_dir + "/cf/model.mpjc");
  ASSERT_TRUE(ck.meta["trained"].contains("emotion_cross_fit")) << ck.meta.dump();
  EXPECT_EQ(ck.meta["trained"]["emotion_cross_fit"]["sha256"],
            sha256_hex(reinterpret_cast<const uint8_t*>(all_train.data()), all_train.size()));
  EXPECT_EQ(Json::parse(slurp(g_dir + "/cf/config.json"))["emotion_cross_fit"], good);
  // Other inputs, other weights (the runs are otherwise identical and deterministic).
  const double diff = max_diff(g_dir + "/cf/model.mpjc", g_dir + "/cf_none/model.mpjc");
  printf("emotion cross-fit: max weight difference against the run without it %.3g\n", diff);
  EXPECT_GT(diff, 0.0);
  // Bad files: exit 3, naming the file and row; refused before any feature is extracted (a fresh cache
  // folder stays empty), so nothing is trained.
  struct Bad {
    std::string name, body, says;
  };
  const std::vector<Bad> bad = {
      {"cf_val.csv", header + val_music + ",0.5,0.5,0\n", "music of train pairs only"},
      {"cf_other.csv", header + "media/music/none.ogg,0.5,0.5,0\n", "a music file of"},
      {"cf_range.csv", header + train_music + ",1.5,0.5,0\n", "valence in -1..1"},
      {"cf_header.csv", "path,v,a\n", "the header music,valence,arousal,fold"},
      {"cf_twice.csv", header + train_music + ",0,0,0\n" + train_music + ",0,0,1\n", "each music file once"},
  };
  for (const auto& b : bad) {
    const std::string run = g_dir + "/" + b.name + ".run", cache = g_dir + "/" + b.name + ".cache";
    r = testutil::run_cli("train --data " + g_data + " --out " + run + " --cache-dir " + cache + " --quiet " + flags +
                          " --emotion-cross-fit " + write(b.name, b.body));
    EXPECT_EQ(r.exit_code, 3) << b.name << ": " << r.err;
    EXPECT_TRUE(!fs::exists(cache) || fs::is_empty(cache)) << b.name << ": features were extracted first";
    EXPECT_NE(r.err.find(b.name + ":"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(b.says), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(run + "/model.mpjc")) << b.name;
  }
  r = testutil::run_cli(train_args(g_dir + "/cf_noinput", "--batch 16 --steps 4 --emotion-cross-fit " + good));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--music-emotion-input"), std::string::npos) << r.err;
}

// `mpjudge ensemble`: one checkpoint whose score and maps are the mean of its members' (here a default and a
// descriptor-only judge); eval, score and explain read it; bad members are refused and nothing is written.
TEST_F(Train, EnsembleAveragesItsMembers) {
  const std::string a = g_dir + "/ens_a", b = g_dir + "/ens_b", e = g_dir + "/ens.mpjc";
  ASSERT_EQ(testutil::run_cli(train_args(a, "--batch 16 --steps 4 --seed 3")).exit_code, 0);
  ASSERT_EQ(testutil::run_cli(train_args(b, "--batch 16 --steps 4 --music-inputs descriptors")).exit_code, 0);
  auto r = testutil::run_cli("ensemble --out " + e + " " + a + "/model.mpjc " + b + "/model.mpjc --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["arch"], "mpjudge-ensemble");
  auto [music, painting] = first_music_and_painting();
  FeatureOptions fo;
  fo.cache_dir = g_cache;
  ScoreResult ra = Scorer(a + "/model.mpjc", fo).score(music, painting);
  ScoreResult rb = Scorer(b + "/model.mpjc", fo).score(music, painting);
  ScoreResult re = Scorer(e, fo).score(music, painting);
  EXPECT_EQ(re.arch, "mpjudge-ensemble");
  printf("ensemble: members %.6f and %.6f, ensemble %.6f\n", ra.score, rb.score, re.score);
  EXPECT_NEAR(re.score, (ra.score + rb.score) / 2, 1e-6);
  ASSERT_EQ(re.maps.size(), ra.maps.size());
  double worst = 0;
  for (size_t k = 0; k < re.maps.size(); ++k) {
    ASSERT_EQ(re.maps[k].values.size(), ra.maps[k].values.size());
    for (size_t i = 0; i < re.maps[k].values.size(); ++i)
      worst =
          std::max(worst, double(std::abs(re.maps[k].values[i] - (ra.maps[k].values[i] + rb.maps[k].values[i]) / 2)));
  }
  EXPECT_LT(worst, 1e-5);
  auto ev = testutil::run_cli("eval --model " + e + " --data " + g_data + " --split val --cache-dir " + g_cache +
                              " --bootstrap 10 --json");
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  EXPECT_TRUE(Json::parse(ev.out)["srcc"].is_number());
  auto x = testutil::run_cli("explain --model " + e + " --music " + music + " --painting " + painting +
                             " --cache-dir " + g_cache + " --out " + g_dir + "/ens_maps");
  EXPECT_EQ(x.exit_code, 0) << x.err;
  // Refusals: one member (usage), a baseline or paper member (model), an ensemble as a training start.
  const std::string bad = g_dir + "/ens_bad.mpjc";
  EXPECT_EQ(testutil::run_cli("ensemble --out " + bad + " " + a + "/model.mpjc").exit_code, 2);
  ASSERT_EQ(testutil::run_cli(train_args(g_dir + "/ens_lf", "--variant late_fusion --batch 16 --steps 2")).exit_code,
            0);
  r = testutil::run_cli("ensemble --out " + bad + " " + a + "/model.mpjc " + g_dir + "/ens_lf/model.mpjc");
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("ens_lf/model.mpjc"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(bad));
  r = testutil::run_cli(train_args(g_dir + "/ens_init", "--init " + e + " --batch 16 --steps 2"));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("one member at a time"), std::string::npos) << r.err;
}

// --teacher: the regression targets are the teacher's scores (as `score` gives them) mixed with the experts'
// by --teacher-weight, plus --distill-pairs drawn pairs of train media scored by the teacher alone; every
// target is in RUN/distill_targets.csv, the teacher's hash in the model. The student here reads descriptors
// only, so scoring it computes neither the log-mel nor basic-pitch.
TEST_F(Train, DistillationLearnsTheTeachersScores) {
  const std::string teacher = g_dir + "/teacher";
  ASSERT_EQ(testutil::run_cli(train_args(teacher, "--batch 16 --steps 4 --seed 3")).exit_code, 0);
  const std::string tpath = teacher + "/model.mpjc";
  const std::string flags = "--music-inputs descriptors --batch 16 --steps 4 --seed 5 --teacher " + tpath;
  const std::string run = g_dir + "/student";
  auto r = testutil::run_cli(train_args(run, flags + " --teacher-weight 0.5 --distill-pairs 40"));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const MpdDataset d = read_mpd_checked(g_data);
  std::map<std::pair<std::string, std::string>, double> train_pairs;
  std::set<std::pair<std::string, std::string>> corpus_pairs;
  for (const auto& p : d.pairs) {
    corpus_pairs.insert({p.music, p.painting});
    if (d.split.at(p.id) == "train") train_pairs[{p.music, p.painting}] = p.score;
  }
  std::set<std::string> train_music, train_paintings;
  for (const auto& [mp, score] : train_pairs) train_music.insert(mp.first), train_paintings.insert(mp.second);
  std::vector<std::vector<std::string>> rows;
  std::string err;
  ASSERT_TRUE(parse_csv(slurp(run + "/distill_targets.csv"), rows, err)) << err;
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], (std::vector<std::string>{"music", "painting", "expert", "teacher", "target"}));
  size_t labelled = 0, drawn = 0;
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<size_t> probe;  // rows whose teacher score is checked against `score`
  double worst_mix = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    ASSERT_EQ(row.size(), 5u) << i;
    const std::pair<std::string, std::string> key{row[0], row[1]};
    EXPECT_TRUE(seen.insert(key).second) << "pair twice: " << row[0] << " " << row[1];
    const double teacher_score = std::stod(row[3]), target = std::stod(row[4]);
    if (!row[2].empty()) {
      ++labelled;
      ASSERT_TRUE(train_pairs.count(key)) << "not a train pair: " << row[0] << " " << row[1];
      EXPECT_NEAR(std::stod(row[2]), train_pairs.at(key), 1e-5);
      worst_mix = std::max(worst_mix, std::abs(target - 0.5 * (teacher_score + std::stod(row[2]))));
      if (labelled <= 2) probe.push_back(i);
    } else {
      ++drawn;
      EXPECT_FALSE(corpus_pairs.count(key)) << "a drawn pair the corpus has: " << row[0] << " " << row[1];
      EXPECT_TRUE(train_music.count(row[0]) && train_paintings.count(row[1]))
          << "a drawn pair outside the train media: " << row[0] << " " << row[1];
      EXPECT_NEAR(target, teacher_score, 1e-6);
      if (drawn <= 2) probe.push_back(i);
    }
  }
  EXPECT_EQ(labelled, train_pairs.size());
  EXPECT_EQ(drawn, 40u);
  EXPECT_LT(worst_mix, 2e-6);
  FeatureOptions fo;
  fo.cache_dir = g_cache;
  Scorer tscorer(tpath, fo);
  double worst_teacher = 0;
  for (size_t i : probe)
    worst_teacher = std::max(
        worst_teacher,
        std::abs(tscorer.score(g_data + "/" + rows[i][0], g_data + "/" + rows[i][1]).score - std::stod(rows[i][3])));
  printf("distillation: %zu labelled + %zu drawn targets; teacher column vs `score`: max diff %.2g\n", labelled, drawn,
         worst_teacher);
  EXPECT_LT(worst_teacher, 2e-6);
  const Checkpoint ck = load_checkpoint(run + "/model.mpjc");
  ASSERT_TRUE(ck.meta["trained"].contains("teacher")) << ck.meta.dump();
  const std::string tbytes = slurp(tpath);
  EXPECT_EQ(ck.meta["trained"]["teacher"]["sha256"],
            sha256_hex(reinterpret_cast<const uint8_t*>(tbytes.data()), tbytes.size()));
  EXPECT_EQ(ck.meta["trained"]["teacher"]["distill_pairs"], 40);
  // The same seed draws the same pairs and gives the same targets.
  ASSERT_EQ(
      testutil::run_cli(train_args(g_dir + "/student2", flags + " --teacher-weight 0.5 --distill-pairs 40")).exit_code,
      0);
  EXPECT_EQ(slurp(g_dir + "/student2/distill_targets.csv"), slurp(run + "/distill_targets.csv"));
  EXPECT_EQ(max_diff(run + "/model.mpjc", g_dir + "/student2/model.mpjc"), 0.0);

  // The descriptor-only student's music needs neither the log-mel nor basic-pitch.
  auto [music, painting] = first_music_and_painting();
  setenv("MPJUDGE_TRACE", "1", 1);  // stage timings on stderr (docs/performance.md)
  auto sc = testutil::run_cli("score --model " + run + "/model.mpjc --music " + music + " --painting " + painting +
                              " --no-cache --json");
  unsetenv("MPJUDGE_TRACE");
  ASSERT_EQ(sc.exit_code, 0) << sc.err;
  EXPECT_EQ(sc.err.find("basic-pitch"), std::string::npos) << sc.err;
  EXPECT_EQ(sc.err.find("log-mel"), std::string::npos) << sc.err;
  EXPECT_NE(sc.err.find("music: descriptors"), std::string::npos) << sc.err;
  // (the JSON score has 4 decimals)
  EXPECT_NEAR(Json::parse(sc.out)["score"].get<double>(), Scorer(run + "/model.mpjc", fo).score(music, painting).score,
              1e-4);

  // Refusals, all before any feature is extracted.
  struct Bad {
    std::string args;
    int code;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {"--batch 16 --stage dpo --ref " + tpath + " --teacher " + tpath, 2, "--stage sft"},
      {"--batch 16 --distill-pairs 10", 2, "--teacher"},
      {"--batch 16 --teacher " + tpath + " --teacher-weight 1.5", 2, "--teacher-weight"},
      {"--batch 16 --teacher " + tpath + " --distill-pairs 100000", 2, "unpaired combinations"},
      {"--batch 16 --teacher " + g_dir + "/no_such_teacher.mpjc", 3, "no_such_teacher.mpjc"},
  };
  for (size_t k = 0; k < bad.size(); ++k) {
    const std::string out = g_dir + "/distill_bad" + std::to_string(k), cache = out + ".cache";
    r = testutil::run_cli("train --data " + g_data + " --out " + out + " --cache-dir " + cache + " --quiet " +
                          bad[k].args);
    EXPECT_EQ(r.exit_code, bad[k].code) << bad[k].args << ": " << r.err;
    EXPECT_NE(r.err.find(bad[k].says), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out + "/model.mpjc")) << bad[k].args;
    EXPECT_TRUE(!fs::exists(cache) || fs::is_empty(cache)) << bad[k].args << ": features were extracted";
  }
}

// --distill-colour-shifts K: K copies of each train painting in shifted colours (RUN/distill_paintings/, one
// per original and k, the original's size) join the paintings the drawn pairs are drawn from; the teacher
// scores a copy as `score` does; the same seed writes the same copies and targets.
TEST_F(Train, DistillationOnColourShiftedCopies) {
  const std::string tpath = g_dir + "/colour_teacher/model.mpjc";
  ASSERT_EQ(testutil::run_cli(train_args(g_dir + "/colour_teacher", "--batch 16 --steps 4 --seed 3")).exit_code, 0);
  const std::string flags =
      "--music-inputs descriptors --batch 16 --steps 4 --seed 5 --teacher " + tpath + " --distill-pairs 60";
  const std::string run = g_dir + "/colour_student";
  auto r = testutil::run_cli(train_args(run, flags + " --distill-colour-shifts 2"));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const MpdDataset d = read_mpd_checked(g_data);
  std::map<std::string, std::string> original_of;  // copy file name -> train painting
  for (const auto& p : d.pairs)
    if (d.split.at(p.id) == "train") {
      std::string stem = p.painting;
      for (char& c : stem)
        if (c == '/' || c == '.') c = '_';
      for (int k = 0; k < 2; ++k) original_of[stem + "__shift" + std::to_string(k) + ".png"] = p.painting;
    }
  const std::string dir = fs::absolute(run + "/distill_paintings").string();
  size_t copies = 0;
  for (const auto& f : fs::directory_iterator(dir)) {
    const std::string name = f.path().filename().string();
    ASSERT_TRUE(original_of.count(name)) << "not a copy of a train painting: " << name;
    const RgbImage copy = load_image(f.path().string()), orig = load_image(g_data + "/" + original_of.at(name));
    ASSERT_EQ(copy.width, orig.width) << name;
    ASSERT_EQ(copy.height, orig.height) << name;
    double diff = 0;
    for (size_t i = 0; i < copy.data.size(); ++i) diff += std::abs(int(copy.data[i]) - int(orig.data[i]));
    EXPECT_GT(diff / double(copy.data.size()), 1.0) << name << " is not shifted";
    ++copies;
  }
  EXPECT_EQ(copies, original_of.size());

  std::vector<std::vector<std::string>> rows;
  std::string err;
  ASSERT_TRUE(parse_csv(slurp(run + "/distill_targets.csv"), rows, err)) << err;
  size_t drawn = 0, on_copies = 0;
  std::vector<size_t> probe;
  for (size_t i = 1; i < rows.size(); ++i) {
    if (!rows[i][2].empty()) continue;
    ++drawn;
    if (rows[i][1].rfind(dir + "/", 0) != 0) continue;
    ++on_copies;
    EXPECT_TRUE(original_of.count(fs::path(rows[i][1]).filename().string())) << rows[i][1];
    if (probe.size() < 3) probe.push_back(i);
  }
  EXPECT_EQ(drawn, 60u);
  printf("colour-shifted copies: %zu; drawn pairs on copies: %zu of %zu\n", copies, on_copies, drawn);
  EXPECT_GT(on_copies, 10u);  // two copies per painting: about two thirds of the drawn paintings
  EXPECT_LT(on_copies, drawn);
  FeatureOptions fo;
  fo.cache_dir = g_cache;
  Scorer tscorer(tpath, fo);
  for (size_t i : probe)
    EXPECT_NEAR(tscorer.score(g_data + "/" + rows[i][0], rows[i][1]).score, std::stod(rows[i][3]), 2e-6) << rows[i][1];
  EXPECT_EQ(load_checkpoint(run + "/model.mpjc").meta["trained"]["teacher"]["distill_colour_shifts"], 2);

  // The same seed: the same copies, byte for byte, and the same targets (but for the run folder in the paths).
  const std::string run2 = g_dir + "/colour_student2";
  ASSERT_EQ(testutil::run_cli(train_args(run2, flags + " --distill-colour-shifts 2")).exit_code, 0);
  for (const auto& [name, original] : original_of)
    EXPECT_EQ(slurp(run2 + "/distill_paintings/" + name), slurp(dir + "/" + name)) << name;
  std::string t2 = slurp(run2 + "/distill_targets.csv");
  const std::string dir2 = fs::absolute(run2 + "/distill_paintings").string();
  for (size_t at; (at = t2.find(dir2)) != std::string::npos;) t2.replace(at, dir2.size(), dir);
  EXPECT_EQ(t2, slurp(run + "/distill_targets.csv"));
  EXPECT_EQ(max_diff(run + "/model.mpjc", run2 + "/model.mpjc"), 0.0);

  // Refused before any feature is extracted: copies without drawn pairs, a count out of range.
  for (const std::string& bad :
       {std::string("--teacher " + tpath + " --distill-colour-shifts 2"),
        std::string("--teacher " + tpath + " --distill-pairs 10 --distill-colour-shifts 17")}) {
    const std::string out = g_dir + "/colour_bad", cache = out + ".cache";
    r = testutil::run_cli("train --data " + g_data + " --out " + out + " --cache-dir " + cache +
                          " --quiet --batch 16 " + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--distill-colour-shifts"), std::string::npos) << r.err;
    EXPECT_TRUE(!fs::exists(cache) || fs::is_empty(cache)) << bad;
    fs::remove_all(out);
  }
}

TEST_F(Train, BadConfigurationsAreUsageErrors) {
  auto r = testutil::run_cli(train_args(g_dir + "/bad1", "--stage dpo"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--ref"), std::string::npos) << r.err;
  r = testutil::run_cli(train_args(g_dir + "/bad2", "--batch 15 --nproc 2"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = testutil::run_cli(train_args(g_dir + "/bad2", "--grad-shards 3 --nproc 2"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // An existing run is not overwritten; resuming with other hyper-parameters is refused.
  const std::string a = g_dir + "/existing";
  ASSERT_EQ(testutil::run_cli(train_args(a, "--batch 16 --steps 8 --eval-every 4")).exit_code, 0);
  const std::string before = slurp(a + "/model.mpjc");
  r = testutil::run_cli(train_args(a, "--batch 16 --steps 8"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  r = testutil::run_cli(train_args(a, "--batch 16 --steps 8 --eval-every 4 --lr 1e-2 --resume"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("lr"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(a + "/model.mpjc"), before);
  r = testutil::run_cli("train --data " + g_dir + "/nowhere --out " + g_dir + "/bad3 --quiet");
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

// ---- ranks on separate hosts ------------------------------------------------------------------------
// Each "host" is a network namespace with one veth link to a bridge in a switch namespace (Debian
// iproute2; needs root, which CI has), so a rank sees only its own address, 10.200.0.(k+1), as a machine
// on a LAN would. Where namespaces cannot be made the tests fail and say so.
namespace {

int sh(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

struct Hosts {
  std::string prefix = "mpj" + std::to_string(getpid()) + "_";
  int n = 0;
  std::string error;
  std::string ns(int k) const { return prefix + "h" + std::to_string(k); }
  std::string addr(int k) const { return "10.200.0." + std::to_string(k + 1); }
  explicit Hosts(int count) : n(count) {
    const std::string sw = prefix + "sw";
    std::string script =
        "set -e; ip netns add " + sw + "; ip -n " + sw + " link add br0 type bridge; ip -n " + sw + " link set br0 up;";
    for (int k = 0; k < n; ++k) {
      const std::string a = prefix + "a" + std::to_string(k), b = prefix + "b" + std::to_string(k);
      script += " ip netns add " + ns(k) + "; ip link add " + a + " type veth peer name " + b + "; ip link set " + a +
                " netns " + ns(k) + "; ip link set " + b + " netns " + sw + "; ip -n " + ns(k) + " link set " + a +
                " name eth0; ip -n " + ns(k) + " addr add " + addr(k) + "/24 dev eth0; ip -n " + ns(k) +
                " link set eth0 up; ip -n " + ns(k) + " link set lo up; ip -n " + sw + " link set " + b +
                " master br0 up;";
    }
    if (getuid() != 0)
      error = "not root: network namespaces need root (CI runs as root)";
    else if (sh("command -v ip >/dev/null") != 0)
      error = "no `ip` (Debian iproute2; scripts/setup.sh --tests installs it)";
    else if (sh("(" + script + ") >/dev/null 2>&1") != 0)
      error = "could not make " + std::to_string(n) + " network namespaces joined by veth pairs and a bridge";
  }
  ~Hosts() {
    for (int k = 0; k < n; ++k) sh("ip netns pids " + ns(k) + " 2>/dev/null | xargs -r kill -9 2>/dev/null");
    for (int k = 0; k < n; ++k) sh("ip netns del " + ns(k) + " 2>/dev/null");
    sh("ip netns del " + prefix + "sw 2>/dev/null");
  }
  // `mpjudge ARGS` inside host k, its stderr in LOG; returns the exit status.
  int run(int k, const std::string& env, const std::string& args, const std::string& log) const {
    return sh("ip netns exec " + ns(k) + " env " + env + " " + MPJUDGE_BINARY + " " + args + " >/dev/null 2>" + log);
  }
};

// One rank per host, concurrently; rank 1 takes its settings from torch.distributed's variables, the
// others from flags. Returns each rank's exit status; logs in OUT.rank<k>.log.
std::vector<int> run_ranks(const Hosts& h, const std::string& out, const std::string& args) {
  std::vector<std::future<int>> f;
  for (int k = 0; k < h.n; ++k) {
    const std::string log = out + ".rank" + std::to_string(k) + ".log";
    const std::string world = std::to_string(h.n);
    if (k == 1)
      f.push_back(std::async(std::launch::async, [&h, k, log, world, out, args] {
        return h.run(k, "MASTER_ADDR=" + h.addr(0) + " MASTER_PORT=29700 RANK=1 WORLD_SIZE=" + world,
                     train_args(out, args), log);
      }));
    else
      f.push_back(std::async(std::launch::async, [&h, k, log, world, out, args] {
        return h.run(k, "GLOO_SOCKET_IFNAME=eth0",
                     train_args(out, args + " --rank " + std::to_string(k) + " --world-size " + world +
                                         " --master-addr " + h.addr(0) + " --master-port 29700"),
                     log);
      }));
  }
  std::vector<int> rc;
  for (auto& x : f) rc.push_back(x.get());
  return rc;
}

double run_seconds(const std::string& run) { return Json::parse(slurp(run + "/summary.json")).value("seconds", 0.0); }

}  // namespace

TEST_F(Train, RanksOnTwoAndThreeHostsMatchOneProcess) {
  for (int n : {2, 3}) {
    // As many gradient shards as ranks: one process sums them in order, n ranks all-reduce them.
    const std::string args =
        "--batch 12 --grad-shards " + std::to_string(n) + " --steps 8 --eval-every 8 --threads 1 --timeout 60";
    const std::string one = g_dir + "/hosts1_" + std::to_string(n), local = g_dir + "/local" + std::to_string(n);
    ASSERT_EQ(testutil::run_cli(train_args(one, args)).exit_code, 0);
    auto l = testutil::run_cli(train_args(local, args + " --nproc " + std::to_string(n) + " --master-port 29642"));
    ASSERT_EQ(l.exit_code, 0) << l.err;
    Hosts h(n);
    ASSERT_TRUE(h.error.empty()) << h.error;
    const std::string run = g_dir + "/hosts" + std::to_string(n);
    const auto rc = run_ranks(h, run, args);
    for (int k = 0; k < n; ++k)
      ASSERT_EQ(rc[size_t(k)], 0) << "rank " << k << " of " << n << ": "
                                  << slurp(run + ".rank" + std::to_string(k) + ".log");
    EXPECT_EQ(Json::parse(slurp(run + "/config.json"))["world_size"], n);
    const double d1 = max_diff(one + "/model.mpjc", run + "/model.mpjc");
    const double dl = max_diff(local + "/model.mpjc", run + "/model.mpjc");
    printf(
        "%d hosts: max |w_1proc - w_%dhosts| = %g, |w_%dprocs_one_host - w_%dhosts| = %g after 8 steps; "
        "training %.2f s (1 process %.2f s, %d processes on one host %.2f s)\n",
        n, n, d1, n, n, dl, run_seconds(run), run_seconds(one), n, run_seconds(local));
    // Separate hosts change nothing in the arithmetic of ranks on one host; against one process only the
    // all-reduce's summation order differs (n = 2: none; n = 3: float rounding, which 8 AdamW steps carry
    // into the weights: measured 1.1e-4 to 5.2e-4 depending on the corpus's pairs, so the bound is 1e-3).
    EXPECT_LE(dl, 1e-6);
    EXPECT_LE(d1, n == 2 ? 1e-5 : 1e-3);
  }
}

TEST_F(Train, ARankThatCannotJoinOrDiesStopsTheOthersAndResumeReachesTheSameWeights) {
  Hosts h(2);
  ASSERT_TRUE(h.error.empty()) << h.error;
  // A missing rank: rank 0 alone gives up within its timeout and names rank 1.
  const std::string lonely = g_dir + "/lonely";
  const auto t0 = std::chrono::steady_clock::now();
  const int rc0 = h.run(0, "",
                        train_args(lonely, "--steps 2 --rank 0 --world-size 2 --master-addr " + h.addr(0) +
                                               " --master-port 29701 --timeout 5"),
                        lonely + ".log");
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string msg = slurp(lonely + ".log");
  printf("rank 0 without rank 1: exit %d after %.1f s: %s", rc0, waited, msg.c_str());
  EXPECT_EQ(rc0, 2);
  EXPECT_NE(msg.find("rank(s) 1 of 2 did not join"), std::string::npos) << msg;
  EXPECT_LT(waited, 60);
  // A rank whose master is not there gives up within its timeout, naming the address.
  const int rc1 = h.run(1, "",
                        train_args(lonely + "_r1", "--steps 2 --rank 1 --world-size 2 --master-addr " + h.addr(0) +
                                                       " --master-port 29702 --timeout 5"),
                        lonely + "_r1.log");
  const std::string msg1 = slurp(lonely + "_r1.log");
  printf("rank 1 without rank 0: exit %d: %s", rc1, msg1.c_str());
  EXPECT_EQ(rc1, 2);
  EXPECT_NE(msg1.find("cannot reach the store at " + h.addr(0) + ":29702"), std::string::npos) << msg1;
  // A rank killed mid-training: the other stops with an error instead of hanging.
  const std::string args =
      "--batch 12 --grad-shards 2 --steps 40 --ckpt-every 4 --eval-every 40 --threads 1 "
      "--timeout 30";
  const std::string full = g_dir + "/hosts_full", cut = g_dir + "/hosts_killed";
  const auto whole = run_ranks(h, full, args);  // the same job, never interrupted
  ASSERT_EQ(whole[0], 0) << slurp(full + ".rank0.log");
  ASSERT_EQ(whole[1], 0) << slurp(full + ".rank1.log");
  auto ranks = std::async(std::launch::async, [&] { return run_ranks(h, cut, args); });
  int killed_at = 0;
  const auto t1 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t1 < std::chrono::seconds(180) && !killed_at) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!fs::exists(cut + "/state.mpjc")) continue;
    const int last = last_logged_step(cut);
    if (last >= 8) {
      sh("ip netns pids " + h.ns(1) + " | xargs -r kill -9");
      killed_at = last;
    }
  }
  const auto t2 = std::chrono::steady_clock::now();
  const auto rc = ranks.get();
  const double stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
  ASSERT_GT(killed_at, 0) << "the run never reached step 8: " << slurp(cut + ".rank0.log");
  const std::string err = slurp(cut + ".rank0.log");
  printf("rank 1 killed at step %d; rank 0 stopped %.1f s later with exit %d: %s", killed_at, stop_s, rc[0],
         err.c_str());
  EXPECT_NE(rc[0], 0);
  EXPECT_LT(stop_s, 60);
  EXPECT_NE(err.find("another rank has stopped or is unreachable"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(cut + "/model.mpjc"));
  // Both ranks again, rank 0 resuming: the same weights as the uninterrupted run.
  const auto again = run_ranks(h, cut, args + " --resume");
  ASSERT_EQ(again[0], 0) << slurp(cut + ".rank0.log");
  ASSERT_EQ(again[1], 0) << slurp(cut + ".rank1.log");
  const double d = max_diff(full + "/model.mpjc", cut + "/model.mpjc");
  printf("max |w_uninterrupted - w_killed_and_resumed| = %g\n", d);
  EXPECT_EQ(d, 0.0);
}
