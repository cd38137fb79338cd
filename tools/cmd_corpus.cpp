// `mpjudge corpus build|panel` (see commands.h).
#include <memory>

#include "commands.h"
#include "common/files.h"
#include "corpus/build.h"
#include "corpus/panel_json.h"
#include "eval/results_json.h"

namespace mpjudge::cli {

std::vector<Command> add_corpus_commands(CLI::App& app, CommonOptions& opt) {
  struct Corpus {
    CorpusBuildOptions cb;
    std::string debian_root = "auto", shared_data = "auto";
  };
  auto o = std::make_shared<Corpus>();
  CorpusBuildOptions& cb = o->cb;
  auto* corpus =
      app.add_subcommand("corpus", "MPD-Open: build the open corpus of real media scored by the reference panel");
  corpus->require_subcommand(1);
  auto* build =
      corpus->add_subcommand("build", "Gather, vary, describe and score media into an MPD dataset (docs/corpus.md)");
  build->add_option("--out", cb.out, "Dataset folder to create")->required();
  build->add_option("--version", cb.version, "Corpus version: 2 (real recordings with listener emotions), 1 (v1)")
      ->capture_default_str();
  build->add_option("--test-music", cb.test_music_sources, "v2: music sources held out as test_music (comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  build
      ->add_option("--comparison-noise", cb.comparison_noise_ratio,
                   "v2: a rater's comparison noise as a share of its rating noise")
      ->capture_default_str();
  build->add_option("--seed", cb.seed, "Seed for variations, pairs, panel and split")->capture_default_str();
  build->add_option("--clips", cb.clips, "Music clips (originals first, then MIDI variations)")->capture_default_str();
  build->add_option("--paintings", cb.paintings, "Paintings (originals first, then colour/tone variations)")
      ->capture_default_str();
  build->add_option("--pairs", cb.pairs, "Scored music-painting pairs")->capture_default_str();
  build->add_option("--preferences", cb.preferences, "Preference pairs on ambiguous cases")->capture_default_str();
  build->add_option("--ambiguous-gap", cb.ambiguous_gap, "Score gap under which two paintings are ambiguous")
      ->capture_default_str();
  build->add_option("--clip-seconds", cb.clip_seconds, "Length of each music clip (0: v1 20 s, v2 30 s)")
      ->capture_default_str();
  build->add_option("--debian-root", o->debian_root,
                    "Where the Debian media packages are unpacked: auto = deps/media (scripts/setup.sh), else /");
  build->add_option("--shared-data", o->shared_data,
                    "Extra media (../shared/data layout): auto = $MPJUDGE_SHARED_DATA or ../shared/data beside the "
                    "project when present; none = Debian media only");
  build->add_flag("--force", cb.force, "Replace an existing dataset folder");
  build->add_flag("--quiet", cb.quiet, "No progress bar");
  add_output_options(build, opt);
  auto* panel = corpus->add_subcommand(
      "panel", "The reference panel's terms, weights, rater model and GEMS coordinates, with reference samples");
  add_output_options(panel, opt, false);

  return {{corpus, [o, build, &opt] {
             if (!build->parsed()) {
               emit(panel_description(), opt.json);
               return kOk;
             }
             resolve_media_roots(o->cb, o->debian_root, o->shared_data, exe_dir() + "/..");
             if (opt.threads > 0) o->cb.threads = opt.threads;
             const CorpusBuildResult r = build_corpus(o->cb);
             emit(to_json(r, o->cb), opt.json);
             return kOk;
           }}};
}

}  // namespace mpjudge::cli
