// `mpjudge score`, `explain`, `rank`, `init-model` and `ensemble` (see commands.h).
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "common/files.h"
#include "common/progress.h"
#include "data/csv.h"
#include "data/pairs_file.h"

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

// What `score --help` says about where the shipped judge's scores come from (and the model card).
constexpr const char* kScoreFooter =
    "The shipped judge learned from a simulated expert panel on real paintings and real recordings "
    "(MPD-Open), not from human experts' scores; models/README.md is its model card.";

volatile std::sig_atomic_t g_interrupted = 0;
struct Interrupted {};

// While alive, SIGINT and SIGTERM set g_interrupted instead of killing the process; the previous
// handlers come back however the scope is left.
class InterruptFlag {
 public:
  InterruptFlag() {
    g_interrupted = 0;
    old_int_ = std::signal(SIGINT, on_signal);
    old_term_ = std::signal(SIGTERM, on_signal);
  }
  ~InterruptFlag() { std::signal(SIGINT, old_int_), std::signal(SIGTERM, old_term_); }
  InterruptFlag(const InterruptFlag&) = delete;
  InterruptFlag& operator=(const InterruptFlag&) = delete;

 private:
  static void on_signal(int) { g_interrupted = 1; }
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

std::string csv_number(double v, int decimals) {
  const Json j = json_number(v, decimals);
  return j.is_null() ? "" : j.dump();
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + csv_field(fields[i]);
  return line + "\n";
}

// `score --pairs FILE --out OUT`: the model loads once; each pair's result is streamed to OUT's temp file
// as it is scored and OUT appears at the end (an interrupt or an error leaves no partial OUT). A pair
// whose media fail is written with its error and the rest go on: exit kSomeFailed then.
int score_batch(const std::string& pairs_file, const std::string& out_path, const ModelFlags& m,
                const CommonOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool csv = out_path.size() >= 4 && out_path.compare(out_path.size() - 4, 4, ".csv") == 0;
  const bool jsonl = out_path.size() >= 6 && out_path.compare(out_path.size() - 6, 6, ".jsonl") == 0;
  if (!csv && !jsonl)
    throw Error(ErrorKind::Usage, "score: expected --out to end in .jsonl or .csv, found " + out_path);
  const std::vector<ScorePair> pairs = read_pairs_file(pairs_file);
  Scorer scorer(model_or_default_path(m.model), m.features());
  AtomicFile out(out_path);
  if (csv)
    out.write(csv_row({"id", "music", "painting", "score", "percentile", "error", "model_sha256", "model_version"}));
  Progress bar("score: pairs", pairs.size());
  std::vector<double> scores;
  Json failures = Json::array();
  try {
    InterruptFlag interrupt;
    scorer.score_pairs(pairs, [&](const PairScore& ps) {
      const ScorePair& p = pairs[ps.index];
      if (ps.ok) scores.push_back(ps.result.score);
      if (csv) {
        out.write(csv_row({ps.id, p.music.name, p.painting.name, ps.ok ? csv_number(ps.result.score, 4) : "",
                           ps.ok ? csv_number(ps.result.percentile, 1) : "", ps.ok ? "" : ps.failure.error,
                           scorer.model().sha256, scorer.model().version}));
      } else {
        Json j{{"id", ps.id}, {"music", p.music.name}, {"painting", p.painting.name}};
        j["score"] = ps.ok ? json_number(ps.result.score) : Json();
        j["percentile"] = ps.ok ? json_number(ps.result.percentile, 1) : Json();
        j["error"] = ps.ok ? Json() : Json(ps.failure.error);
        j["model_sha256"] = scorer.model().sha256;
        j["model_version"] = scorer.model().version;
        out.write(j.dump() + "\n");
      }
      if (!ps.ok) failures.push_back({{"id", ps.id}, {"error", ps.failure.error}});
      bar.tick(1, failures.empty() ? "" : std::to_string(failures.size()) + " failed");
      if (g_interrupted) throw Interrupted{};
    });
  } catch (const Interrupted&) {
    std::fprintf(stderr, "mpjudge: interrupted after %zu of %zu pairs; %s was not written\n", bar.done(), pairs.size(),
                 out_path.c_str());
    return kInterrupted;
  }
  bar.finish();
  out.commit();
  const ScoreSummary sum = summarise_scores(scores);
  Json pct = Json::object();
  for (const auto& [p, v] : sum.percentiles) pct["p" + std::to_string(p)] = json_number(v);
  Json j{{"pairs", pairs.size()},
         {"scored", sum.n},
         {"failed", failures.size()},
         {"mean", json_number(sum.mean)},
         {"median", json_number(sum.median)},
         {"sd", json_number(sum.sd)},
         {"ci95", {json_number(sum.ci95_lo), json_number(sum.ci95_hi)}},
         {"percentiles", pct},
         {"model", scorer.model_path()},
         {"model_sha256", scorer.model().sha256},
         {"model_version", scorer.model().version},
         {"out", out_path}};
  if (!failures.empty()) j["failures"] = failures;
  j["ms"] = json_ms_since(t0);
  emit(j, opt.json);
  return failures.empty() ? kOk : kSomeFailed;
}

template <class T>
void add_reference_flags(CLI::App* sub, T& r) {
  sub->add_option("--data", r.data, "MPD dataset whose split gives the reference scores (its own corpus)");
  sub->add_option("--split", r.split, "Split of --data to score")->capture_default_str();
  sub->add_option("--version", r.version, "Version string stored in the checkpoint (results carry it)");
  sub->add_option("--cache-dir", r.m.cache_dir, "Feature cache folder (for scoring --data)");
}

}  // namespace

