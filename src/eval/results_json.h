// JSON forms of the evaluation, dataset and corpus results (`mpjudge eval`, `report`, `data stats`,
// `corpus build`), in one place so every client prints the same keys. Numbers are rounded to 4 places
// (json_number); a metric that cannot be computed is null. Torch-free.
#pragma once

#include <string>

#include "common/json.h"
#include "corpus/build.h"
#include "data/mpd.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"
#include "eval/report.h"

namespace mpjudge {

Json to_json(const Metrics& m);
// The point metrics, their 95% intervals, per-source subsets and the human ceiling, with model and split.
Json to_json(const EvalOutput& r, const std::string& model, const std::string& split);
// Each run's SRCC and preference accuracy, and the first run's paired advantage over each later one.
Json to_json(const ReportSummary& r);
Json to_json(const MpdStats& st);
Json to_json(const CorpusBuildResult& r, const CorpusBuildOptions& opt);

}  // namespace mpjudge
