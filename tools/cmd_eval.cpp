// `mpjudge eval` and `report` (see commands.h).
#include <memory>

#include "commands.h"
#include "eval/evaluate.h"
#include "eval/report.h"
#include "eval/results_json.h"

namespace mpjudge::cli {

std::vector<Command> add_eval_commands(CLI::App& app, CommonOptions& opt) {
  std::vector<Command> out;

  struct Eval {
    EvalOptions e;
    std::string cache_dir, predictions;
  };
  auto ev = std::make_shared<Eval>();
  auto* eval = app.add_subcommand("eval",
                                  "Agreement of a model with an MPD split: SRCC, PLCC, KRCC, MAE, RMSE, "
                                  "preference accuracy, bootstrap 95% intervals, subsets, the human ceiling");
  eval->add_option("--model", ev->e.model, "Checkpoint (default: the shipped model)");
  eval->add_option("--data", ev->e.data, "MPD dataset folder (with split.json)")->required();
  eval->add_option("--split", ev->e.split,
                   "train | val | test | test_style | test_music | all (every pair); default test, or all when the "
                   "dataset has no split.json");
  eval->add_option("--bootstrap", ev->e.bootstrap, "Bootstrap resamples (by music piece)")->capture_default_str();
  eval->add_option("--seed", ev->e.seed, "Bootstrap seed")->capture_default_str();
  eval->add_option("--cache-dir", ev->cache_dir, "Feature cache folder");
  eval->add_option("--predictions", ev->predictions,
                   "Also write every scored pair (music, painting, sources, mos, pred) to this CSV file");
  add_output_options(eval, opt);
  out.push_back({eval, [ev, &opt] {
                   EvalOptions& e = ev->e;
                   e.model = model_or_default_path(e.model);
                   e.features.cache_dir = ev->cache_dir;
                   if (opt.threads > 0) e.feature_threads = opt.threads;
                   const EvalOutput r = evaluate_model(e);
                   if (!ev->predictions.empty()) write_predictions_csv(ev->predictions, r.pairs);
                   emit(to_json(r, e.model, r.split), opt.json);
                   return kOk;
                 }});

  struct Report {
    ReportOptions r;
    std::vector<std::string> runs;
    std::string cache_dir;
  };
  auto rp = std::make_shared<Report>();
  ReportOptions& ro = rp->r;
  auto* report = app.add_subcommand("report", "Evaluate several runs and write one self-contained HTML report");
  report->add_option("--runs", rp->runs, "Runs to compare: NAME=RUN_DIR_OR_CKPT or RUN_DIR ...")->required();
  report->add_option("--data", ro.data, "MPD dataset folder (with split.json)")->required();
  report->add_option("--split", ro.split, "train | val | test | test_style | test_music")->capture_default_str();
  report->add_option("--out", ro.out, "HTML file to write")->required();
  report->add_option("--bootstrap", ro.bootstrap, "Bootstrap resamples (by music piece)")->capture_default_str();
  report->add_option("--seed", ro.seed, "Bootstrap seed")->capture_default_str();
  report->add_option("--gallery-songs", ro.gallery_songs, "Songs in the modulation-map gallery")->capture_default_str();
  report->add_option("--cache-dir", rp->cache_dir, "Feature cache folder");
  add_output_options(report, opt);
  out.push_back({report, [rp, &opt] {
                   for (const auto& r : rp->runs) rp->r.runs.push_back(parse_run_spec(r));
                   rp->r.features.cache_dir = rp->cache_dir;
                   if (opt.threads > 0) rp->r.feature_threads = opt.threads;
                   emit(to_json(write_report(rp->r)), opt.json);
                   return kOk;
                 }});
  return out;
}

}  // namespace mpjudge::cli
