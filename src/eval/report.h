// `mpjudge report`: evaluates several runs on one MPD split and writes one self-contained HTML file (no
// network: inline CSS, inline SVG charts, images as data: URIs): the comparison table with 95% intervals,
// a bar chart per metric, predicted-vs-MOS scatter plots, calibration plots, and a gallery of modulation
// maps for the best and worst pairs of several songs. Torch-free header.
#pragma once

#include <mpjudge/mpjudge.h>

#include <map>
#include <string>
#include <vector>

#include "eval/evaluate.h"

namespace mpjudge {

struct ReportRun {
  std::string name;   // shown in the report
  std::string model;  // checkpoint (a run folder's model.mpjc)
};

struct ReportOptions {
  std::vector<ReportRun> runs;
  std::string data, split = "test", out;
  int bootstrap = 1000;
  uint64_t seed = 1;
  int gallery_songs = 4;  // songs in the gallery (those with the most pairs in the split)
  FeatureOptions features;
  int feature_threads = 0;
};

struct ReportSummary {
  std::string out;
  std::vector<std::pair<std::string, EvalOutput>> results;  // per run, in order
  // The first run's advantage over each later run (paired bootstrap, metrics.h), in run order from the second.
  std::vector<std::map<std::string, PairedDifference>> vs_first;
  size_t gallery_images = 0;
};

// Throws Error(Usage) for no runs or a bad run spec, Error(Model)/Error(Input) from evaluation. The file is
// written atomically.
ReportSummary write_report(const ReportOptions& opt);

// "NAME=PATH" or "PATH" (a run folder or a checkpoint; the name is then the folder's name).
ReportRun parse_run_spec(const std::string& spec);

}  // namespace mpjudge
