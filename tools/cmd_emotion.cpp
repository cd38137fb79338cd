// `mpjudge emotion` (see cmd_emotion.h).
#include "cmd_emotion.h"

#include <memory>

#include "common/json.h"
#include "eval/music_emotion_fit.h"

namespace mpjudge::cli {

std::pair<CLI::App*, std::function<int()>> add_emotion_command(CLI::App& app, CommonOptions& opt) {
  auto o = std::make_shared<EmotionStudyOptions>();
  auto* e = app.add_subcommand("emotion",
                               "Music emotion from audio: cross-validate the valence/arousal estimator on a dataset's "
                               "listener labels (grouped by excerpt), beside the panel formula and a judge's music "
                               "encoder; optionally write the estimator's weights");
  e->add_option("--data", o->data, "MPD dataset folder with media.csv (MPD-Open v2: Emotify listeners, vgmidi)")
      ->required();
  e->add_option("--model", o->model, "Judge whose music encoder gets a linear read-out (default: none)");
  e->add_option("--write-weights", o->write_weights,
                "Write the estimator fitted on the clips of train pairs only to this .inc "
                "(src/audio/music_emotion_weights.inc is the shipped one)");
  e->add_option("--write-cross-fit", o->write_cross_fit,
                "Write out-of-fold estimates of those clips to this CSV (music,valence,arousal,fold): what "
                "`train --emotion-cross-fit` gives the judge in training instead of the estimator's in-sample ones");
  e->add_option("--folds", o->folds, "Cross-validation folds")->capture_default_str()->check(CLI::Range(2, 20));
  e->add_option("--seed", o->seed, "Fold assignment seed")->capture_default_str();
  e->add_option("--cache-dir", o->cache_dir, "Feature cache folder (for --model)");
  add_output_options(e, opt);
  return {e, [o, &opt]() {
            o->threads = opt.threads > 0 ? opt.threads : 2;
            o->quiet = opt.json;
            o->tables = !opt.json;
            const nlohmann::json j = music_emotion_study(*o);
            if (opt.json) std::printf("%s\n", j.dump(2).c_str());
            return kOk;
          }};
}

}  // namespace mpjudge::cli