std::vector<Command> add_judge_commands(CLI::App& app, CommonOptions& opt) {
  std::vector<Command> out;

  struct Score {
    ModelFlags m;
    std::string music, painting, out_dir, pairs, out_file;
  };
  for (const bool explain : {false, true}) {
    auto s = std::make_shared<Score>();
    auto* sub = explain
                    ? app.add_subcommand("explain",
                                         "Modulation maps: where the music changes the painting's features "
                                         "(overlay PNGs + raw maps JSON)")
                    : app.add_subcommand("score", "Coherence of a painting with the music that inspired it, in [0, 1]");
    if (!explain) sub->footer(kScoreFooter);
    auto* music = sub->add_option("--music", s->music, "Music file");
    auto* painting = sub->add_option("--painting", s->painting, "Painting file");
    if (explain) {
      music->required(), painting->required();
      sub->add_option("--out", s->out_dir, "Output folder (created)")->required();
    } else {
      auto* pairs = sub->add_option("--pairs", s->pairs,
                                    "Batch: a CSV (music,painting[,id] header) or JSONL file of pairs; paths "
                                    "relative to its folder");
      auto* out = sub->add_option("--out", s->out_file, "Batch: results file (.jsonl or .csv), written atomically");
      pairs->excludes(music)->excludes(painting)->needs(out);
      out->needs(pairs);
    }
    add_model_flags(sub, s->m, opt);
    out.push_back({sub, [s, explain, &opt]() -> int {
                     if (!explain && !s->pairs.empty()) return score_batch(s->pairs, s->out_file, s->m, opt);
                     if (s->music.empty() || s->painting.empty())
                       throw Error(ErrorKind::Usage,
                                   "score: expected --music and --painting (or --pairs), found " +
                                       std::string(s->music.empty() ? "no --music" : "no --painting"),
                                   "see `mpjudge score --help`");
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
  out.push_back({rank, [rk, &opt] {
                   const std::vector<std::string> files = list_paintings(rk->gallery);
                   const auto t0 = std::chrono::steady_clock::now();
                   Scorer scorer(model_or_default_path(rk->m.model), rk->m.features());
                   RankOptions ro;
                   ro.top_k = rk->top;
                   ro.skip_unreadable = true;
                   Progress bar("rank: paintings", files.size(), files.size() < 200);
                   ro.progress = [&bar](size_t done, size_t) { bar.tick(done - bar.done()); };
                   const RankResult ranked =
                       scorer.rank(MusicSource(rk->music), std::vector<PaintingSource>(files.begin(), files.end()), ro);
                   bar.finish();
                   Json list = Json::array();
                   for (size_t i = 0; i < ranked.ranking.size(); ++i) {
                     const RankEntry& e = ranked.ranking[i];
                     list.push_back({{"rank", i + 1},
                                     {"painting", e.painting},
                                     {"score", json_number(e.score)},
                                     {"percentile", json_number(score_percentile(scorer.model(), e.score), 1)}});
                   }
                   Json skipped = Json::array();
                   for (const auto& f : ranked.skipped) {
                     skipped.push_back({{"painting", f.name}, {"error", f.error}});
                     std::fprintf(stderr, "mpjudge: warning: skipped %s: %s\n", f.name.c_str(), f.error.c_str());
                   }
                   Json j{{"music", rk->music},
                          {"model", scorer.model_path()},
                          {"model_sha256", scorer.model().sha256},
                          {"model_version", scorer.model().version},
                          {"paintings", files.size()},
                          {"ranking", list},
                          {"skipped", skipped}};
                   j["ms"] = json_ms_since(t0);
                   if (opt.json) {
                     std::printf("%s\n", j.dump(2).c_str());
                   } else {
                     for (const auto& e : list)
                       std::printf("%3d  %.4f  %s\n", e["rank"].get<int>(), e["score"].get<double>(),
                                   e["painting"].get<std::string>().c_str());
                     if (!skipped.empty()) std::printf("(%zu unreadable paintings skipped)\n", skipped.size());
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
    ModelFlags m;
    std::string out, data, split = "test", version;
    std::vector<std::string> members;
  };
  auto en = std::make_shared<Ensemble>();
  auto* ens =
      app.add_subcommand("ensemble", "Write one checkpoint averaging trained judges (scores and modulation maps)");
  ens->add_option("--out", en->out, "Checkpoint to write")->required();
  ens->add_option("MEMBERS", en->members, "Trained default-architecture checkpoints (at least 2)")->required();
  add_reference_flags(ens, *en);
  add_output_options(ens, opt);
  out.push_back({ens, [en, &opt] {
                   Json j = Json::parse(write_ensemble_model(en->out, en->members));
                   if (!en->data.empty() || !en->version.empty())
                     j["reference"] = Json::parse(
                         write_model_reference(en->out, en->out, en->data, en->split, en->version, en->m.features()));
                   emit(j, opt.json);
                   return kOk;
                 }});

  auto rf = std::make_shared<Ensemble>();
  auto* ref = app.add_subcommand("reference",
                                 "Store a model's version and its scores on its own corpus's test split (what "
                                 "`score` reports percentiles against) in a copy of the checkpoint");
  ref->add_option("--model", rf->m.model, "Checkpoint to read")->required();
  ref->add_option("--out", rf->out, "Checkpoint to write (may be the same file; written atomically)")->required();
  add_reference_flags(ref, *rf);
  add_output_options(ref, opt);
  out.push_back({ref, [rf, &opt] {
                   emit(Json::parse(write_model_reference(rf->m.model, rf->out, rf->data, rf->split, rf->version,
                                                          rf->m.features())),
                        opt.json);
                   return kOk;
                 }});
  return out;
}

}  // namespace mpjudge::cli
