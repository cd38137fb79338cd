// `mpjudge score`, `explain`, `rank`, `init-model` and `ensemble` (see commands.h).
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "common/files.h"

namespace mpjudge::cli {

namespace {

struct ModelFlags {
  std::string model, cache_dir;
  bool no_cache = false;
  FeatureOptions features() const {
    FeatureOptions fo;
    fo.cache_dir = cache_dir;
    fo.use_cache = !no_cache;
    return fo;
  }
};

void add_model_flags(CLI::App* sub, ModelFlags& m, CommonOptions& opt) {
  sub->add_option("--model", m.model, "Checkpoint (default: the shipped model)");
  sub->add_option("--cache-dir", m.cache_dir, "Feature cache folder");
  sub->add_flag("--no-cache", m.no_cache, "Neither read nor write the feature cache");
  add_output_options(sub, opt);
}

// The maps as overlay PNGs and maps.json (with the values) in `dir`; adds their summary to `out`.
void write_maps(Json& out, const ScoreResult& r, const std::string& painting, const std::string& dir) {
  if (r.maps.empty())
    throw Error(ErrorKind::Usage, r.model + ": this judge has no modulation maps (a baseline without MAN)",
                "use an MPJudge model (variant man) for explain");
  mkdir(dir.c_str(), 0755);
  if (!is_dir(dir))
    throw Error(ErrorKind::Usage, dir + ": expected a folder to write into, found none (could not create it)");
  Json maps = Json::array();
  for (size_t k = 0; k < r.maps.size(); ++k) {
    const ModulationMap& m = r.maps[k];
    const std::string png = dir + "/map_" + std::to_string(k) + "_" + m.layer + ".png";
    write_overlay_png(painting, m, png);
    maps.push_back({{"block", k},
                    {"layer", m.layer},
                    {"height", m.height},
                    {"width", m.width},
                    {"overlay", png},
                    {"values", m.values}});
  }
  out["maps"] = maps;
  const std::string json_path = dir + "/maps.json";
  write_file_atomic(json_path, out.dump(1) + "\n");
  for (auto& m : out["maps"]) m.erase("values");  // the console gets the summary, the file the numbers
  out["maps_json"] = json_path;
}

}  // namespace

std::vector<Command> add_judge_commands(CLI::App& app, CommonOptions& opt) {
  std::vector<Command> out;

  struct Score {
    ModelFlags m;
    std::string music, painting, out_dir;
  };
  for (const bool explain : {false, true}) {
    auto s = std::make_shared<Score>();
    auto* sub = explain
                    ? app.add_subcommand("explain",
                                         "Modulation maps: where the music changes the painting's features "
                                         "(overlay PNGs + raw maps JSON)")
                    : app.add_subcommand("score", "Coherence of a painting with the music that inspired it, in [0, 1]");
    sub->add_option("--music", s->music, "Music file")->required();
    sub->add_option("--painting", s->painting, "Painting file")->required();
    if (explain) sub->add_option("--out", s->out_dir, "Output folder (created)")->required();
    add_model_flags(sub, s->m, opt);
    out.push_back({sub, [s, explain, &opt] {
                     const auto t0 = std::chrono::steady_clock::now();
                     Scorer scorer(model_or_default_path(s->m.model), s->m.features());
                     const ScoreResult r = scorer.score(s->music, s->painting);
                     Json j = score_json(r, s->music, s->painting);
                     if (explain) write_maps(j, r, s->painting, s->out_dir);
                     j["ms"] = json_ms_since(t0);
                     emit(j, opt.json);
                     return kOk;
                   }});
  }

  struct Rank {
    ModelFlags m;
    std::string music, gallery;
    int top = 10;
  };
  auto rk = std::make_shared<Rank>();
  auto* rank =
      app.add_subcommand("rank", "Rank a folder of paintings by coherence with one piece of music, best first");
  rank->add_option("--music", rk->music, "Music file")->required();
  rank->add_option("--paintings", rk->gallery, "Folder of paintings (JPEG, PNG, WebP, TIFF, BMP; found by content)")
      ->required();
  rank->add_option("--top", rk->top, "How many to list (0 = all)")->capture_default_str();
  add_model_flags(rank, rk->m, opt);
  out.push_back(
      {rank, [rk, &opt] {
         const std::vector<std::string> files = list_paintings(rk->gallery);
         const auto t0 = std::chrono::steady_clock::now();
         Scorer scorer(model_or_default_path(rk->m.model), rk->m.features());
         const std::vector<RankEntry> ranked = scorer.rank(rk->music, files, rk->top);
         Json list = Json::array();
         for (size_t i = 0; i < ranked.size(); ++i)
           list.push_back({{"rank", i + 1}, {"painting", ranked[i].painting}, {"score", json_number(ranked[i].score)}});
         Json j{{"music", rk->music}, {"model", scorer.model_path()}, {"paintings", files.size()}, {"ranking", list}};
         j["ms"] = json_ms_since(t0);
         if (opt.json) {
           std::printf("%s\n", j.dump(2).c_str());
         } else {
           for (const auto& e : list)
             std::printf("%3d  %.4f  %s\n", e["rank"].get<int>(), e["score"].get<double>(),
                         e["painting"].get<std::string>().c_str());
         }
         return kOk;
       }});

  struct Init {
    std::string out;
    uint64_t seed = 1;
    bool random_man = false;
  };
  auto in = std::make_shared<Init>();
  auto* init = app.add_subcommand("init-model",
                                  "Write an untrained default-architecture checkpoint (MAN starts as the identity)");
  init->add_option("--out", in->out, "Checkpoint to write")->required();
  init->add_option("--seed", in->seed, "Random seed")->capture_default_str();
  init->add_flag("--random-man", in->random_man,
                 "Start MAN blocks with small random modulation instead of the identity (demos, tests)");
  add_output_options(init, opt);
  out.push_back({init, [in, &opt] {
                   emit(Json::parse(write_initial_model(in->out, in->seed, in->random_man)), opt.json);
                   return kOk;
                 }});

  struct Ensemble {
    std::string out;
    std::vector<std::string> members;
  };
  auto en = std::make_shared<Ensemble>();
  auto* ens =
      app.add_subcommand("ensemble", "Write one checkpoint averaging trained judges (scores and modulation maps)");
  ens->add_option("--out", en->out, "Checkpoint to write")->required();
  ens->add_option("MEMBERS", en->members, "Trained default-architecture checkpoints (at least 2)")->required();
  add_output_options(ens, opt);
  out.push_back({ens, [en, &opt] {
                   emit(Json::parse(write_ensemble_model(en->out, en->members)), opt.json);
                   return kOk;
                 }});
  return out;
}

}  // namespace mpjudge::cli
