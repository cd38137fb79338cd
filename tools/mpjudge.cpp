// mpjudge — the command-line tool. A thin client of the library: parse flags, call, print.
// Subcommands: describe, features, score, rank, explain, init-model, info. Exit codes: docs/cli.md.
#include <mpjudge/mpjudge.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <cmath>
#include <cstdio>

#include "cli_common.h"
#include "common/json.h"
#include "model/runtime.h"

#include <dirent.h>
#include <sys/stat.h>

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
  for (float x : v) sum += x, sq += double(x) * x, mn = std::min(mn, double(x)), mx = std::max(mx, double(x)), nonzero += x != 0;
  double mean = v.empty() ? 0 : sum / double(v.size());
  auto r = [](double x) { return std::round(x * 1e5) / 1e5; };
  return Json{{"mean", r(mean)}, {"std", r(std::sqrt(std::max(0.0, sq / double(std::max<size_t>(1, v.size())) - mean * mean)))},
              {"min", r(mn)}, {"max", r(mx)}, {"l2_norm", r(std::sqrt(sq))}, {"nonzero", nonzero}};
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
  auto* features = app.add_subcommand("features", "Pretrained-encoder features: MobileNetV2 (nsfwjs) for a painting, basic-pitch posteriors for music; cached by content hash");
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
  auto* rank = app.add_subcommand("rank", "Rank a folder of paintings by coherence with one piece of music, best first");
  rank->add_option("--music", s_music, "Music file")->required();
  rank->add_option("--paintings", gallery, "Folder of paintings (JPEG, PNG, WebP, TIFF, BMP)")->required();
  rank->add_option("--top", top_k, "How many to list (0 = all)")->capture_default_str();
  add_model(rank);
  auto* explain = app.add_subcommand("explain", "Modulation maps: where the music changes the painting's features (overlay PNGs + raw maps JSON)");
  explain->add_option("--music", s_music, "Music file")->required();
  explain->add_option("--painting", s_painting, "Painting file")->required();
  explain->add_option("--out", out_dir, "Output folder (created)")->required();
  add_model(explain);
  auto* init = app.add_subcommand("init-model", "Write an untrained default-architecture checkpoint (MAN starts as the identity)");
  init->add_option("--out", init_out, "Checkpoint to write")->required();
  init->add_option("--seed", seed, "Random seed")->capture_default_str();
  init->add_flag("--random-man", random_man, "Start MAN blocks with small random modulation instead of the identity (demos, tests)");
  cli::add_output_options(init, opt);

  bool no_sgemm = false;
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
        for (size_t k = 0; k < pf.class_names.size(); ++k) classes[pf.class_names[k]] = std::round(pf.class_probs[k] * 1e4) / 1e4;
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
        std::sort(order.begin(), order.end(), [&](int a, int b) { return mf.note_activity[size_t(a)] > mf.note_activity[size_t(b)]; });
        Json top = Json::array();
        for (int k = 0; k < 5; ++k)
          top.push_back({{"midi", order[size_t(k)] + 21}, {"note", midi_name(order[size_t(k)] + 21)},
                         {"activity", std::round(mf.note_activity[size_t(order[size_t(k)])] * 1e4) / 1e4}});
        out["top_pitches"] = top;
        out["cached"] = mf.from_cache;
        if (full) out["values"] = mf.pooled;
      }
      out["ms"] = std::round(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() * 10) / 10;
      emit(out, opt.json);
      return cli::kOk;
    }
    auto model_or_default = [&]() -> std::string {
      if (!model_path.empty()) return model_path;
      throw Error(ErrorKind::Model, "no default model is shipped yet: expected --model CHECKPOINT",
                  "make one with `mpjudge init-model --out model.mpjc` (untrained) or train one");
    };
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
        mkdir(out_dir.c_str(), 0755);
        struct stat st {};
        if (stat(out_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
          throw Error(ErrorKind::Usage, out_dir + ": expected a folder to write into, found none (could not create it)");
        Json maps = Json::array();
        for (size_t k = 0; k < r.maps.size(); ++k) {
          const ModulationMap& m = r.maps[k];
          std::string png = out_dir + "/map_" + std::to_string(k) + "_" + m.layer + ".png";
          write_overlay_png(s_painting, m, png);
          maps.push_back({{"block", k}, {"layer", m.layer}, {"height", m.height}, {"width", m.width}, {"overlay", png}, {"values", m.values}});
        }
        out["maps"] = maps;
        std::string json_path = out_dir + "/maps.json", tmp = json_path + ".tmp";
        {
          std::ofstream f(tmp);
          f << out.dump(1) << "\n";
          if (!f) throw Error(ErrorKind::Internal, json_path + ": write failed");
        }
        if (rename(tmp.c_str(), json_path.c_str()) != 0) throw Error(ErrorKind::Internal, json_path + ": rename failed");
        for (auto& m : out["maps"]) m.erase("values");  // the console gets the summary, the file the numbers
        out["maps_json"] = json_path;
      }
      out["ms"] = std::round(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() * 10) / 10;
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
          if (lower.size() > strlen(ext) && lower.compare(lower.size() - strlen(ext), strlen(ext), ext) == 0) files.push_back(gallery + "/" + n);
      }
      closedir(d);
      std::sort(files.begin(), files.end());
      if (files.empty()) throw Error(ErrorKind::Input, gallery + ": expected paintings (.jpg .png .webp .tiff .bmp), found none");
      auto t0 = std::chrono::steady_clock::now();
      Scorer scorer(model_or_default(), sfo);
      std::vector<RankEntry> ranked = scorer.rank(s_music, files, top_k);
      Json list = Json::array();
      for (size_t i = 0; i < ranked.size(); ++i)
        list.push_back({{"rank", i + 1}, {"painting", ranked[i].painting}, {"score", std::round(ranked[i].score * 1e4) / 1e4}});
      Json out{{"music", s_music}, {"model", scorer.model_path()}, {"paintings", files.size()}, {"ranking", list}};
      out["ms"] = std::round(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() * 10) / 10;
      if (opt.json) {
        printf("%s\n", out.dump(2).c_str());
      } else {
        for (const auto& e : list) printf("%3d  %.4f  %s\n", e["rank"].get<int>(), e["score"].get<double>(), e["painting"].get<std::string>().c_str());
      }
      return cli::kOk;
    }
    if (init->parsed()) {
      Json out = Json::parse(write_initial_model(init_out, seed, random_man));
      emit(out, opt.json);
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
