// `mpjudge data validate|stats|split|import-json|export-json` (see commands.h).
#include <algorithm>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "data/mpd.h"
#include "eval/results_json.h"
#include "image/plot.h"

namespace mpjudge::cli {

namespace {

void print_histogram(const std::vector<int>& h) {
  const int mx = *std::max_element(h.begin(), h.end());
  for (int i = 0; i < 10; ++i)
    std::printf("  [%.1f,%.1f%s %6d %s\n", i / 10.0, (i + 1) / 10.0, i == 9 ? "]" : ")", h[size_t(i)],
                std::string(size_t(mx ? 50 * h[size_t(i)] / mx : 0), '#').c_str());
}

}  // namespace

std::vector<Command> add_data_commands(CLI::App& app, CommonOptions& opt) {
  struct Data {
    std::string dir, json_file, hist_png;
    SplitOptions split;
  };
  auto o = std::make_shared<Data>();
  auto* data = app.add_subcommand("data", "MPD datasets: validate, stats, split, import-json, export-json");
  data->require_subcommand(1);
  auto* validate =
      data->add_subcommand("validate", "Check a dataset; every problem with its file and row; exit 0 only when clean");
  validate->add_option("DIR", o->dir, "Dataset folder")->required();
  add_output_options(validate, opt, false);
  auto* stats = data->add_subcommand(
      "stats",
      "Counts, score histogram, inter-rater agreement (Krippendorff's alpha, ICC) and the single-rater ceiling");
  stats->add_option("DIR", o->dir, "Dataset folder")->required();
  stats->add_option("--histogram-png", o->hist_png, "Also draw the score histogram here");
  add_output_options(stats, opt, false);
  auto* split = data->add_subcommand(
      "split", "Write split.json: train/val/test disjoint by music and painting, plus a held-out style split");
  SplitOptions& so = o->split;
  split->add_option("DIR", o->dir, "Dataset folder")->required();
  split->add_option("--seed", so.seed, "Random seed")->capture_default_str();
  split->add_option("--val", so.val, "Share of music pieces and paintings for validation")->capture_default_str();
  split->add_option("--test", so.test, "Share for test")->capture_default_str();
  split->add_option("--style-key", so.style_key, "painting_source, music_source, or '' for none")
      ->capture_default_str();
  split->add_option("--test-music", so.test_music_sources, "Music sources held out as test_music (comma-separated)")
      ->delimiter(',');
  split
      ->add_option("--test-music-share", so.test_music_share,
                   "Share of paintings paired with the held-out music as test_music")
      ->capture_default_str();
  split->add_flag("--stratify-music", so.stratify_music_by_source,
                  "Cut val/test within each music source, so each source is in train, val and test");
  split->add_option("--style-share", so.style_share, "Share of style groups held out as test_style")
      ->capture_default_str();
  add_output_options(split, opt, false);
  auto* import = data->add_subcommand(
      "import-json", "Import the authors' JSON list [{image_path, audio_path, score}] as an MPD dataset");
  import->add_option("FILE", o->json_file, "JSON list")->required();
  import->add_option("--out", o->dir, "Dataset folder to write")->required();
  auto* exp = data->add_subcommand("export-json", "Export a dataset's pairs as the authors' JSON list");
  exp->add_option("DIR", o->dir, "Dataset folder")->required();
  exp->add_option("--out", o->json_file, "JSON file to write")->required();

  return {{data, [=, &opt] {
             if (validate->parsed()) {
               const std::vector<MpdProblem> problems = validate_mpd(o->dir);
               if (opt.json) {
                 Json list = Json::array();
                 for (const auto& p : problems)
                   list.push_back({{"file", p.file}, {"row", p.row}, {"message", p.message}});
                 std::printf("%s\n",
                             Json{{"dataset", o->dir}, {"problems", list}, {"ok", problems.empty()}}.dump(2).c_str());
               } else {
                 for (const auto& p : problems) std::printf("%s\n", p.str().c_str());
                 std::printf("%s: %zu problem(s)\n", o->dir.c_str(), problems.size());
               }
               return problems.empty() ? kOk : kInput;
             }
             if (import->parsed()) {
               const MpdDataset d = import_authors_json(o->json_file, o->dir);
               std::printf("%s\n",
                           Json{{"imported", o->json_file}, {"out", o->dir}, {"pairs", d.pairs.size()}}.dump().c_str());
               return kOk;
             }
             const MpdDataset ds = read_mpd_checked(o->dir);
             if (stats->parsed()) {
               const MpdStats st = mpd_stats(ds);
               Json j = to_json(st);
               if (!o->hist_png.empty()) {
                 std::vector<std::string> labels;
                 for (int i = 0; i < 10; ++i) labels.push_back(std::to_string(i / 10.0).substr(0, 3));
                 write_bar_chart_png(st.histogram, labels,
                                     "MPD score histogram (" + std::to_string(st.pairs) + " pairs)", o->hist_png);
                 j["histogram_png"] = o->hist_png;
               }
               emit(j, opt.json);
               if (!opt.json) print_histogram(st.histogram);
               return kOk;
             }
             if (split->parsed()) {
               const auto s = make_split(ds, o->split);
               write_split(o->dir, s, o->split);
               std::map<std::string, int> counts;
               for (const auto& [id, name] : s) counts[name]++;
               emit(Json{{"seed", o->split.seed}, {"counts", counts}, {"file", o->dir + "/split.json"}}, opt.json);
               return kOk;
             }
             export_authors_json(ds, o->json_file);
             std::printf("%s\n",
                         Json{{"exported", o->dir}, {"out", o->json_file}, {"pairs", ds.pairs.size()}}.dump().c_str());
             return kOk;
           }}};
}

}  // namespace mpjudge::cli
