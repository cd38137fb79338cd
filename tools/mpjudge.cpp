// mpjudge — the command-line tool. A thin client of the library: parse flags, call, print.
// Subcommands: describe, features, score, rank, explain, init-model, ensemble, data, corpus, train, eval, info.
// Exit codes: docs/cli.md.
#include <mpjudge/mpjudge.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "cli_common.h"
#include "cmd_emotion.h"
#include "cmd_serve.h"
#include "cmd_train.h"
#include "common/files.h"
#include "common/json.h"
#include "corpus/build.h"
#include "corpus/panel_json.h"
#include "data/csv.h"
#include "data/mpd.h"
#include "eval/evaluate.h"
#include "eval/report.h"
#include "image/plot.h"
#include "model/runtime.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mpjudge;

namespace {

void print_text(const Json& j, const std::string& indent = "") {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_object()) {
      printf("%s%s:\n", indent.c_str(), it.key().c_str());
      print_text(*it, indent + "  ");
    } else if (it->is_string()) {
      printf("%s%-22s %s\n", indent.c_str(), (it.key() + ":").c_str(), it->get<std::string>().c_str());
    } else {
      printf("%s%-22s %s\n", indent.c_str(), (it.key() + ":").c_str(), it->dump().c_str());
    }
  }
}

Json summary(const std::vector<float>& v) {
  double sum = 0, sq = 0, mn = 1e300, mx = -1e300;
  int nonzero = 0;
  for (float x : v)
    sum += x, sq += double(x) * x, mn = std::min(mn, double(x)), mx = std::max(mx, double(x)), nonzero += x != 0;
  double mean = v.empty() ? 0 : sum / double(v.size());
  auto r = [](double x) { return std::round(x * 1e5) / 1e5; };
  return Json{{"mean", r(mean)},
              {"std", r(std::sqrt(std::max(0.0, sq / double(std::max<size_t>(1, v.size())) - mean * mean)))},
              {"min", r(mn)},
              {"max", r(mx)},
              {"l2_norm", r(std::sqrt(sq))},
              {"nonzero", nonzero}};
}

std::string midi_name(int midi) {
  static const char* n[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
  return std::string(n[midi % 12]) + std::to_string(midi / 12 - 1);
}

void emit(const Json& j, bool json) {
  if (json)
    printf("%s\n", j.dump(2).c_str());
  else
    print_text(j);
}

}  // namespace

