// `mpjudge describe`, `features` and `info` (see commands.h).
#include <chrono>
#include <memory>

#include "commands.h"
#include "model/runtime.h"

namespace mpjudge::cli {

std::vector<Command> add_media_commands(CLI::App& app, CommonOptions& opt) {
  std::vector<Command> out;

  struct Describe {
    std::string music, painting;
  };
  auto d = std::make_shared<Describe>();
  auto* describe = app.add_subcommand(
      "describe",
      "Music descriptors (tempo, key, loudness...) and/or painting descriptors (CIELAB colour, edges, colour emotion)");
  describe->add_option("--music", d->music, "Music file (WAV, FLAC, OGG, MP3, AIFF)");
  describe->add_option("--painting", d->painting, "Painting file (JPEG, PNG, WebP, TIFF, BMP)");
  add_audio_options(describe, opt);
  add_image_options(describe, opt);
  add_output_options(describe, opt, false);
  out.push_back({describe, [d, &opt] {
                   if (d->music.empty() && d->painting.empty())
                     throw Error(ErrorKind::Usage, "describe needs --music FILE and/or --painting FILE");
                   Json j;
                   if (!d->music.empty() && d->painting.empty()) j = to_json(describe_music(d->music, opt.audio));
                   if (d->music.empty() && !d->painting.empty()) j = to_json(describe_painting(d->painting, opt.image));
                   if (!d->music.empty() && !d->painting.empty()) {
                     j["music"] = to_json(describe_music(d->music, opt.audio));
                     j["painting"] = to_json(describe_painting(d->painting, opt.image));
                   }
                   emit(j, opt.json);
                   return kOk;
                 }});

  struct Features {
    std::string music, painting, cache_dir;
    bool no_cache = false, values = false;
  };
  auto f = std::make_shared<Features>();
  auto* features = app.add_subcommand("features",
                                      "Pretrained-encoder features: MobileNetV2 (nsfwjs) for a painting, basic-pitch "
                                      "posteriors for music; cached by content hash");
  features->add_option("--painting", f->painting, "Painting file");
  features->add_option("--music", f->music, "Music file");
  features->add_option("--cache-dir", f->cache_dir,
                       "Feature cache folder (default $MPJUDGE_CACHE or ~/.cache/mpjudge)");
  features->add_flag("--no-cache", f->no_cache, "Neither read nor write the cache");
  features->add_flag("--values", f->values, "Include the full feature vector");
  add_output_options(features, opt);
  out.push_back({features, [f, &opt] {
                   if (f->music.empty() == f->painting.empty())
                     throw Error(ErrorKind::Usage, "features needs exactly one of --music FILE and --painting FILE");
                   FeatureOptions fo;
                   fo.cache_dir = f->cache_dir;
                   fo.use_cache = !f->no_cache;
                   const auto t0 = std::chrono::steady_clock::now();
                   Json j{{"file", f->painting.empty() ? f->music : f->painting}};
                   j.update(f->painting.empty() ? to_json(music_features(f->music, fo), f->values)
                                                : to_json(painting_features(f->painting, fo), f->values));
                   j["ms"] = json_ms_since(t0);
                   emit(j, opt.json);
                   return kOk;
                 }});

  auto no_sgemm = std::make_shared<bool>(false);
  auto* info = app.add_subcommand("info", "Versions, threads, and which BLAS libtorch uses (with a quick SGEMM rate)");
  info->add_flag("--no-sgemm", *no_sgemm, "Skip the SGEMM measurement");
  add_output_options(info, opt);
  out.push_back({info, [no_sgemm, &opt] {
                   RuntimeInfo r = runtime_info(!*no_sgemm);
                   Json j;
                   j["mpjudge"] = version();
                   j["torch"] = r.torch_version;
                   j["threads"] = r.threads;
                   j["blas"] = r.blas_library;
                   if (!*no_sgemm) j["sgemm_gflops"] = json_number(r.sgemm_gflops, 1);
                   emit(j, opt.json);
                   return kOk;
                 }});
  return out;
}

}  // namespace mpjudge::cli
