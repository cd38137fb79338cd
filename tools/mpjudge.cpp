// mpjudge — the command-line tool. A thin client of the library: parse flags, call, print.
// Subcommands: describe, features, info. Exit codes: docs/cli.md.
#include <mpjudge/mpjudge.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "cli_common.h"
#include "common/json.h"
#include "model/runtime.h"

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