int main(int argc, char** argv) {
  tune_process_allocator();
  CLI::App app{"mpjudge: judge how faithfully a painting reflects the music that inspired it"};
  app.set_version_flag("--version", std::string("mpjudge ") + version());
  app.require_subcommand(1);
  cli::CommonOptions opt;

  std::string music, painting;
  auto* describe = app.add_subcommand(
      "describe",
      "Music descriptors (tempo, key, loudness...) and/or painting descriptors (CIELAB colour, edges, colour emotion)");
  describe->add_option("--music", music, "Music file (WAV, FLAC, OGG, MP3, AIFF)");
  describe->add_option("--painting", painting, "Painting file (JPEG, PNG, WebP, TIFF, BMP)");
  cli::add_audio_options(describe, opt);
  cli::add_image_options(describe, opt);
  cli::add_output_options(describe, opt);

  std::string f_music, f_painting, cache_dir;
  bool no_cache = false, full = false;
  auto* features = app.add_subcommand("features",
                                      "Pretrained-encoder features: MobileNetV2 (nsfwjs) for a painting, basic-pitch "
                                      "posteriors for music; cached by content hash");
  features->add_option("--painting", f_painting, "Painting file");
  features->add_option("--music", f_music, "Music file");
  features->add_option("--cache-dir", cache_dir, "Feature cache folder (default $MPJUDGE_CACHE or ~/.cache/mpjudge)");
  features->add_flag("--no-cache", no_cache, "Neither read nor write the cache");
  features->add_flag("--values", full, "Include the full feature vector");
  cli::add_output_options(features, opt);

  std::string model_path, s_music, s_painting, gallery, out_dir, init_out;
  int top_k = 10;
  uint64_t seed = 1;
  bool random_man = false;
  auto add_model = [&](CLI::App* sub) {
    sub->add_option("--model", model_path, "Checkpoint (default: the shipped model)");
    sub->add_option("--cache-dir", cache_dir, "Feature cache folder");
    sub->add_flag("--no-cache", no_cache, "Neither read nor write the feature cache");
    cli::add_output_options(sub, opt);
  };
  auto* score = app.add_subcommand("score", "Coherence of a painting with the music that inspired it, in [0, 1]");
  score->add_option("--music", s_music, "Music file")->required();
  score->add_option("--painting", s_painting, "Painting file")->required();
  add_model(score);
  auto* rank =
      app.add_subcommand("rank", "Rank a folder of paintings by coherence with one piece of music, best first");
  rank->add_option("--music", s_music, "Music file")->required();
  rank->add_option("--paintings", gallery, "Folder of paintings (JPEG, PNG, WebP, TIFF, BMP)")->required();
  rank->add_option("--top", top_k, "How many to list (0 = all)")->capture_default_str();
  add_model(rank);
  auto* explain = app.add_subcommand(
      "explain", "Modulation maps: where the music changes the painting's features (overlay PNGs + raw maps JSON)");
  explain->add_option("--music", s_music, "Music file")->required();
  explain->add_option("--painting", s_painting, "Painting file")->required();
  explain->add_option("--out", out_dir, "Output folder (created)")->required();
  add_model(explain);
  auto* init = app.add_subcommand("init-model",
                                  "Write an untrained default-architecture checkpoint (MAN starts as the identity)");
  init->add_option("--out", init_out, "Checkpoint to write")->required();
  init->add_option("--seed", seed, "Random seed")->capture_default_str();
  init->add_flag("--random-man", random_man,
                 "Start MAN blocks with small random modulation instead of the identity (demos, tests)");
  cli::add_output_options(init, opt);
  std::string ens_out;
  std::vector<std::string> ens_members;
  auto* ens =
      app.add_subcommand("ensemble", "Write one checkpoint averaging trained judges (scores and modulation maps)");
  ens->add_option("--out", ens_out, "Checkpoint to write")->required();
  ens->add_option("MEMBERS", ens_members, "Trained default-architecture checkpoints (at least 2)")->required();
  cli::add_output_options(ens, opt);

  auto* data = app.add_subcommand("data", "MPD datasets: validate, stats, split, import-json, export-json");
  data->require_subcommand(1);
  std::string data_dir, json_file, hist_png;
  SplitOptions split_opt;
  auto* d_validate =
      data->add_subcommand("validate", "Check a dataset; every problem with its file and row; exit 0 only when clean");
  d_validate->add_option("DIR", data_dir, "Dataset folder")->required();
  cli::add_output_options(d_validate, opt);
  auto* d_stats = data->add_subcommand(
      "stats",
      "Counts, score histogram, inter-rater agreement (Krippendorff's alpha, ICC) and the single-rater ceiling");
  d_stats->add_option("DIR", data_dir, "Dataset folder")->required();
  d_stats->add_option("--histogram-png", hist_png, "Also draw the score histogram here");
  cli::add_output_options(d_stats, opt);
  auto* d_split = data->add_subcommand(
      "split", "Write split.json: train/val/test disjoint by music and painting, plus a held-out style split");
  d_split->add_option("DIR", data_dir, "Dataset folder")->required();
  d_split->add_option("--seed", split_opt.seed, "Random seed")->capture_default_str();
  d_split->add_option("--val", split_opt.val, "Share of music pieces and paintings for validation")
      ->capture_default_str();
  d_split->add_option("--test", split_opt.test, "Share for test")->capture_default_str();
  d_split->add_option("--style-key", split_opt.style_key, "painting_source, music_source, or '' for none")
      ->capture_default_str();
  d_split
      ->add_option("--test-music", split_opt.test_music_sources,
                   "Music sources held out as test_music (comma-separated)")
      ->delimiter(',');
  d_split
      ->add_option("--test-music-share", split_opt.test_music_share,
                   "Share of paintings paired with the held-out music as test_music")
      ->capture_default_str();
  d_split->add_flag("--stratify-music", split_opt.stratify_music_by_source,
                    "Cut val/test within each music source, so each source is in train, val and test");
  d_split->add_option("--style-share", split_opt.style_share, "Share of style groups held out as test_style")
      ->capture_default_str();
  cli::add_output_options(d_split, opt);
  auto* d_import = data->add_subcommand(
      "import-json", "Import the authors' JSON list [{image_path, audio_path, score}] as an MPD dataset");
  d_import->add_option("FILE", json_file, "JSON list")->required();
  d_import->add_option("--out", data_dir, "Dataset folder to write")->required();
  auto* d_export = data->add_subcommand("export-json", "Export a dataset's pairs as the authors' JSON list");
  d_export->add_option("DIR", data_dir, "Dataset folder")->required();
  d_export->add_option("--out", json_file, "JSON file to write")->required();

  bool no_sgemm = false;
  auto* corpus =
      app.add_subcommand("corpus", "MPD-Open: build the open corpus of real media scored by the reference panel");
  corpus->require_subcommand(1);
  CorpusBuildOptions cb;
  std::string debian_root = "auto", shared_data = "auto";
  auto* c_build =
      corpus->add_subcommand("build", "Gather, vary, describe and score media into an MPD dataset (docs/corpus.md)");
  c_build->add_option("--out", cb.out, "Dataset folder to create")->required();
  c_build->add_option("--version", cb.version, "Corpus version: 2 (real recordings with listener emotions), 1 (v1)")
      ->capture_default_str();
  c_build
      ->add_option("--test-music", cb.test_music_sources, "v2: music sources held out as test_music (comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  c_build
      ->add_option("--comparison-noise", cb.comparison_noise_ratio,
                   "v2: a rater's comparison noise as a share of its rating noise")
      ->capture_default_str();
  c_build->add_option("--seed", cb.seed, "Seed for variations, pairs, panel and split")->capture_default_str();
  c_build->add_option("--clips", cb.clips, "Music clips (originals first, then MIDI variations)")
      ->capture_default_str();
  c_build->add_option("--paintings", cb.paintings, "Paintings (originals first, then colour/tone variations)")
      ->capture_default_str();
  c_build->add_option("--pairs", cb.pairs, "Scored music-painting pairs")->capture_default_str();
  c_build->add_option("--preferences", cb.preferences, "Preference pairs on ambiguous cases")->capture_default_str();
  c_build->add_option("--ambiguous-gap", cb.ambiguous_gap, "Score gap under which two paintings are ambiguous")
      ->capture_default_str();
  c_build->add_option("--clip-seconds", cb.clip_seconds, "Length of each music clip (0: v1 20 s, v2 30 s)")
      ->capture_default_str();
  c_build->add_option("--debian-root", debian_root,
                      "Where the Debian media packages are unpacked: auto = deps/media (scripts/setup.sh), else /");
  c_build->add_option("--shared-data", shared_data,
                      "Extra media (../shared/data layout): auto = $MPJUDGE_SHARED_DATA or ../shared/data beside the "
                      "project when present; none = Debian media only");
  c_build->add_flag("--force", cb.force, "Replace an existing dataset folder");
  c_build->add_flag("--quiet", cb.quiet, "No progress bar");
  cli::add_output_options(c_build, opt);
  auto* c_panel = corpus->add_subcommand(
      "panel", "The reference panel's terms, weights, rater model and GEMS coordinates, with reference samples");
  cli::add_output_options(c_panel, opt);

  EvalOptions eval_opt;
  std::string eval_cache;
  auto* eval_cmd = app.add_subcommand("eval",
                                      "Agreement of a model with an MPD split: SRCC, PLCC, KRCC, MAE, RMSE, "
                                      "preference accuracy, bootstrap 95% intervals, subsets, the human ceiling");
  eval_cmd->add_option("--model", eval_opt.model, "Checkpoint (default: the shipped model)");
  eval_cmd->add_option("--data", eval_opt.data, "MPD dataset folder (with split.json)")->required();
  eval_cmd->add_option("--split", eval_opt.split, "train | val | test | test_style | test_music")
      ->capture_default_str();
  eval_cmd->add_option("--bootstrap", eval_opt.bootstrap, "Bootstrap resamples (by music piece)")
      ->capture_default_str();
  eval_cmd->add_option("--seed", eval_opt.seed, "Bootstrap seed")->capture_default_str();
  eval_cmd->add_option("--cache-dir", eval_cache, "Feature cache folder");
  std::string eval_predictions;
  eval_cmd->add_option("--predictions", eval_predictions,
                       "Also write every scored pair (music, painting, sources, mos, pred) to this CSV file");
  cli::add_output_options(eval_cmd, opt);

  ReportOptions report_opt;
  std::vector<std::string> report_runs;
  std::string report_cache;
  auto* report_cmd = app.add_subcommand("report", "Evaluate several runs and write one self-contained HTML report");
  report_cmd->add_option("--runs", report_runs, "Runs to compare: NAME=RUN_DIR_OR_CKPT or RUN_DIR ...")->required();
  report_cmd->add_option("--data", report_opt.data, "MPD dataset folder (with split.json)")->required();
  report_cmd->add_option("--split", report_opt.split, "train | val | test | test_style | test_music")
      ->capture_default_str();
  report_cmd->add_option("--out", report_opt.out, "HTML file to write")->required();
  report_cmd->add_option("--bootstrap", report_opt.bootstrap, "Bootstrap resamples (by music piece)")
      ->capture_default_str();
  report_cmd->add_option("--seed", report_opt.seed, "Bootstrap seed")->capture_default_str();
  report_cmd->add_option("--gallery-songs", report_opt.gallery_songs, "Songs in the modulation-map gallery")
      ->capture_default_str();
  report_cmd->add_option("--cache-dir", report_cache, "Feature cache folder");
  cli::add_output_options(report_cmd, opt);

  TrainConfig train_cfg;
  auto* train_cmd = cli::add_train_command(app, train_cfg, opt);
  cli::ServeCommands serve_cmds = cli::add_serve_commands(app, opt);
  auto [emotion_cmd, run_emotion] = cli::add_emotion_command(app, opt);

  auto* info = app.add_subcommand("info", "Versions, threads, and which BLAS libtorch uses (with a quick SGEMM rate)");
  info->add_flag("--no-sgemm", no_sgemm, "Skip the SGEMM measurement");
  cli::add_output_options(info, opt);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : cli::kUsage;
  }

  return cli::guarded([&]() -> int {
    set_threads(opt.threads);
    if (describe->parsed()) {
      if (music.empty() && painting.empty())
        throw Error(ErrorKind::Usage, "describe needs --music FILE and/or --painting FILE");
      Json out;
      if (!music.empty() && painting.empty()) out = to_json(describe_music(music, opt.audio));
      if (music.empty() && !painting.empty()) out = to_json(describe_painting(painting, opt.image));
      if (!music.empty() && !painting.empty()) {
        out["music"] = to_json(describe_music(music, opt.audio));
        out["painting"] = to_json(describe_painting(painting, opt.image));
      }
      emit(out, opt.json);
      return cli::kOk;
    }
    if (features->parsed()) {
      if (f_music.empty() == f_painting.empty())
        throw Error(ErrorKind::Usage, "features needs exactly one of --music FILE and --painting FILE");
      FeatureOptions fo;
      fo.cache_dir = cache_dir;
      fo.use_cache = !no_cache;
      auto t0 = std::chrono::steady_clock::now();
      Json out;
      if (!f_painting.empty()) {
        PaintingFeatures pf = painting_features(f_painting, fo);
        out["file"] = f_painting;
        out["encoder"] = pf.encoder;
        out["sha256"] = pf.sha256;
        out["dim"] = pf.pooled.size();
        out["summary"] = summary(pf.pooled);
        Json classes;
        for (size_t k = 0; k < pf.class_names.size(); ++k)
          classes[pf.class_names[k]] = std::round(pf.class_probs[k] * 1e4) / 1e4;
        out["classes"] = classes;
        out["cached"] = pf.from_cache;
        if (full) out["values"] = pf.pooled;
      } else {
        MusicFeatures mf = music_features(f_music, fo);
        out["file"] = f_music;
        out["encoder"] = mf.encoder;
        out["sha256"] = mf.sha256;
        out["dim"] = mf.pooled.size();
        out["frames"] = mf.frames;
        out["duration_s"] = std::round(mf.duration_s * 1e3) / 1e3;
        out["summary"] = summary(mf.pooled);
        std::vector<int> order(88);
        for (int k = 0; k < 88; ++k) order[size_t(k)] = k;
        std::sort(order.begin(), order.end(),
                  [&](int a, int b) { return mf.note_activity[size_t(a)] > mf.note_activity[size_t(b)]; });
        Json top = Json::array();
        for (int k = 0; k < 5; ++k)
          top.push_back({{"midi", order[size_t(k)] + 21},
                         {"note", midi_name(order[size_t(k)] + 21)},
                         {"activity", std::round(mf.note_activity[size_t(order[size_t(k)])] * 1e4) / 1e4}});
        out["top_pitches"] = top;
        out["cached"] = mf.from_cache;
        if (full) out["values"] = mf.pooled;
      }
      out["ms"] =
          std::round(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() * 10) /
          10;
      emit(out, opt.json);
      return cli::kOk;
    }
    auto model_or_default = [&]() -> std::string { return cli::model_or_default_path(model_path); };
    FeatureOptions sfo;
    sfo.cache_dir = cache_dir;
    sfo.use_cache = !no_cache;
    if (score->parsed() || explain->parsed()) {
      auto t0 = std::chrono::steady_clock::now();
      Scorer scorer(model_or_default(), sfo);
      ScoreResult r = scorer.score(s_music, s_painting);
      Json out;
      out["score"] = std::round(r.score * 1e4) / 1e4;
      out["model"] = r.model;
      out["arch"] = r.arch;
      out["music"] = s_music;
      out["painting"] = s_painting;
      out["cached"] = {{"music", r.music_from_cache}, {"painting", r.painting_from_cache}};
      if (explain->parsed()) {
        if (r.maps.empty())
          throw Error(ErrorKind::Usage, r.model + ": this judge has no modulation maps (a baseline without MAN)",
                      "use an MPJudge model (variant man) for explain");
        mkdir(out_dir.c_str(), 0755);
        struct stat st {};
        if (stat(out_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
          throw Error(ErrorKind::Usage,
                      out_dir + ": expected a folder to write into, found none (could not create it)");
        Json maps = Json::array();
        for (size_t k = 0; k < r.maps.size(); ++k) {
          const ModulationMap& m = r.maps[k];
          std::string png = out_dir + "/map_" + std::to_string(k) + "_" + m.layer + ".png";
          write_overlay_png(s_painting, m, png);
          maps.push_back({{"block", k},
                          {"layer", m.layer},
                          {"height", m.height},
                          {"width", m.width},
                          {"overlay", png},
                          {"values", m.values}});
        }
        out["maps"] = maps;
        std::string json_path = out_dir + "/maps.json";
        write_file_atomic(json_path, out.dump(1) + "\n");
        for (auto& m : out["maps"]) m.erase("values");  // the console gets the summary, the file the numbers
        out["maps_json"] = json_path;
      }
      out["ms"] =
          std::round(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() * 10) /
          10;
      emit(out, opt.json);
      return cli::kOk;
    }
    if (rank->parsed()) {
      std::vector<std::string> files;
      DIR* d = opendir(gallery.c_str());
      if (!d) throw Error(ErrorKind::Input, gallery + ": expected a folder of paintings, found no such folder");
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name, lower = n;
        for (auto& c : lower) c = char(tolower(c));
        for (const char* ext : {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"})
          if (lower.size() > strlen(ext) && lower.compare(lower.size() - strlen(ext), strlen(ext), ext) == 0)
            files.push_back(gallery + "/" + n);
      }
      closedir(d);
      std::sort(files.begin(), files.end());
      if (files.empty())
        throw Error(ErrorKind::Input, gallery + ": expected paintings (.jpg .png .webp .tiff .bmp), found none");
      auto t0 = std::chrono::steady_clock::now();
      Scorer scorer(model_or_default(), sfo);
      std::vector<RankEntry> ranked = scorer.rank(s_music, files, top_k);
      Json list = Json::array();
      for (size_t i = 0; i < ranked.size(); ++i)
        list.push_back(
            {{"rank", i + 1}, {"painting", ranked[i].painting}, {"score", std::round(ranked[i].score * 1e4) / 1e4}});
      Json out{{"music", s_music}, {"model", scorer.model_path()}, {"paintings", files.size()}, {"ranking", list}};
      out["ms"] =
          std::round(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() * 10) /
          10;
      if (opt.json) {
        printf("%s\n", out.dump(2).c_str());
      } else {
        for (const auto& e : list)
          printf("%3d  %.4f  %s\n", e["rank"].get<int>(), e["score"].get<double>(),
                 e["painting"].get<std::string>().c_str());
      }
      return cli::kOk;
    }
    if (ens->parsed()) {
      emit(Json::parse(write_ensemble_model(ens_out, ens_members)), opt.json);
      return cli::kOk;
    }
    if (init->parsed()) {
      Json out = Json::parse(write_initial_model(init_out, seed, random_man));
      emit(out, opt.json);
      return cli::kOk;
    }
    if (data->parsed()) {
      auto fmt = [](const std::optional<double>& v) { return v ? Json(std::round(*v * 1e4) / 1e4) : Json(nullptr); };
      if (d_validate->parsed()) {
        std::vector<MpdProblem> problems = validate_mpd(data_dir);
        if (opt.json) {
          Json list = Json::array();
          for (const auto& p : problems) list.push_back({{"file", p.file}, {"row", p.row}, {"message", p.message}});
          printf("%s\n", Json{{"dataset", data_dir}, {"problems", list}, {"ok", problems.empty()}}.dump(2).c_str());
        } else {
          for (const auto& p : problems) printf("%s\n", p.str().c_str());
          printf("%s: %zu problem(s)\n", data_dir.c_str(), problems.size());
        }
        return problems.empty() ? cli::kOk : cli::kInput;
      }
      std::vector<MpdProblem> problems;
      MpdDataset ds = d_import->parsed() ? MpdDataset{} : read_mpd(data_dir, problems);
      if (!problems.empty() && !d_import->parsed())
        throw Error(
            ErrorKind::Input,
            problems[0].str() + (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : ""),
            "run `mpjudge data validate " + data_dir + "` for the full list");
      if (d_stats->parsed()) {
        MpdStats st = mpd_stats(ds);
        Json hist = Json::array();
        for (int c : st.histogram) hist.push_back(c);
        Json raters;
        for (const auto& [r, v] : st.rater_srcc) raters[r] = std::round(v * 1e4) / 1e4;
        Json out{{"pairs", st.pairs},
                 {"music_pieces", st.musics},
                 {"paintings", st.paintings},
                 {"raters", st.raters},
                 {"ratings", st.ratings},
                 {"preferences", st.preferences},
                 {"score_histogram", hist},
                 {"krippendorff_alpha_interval", fmt(st.alpha)},
                 {"icc_2k", fmt(st.icc2k)},
                 {"icc_21", fmt(st.icc21)},
                 {"icc_complete_units", st.icc_units},
                 {"rater_srcc_vs_others", raters},
                 {"single_rater_ceiling", fmt(st.ceiling)}};
        if (st.emotion_r2) {
          out["emotion_only"] = Json{{"pairs", st.emotion_pairs},
                                     {"r2", fmt(st.emotion_r2)},
                                     {"share_of_reliable_variance", fmt(st.emotion_share_of_reliable)},
                                     {"srcc", fmt(st.emotion_srcc)}};
        }
        auto counts = [&](const std::map<std::string, MpdStats::Count>& by, bool r2) {
          Json j = Json::object();
          for (const auto& [k, c] : by) {
            j[k] = Json{{"clips", c.clips}, {"pairs", c.pairs}};
            if (r2) j[k]["emotion_only_r2"] = fmt(c.emotion_r2);
          }
          return j;
        };
        out["music_by_kind"] = counts(st.music_by_kind, st.music_by_kind.size() > 1);
        out["music_by_source"] = counts(st.music_by_source, false);
        if (!hist_png.empty()) {
          std::vector<std::string> labels;
          for (int i = 0; i < 10; ++i) labels.push_back(std::to_string(i / 10.0).substr(0, 3));
          write_bar_chart_png(st.histogram, labels, "MPD score histogram (" + std::to_string(st.pairs) + " pairs)",
                              hist_png);
          out["histogram_png"] = hist_png;
        }
        if (opt.json) {
          printf("%s\n", out.dump(2).c_str());
        } else {
          print_text(out);
          int mx = *std::max_element(st.histogram.begin(), st.histogram.end());
          for (int i = 0; i < 10; ++i)
            printf("  [%.1f,%.1f%s %6d %s\n", i / 10.0, (i + 1) / 10.0, i == 9 ? "]" : ")", st.histogram[size_t(i)],
                   std::string(size_t(mx ? 50 * st.histogram[size_t(i)] / mx : 0), '#').c_str());
        }
        return cli::kOk;
      }
      if (d_split->parsed()) {
        auto split = make_split(ds, split_opt);
        write_split(data_dir, split, split_opt);
        std::map<std::string, int> counts;
        for (const auto& [id, s] : split) counts[s]++;
        Json out{{"seed", split_opt.seed}, {"counts", counts}, {"file", data_dir + "/split.json"}};
        emit(out, opt.json);
        return cli::kOk;
      }
      if (d_import->parsed()) {
        MpdDataset d = import_authors_json(json_file, data_dir);
        printf("%s\n", Json{{"imported", json_file}, {"out", data_dir}, {"pairs", d.pairs.size()}}.dump().c_str());
        return cli::kOk;
      }
      if (d_export->parsed()) {
        export_authors_json(ds, json_file);
        printf("%s\n", Json{{"exported", data_dir}, {"out", json_file}, {"pairs", ds.pairs.size()}}.dump().c_str());
        return cli::kOk;
      }
    }
    if (train_cmd->parsed()) return cli::run_train(train_cfg, opt, argc, argv);
    if (emotion_cmd->parsed()) return run_emotion();
    if (serve_cmds.serve->parsed() || serve_cmds.annotate->parsed()) return serve_cmds.run();
    if (report_cmd->parsed()) {
      for (const auto& r : report_runs) report_opt.runs.push_back(parse_run_spec(r));
      report_opt.features.cache_dir = report_cache;
      if (opt.threads > 0) report_opt.feature_threads = opt.threads;
      ReportSummary rs = write_report(report_opt);
      auto r4 = [](double v) { return std::isfinite(v) ? Json(std::round(v * 1e4) / 1e4) : Json(nullptr); };
      Json runs = Json::array();
      for (size_t k = 0; k < rs.results.size(); ++k) {
        const auto& [name, r] = rs.results[k];
        Json run{{"name", name}, {"srcc", r4(r.report.point.srcc)}, {"pref_acc", r4(r.report.point.pref_acc)}};
        if (k > 0) {  // the first run's advantage over this one, paired bootstrap
          Json d = Json::object();
          for (const auto& [key, x] : rs.vs_first[k - 1])
            d[key] = {{"point", r4(x.point)}, {"ci95", {r4(x.ci95.lo), r4(x.ci95.hi)}}, {"p", r4(x.p_not_better)}};
          run["first_minus_this"] = d;
        }
        runs.push_back(run);
      }
      emit(Json{{"out", rs.out}, {"runs", runs}, {"gallery_images", rs.gallery_images}}, opt.json);
      return cli::kOk;
    }
    if (eval_cmd->parsed()) {
      eval_opt.model = cli::model_or_default_path(eval_opt.model);
      eval_opt.features.cache_dir = eval_cache;
      if (opt.threads > 0) eval_opt.feature_threads = opt.threads;
      EvalOutput r = evaluate_model(eval_opt);
      if (!eval_predictions.empty()) {
        std::string csv = "music,painting,music_source,painting_source,mos,pred\n";
        char num_buf[64];
        for (const auto& p : r.pairs) {
          std::snprintf(num_buf, sizeof num_buf, "%.6f,%.6f\n", p.mos, p.pred);
          csv += csv_field(p.music) + "," + csv_field(p.painting) + "," + csv_field(p.music_source) + "," +
                 csv_field(p.painting_source) + "," + num_buf;
        }
        write_file_atomic(eval_predictions, csv);
      }
      auto num = [](double v) { return std::isfinite(v) ? Json(std::round(v * 1e4) / 1e4) : Json(nullptr); };
      auto metrics = [&](const Metrics& m) {
        return Json{{"srcc", num(m.srcc)},  {"plcc", num(m.plcc)}, {"krcc", num(m.krcc)},
                    {"mae", num(m.mae)},    {"rmse", num(m.rmse)}, {"pref_acc", num(m.pref_acc)},
                    {"n_pairs", m.n_pairs}, {"n_prefs", m.n_prefs}};
      };
      Json out = metrics(r.report.point);
      Json ci = Json::object();
      for (const auto& [k, v] : r.report.ci95) ci[k] = {num(v.lo), num(v.hi)};
      out["ci95"] = ci;
      Json bm = Json::object(), bp = Json::object();
      for (const auto& [k, v] : r.report.by_music_source) bm[k] = metrics(v);
      for (const auto& [k, v] : r.report.by_painting_source) bp[k] = metrics(v);
      out["by_music_source"] = bm;
      out["by_painting_source"] = bp;
      out["human_ceiling"] = r.ceiling ? num(*r.ceiling) : Json(nullptr);
      out["model"] = eval_opt.model;
      out["split"] = eval_opt.split;
      emit(out, opt.json);
      return cli::kOk;
    }
    if (c_build->parsed()) {
      const std::string root = exe_dir() + "/..";
      if (debian_root == "auto") debian_root = is_dir(root + "/deps/media/usr") ? root + "/deps/media" : "/";
      if (shared_data == "auto") {
        shared_data.clear();
        const char* env = getenv("MPJUDGE_SHARED_DATA");
        for (const std::string& c :
             {env ? std::string(env) : std::string(), root + "/../shared/data", std::string("../shared/data")})
          if (!c.empty() && is_dir(c)) {
            shared_data = c;
            break;
          }
      } else if (shared_data == "none") {
        shared_data.clear();
      } else if (!is_dir(shared_data)) {
        throw Error(ErrorKind::Usage, "--shared-data " + shared_data + ": expected a folder, found none");
      }
      cb.debian_root = debian_root, cb.shared_data = shared_data;
      if (opt.threads > 0) cb.threads = opt.threads;
      CorpusBuildResult r = build_corpus(cb);
      MpdStats st = mpd_stats(r.dataset);
      std::map<std::string, int> counts;
      for (const auto& [id, s] : r.dataset.split) counts[s]++;
      Json out{{"out", cb.out},
               {"corpus", corpus_version_name(r.version)},
               {"seed", cb.seed},
               {"debian_root", debian_root},
               {"shared_data", shared_data.empty() ? Json(nullptr) : Json(shared_data)},
               {"music_clips", st.musics},
               {"paintings", st.paintings},
               {"pairs", st.pairs},
               {"preferences", st.preferences},
               {"music_by_source", r.music_by_source},
               {"paintings_by_source", r.paintings_by_source},
               {"split", counts},
               {"skipped", r.skipped.size()},
               {"music_by_kind", Json::object()},
               {"single_rater_ceiling", st.ceiling ? Json(std::round(*st.ceiling * 1e4) / 1e4) : Json(nullptr)},
               {"seconds", std::round(r.seconds * 10) / 10}};
      for (const auto& [k, c] : st.music_by_kind)
        out["music_by_kind"][k] = Json{{"clips", c.clips}, {"pairs", c.pairs}};
      if (r.version >= 2)
        out["preference_check"] = {
            {"pairs", r.preference_check.pairs},
            {"preference_agrees_with_latent", std::round(r.preference_check.preference_agrees * 1e4) / 1e4},
            {"mean_score_agrees_with_latent", std::round(r.preference_check.mean_score_agrees * 1e4) / 1e4}};
      emit(out, opt.json);
      return cli::kOk;
    }
    if (c_panel->parsed()) {
      emit(panel_description(), opt.json);
      return cli::kOk;
    }
    if (info->parsed()) {
      RuntimeInfo r = runtime_info(!no_sgemm);
      Json j;
      j["mpjudge"] = version();
      j["torch"] = r.torch_version;
      j["threads"] = r.threads;
      j["blas"] = r.blas_library;
      if (!no_sgemm) j["sgemm_gflops"] = std::round(r.sgemm_gflops * 10) / 10;
      emit(j, opt.json);
      return cli::kOk;
    }
    return cli::kUsage;
  });
}
