// The MPD format: agreement statistics against published/hand-computed values, round trips through the
// authors' JSON, every malformed dataset reported with its file and row, and split disjointness.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "data/mpd.h"
#include "test_util.h"

using namespace mpjudge;

namespace {

const double N = NAN;

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A small valid dataset: 3 music files, 3 paintings, 4 pairs, 3 raters, 2 preferences.
std::string make_dataset(const std::string& name) {
  std::string dir = testutil::tmp_dir(name);
  std::string cmd = "mkdir -p '" + dir + "/media' && cp '" + testutil::data("chord_22k.flac") + "' '" + dir +
                    "/media/a.flac' && cp '" + testutil::data("chord_22k.ogg") + "' '" + dir + "/media/b.ogg' && cp '" +
                    testutil::data("tone440_stereo_44k.wav") + "' '" + dir + "/media/c.wav' && cp '" +
                    testutil::data("gradient_32.png") + "' '" + dir + "/media/p1.png' && cp '" +
                    testutil::data("gradient_32.jpg") + "' '" + dir + "/media/p2.jpg' && cp '" +
                    testutil::data("painting_224_a.png") + "' '" + dir + "/media/p3.png'";
  if (system(cmd.c_str()) != 0) throw std::runtime_error("fixture copy failed");
  write(dir + "/mpd.json", R"({"format": "MPD", "version": 1, "name": "tiny", "rating_scale": [1, 5]})");
  write(dir + "/pairs.csv",
        "pair_id,music,painting,score,music_source,painting_source\n"
        "p1,media/a.flac,media/p1.png,0.5,synth,gradient\n"
        "p2,media/a.flac,media/p2.jpg,0.75,synth,gradient\n"
        "p3,media/b.ogg,media/p3.png,0.25,synth,abstract\n"
        "p4,media/c.wav,media/p1.png,1,tone,gradient\n");
  write(dir + "/ratings.csv",
        "pair_id,rater,rating\n"
        "p1,r1,3\np1,r2,3\np1,r3,3\n"
        "p2,r1,4\np2,r2,4\np2,r3,4\n"
        "p3,r1,2\np3,r2,2\np3,r3,2\n"
        "p4,r1,5\np4,r2,5\np4,r3,5\n");
  write(dir + "/preferences.csv",
        "pref_id,music,chosen,rejected,n_raters,agreement\n"
        "q1,media/a.flac,media/p2.jpg,media/p1.png,3,0.67\n"
        "q2,media/b.ogg,media/p3.png,media/p1.png,5,0.8\n");
  return dir;
}

}  // namespace

TEST(Agreement, KrippendorffAlphaIntervalPublishedExample) {
  // Krippendorff (2011), "Computing Krippendorff's alpha-reliability", 4 coders x 12 units with missing
  // values; published interval alpha = 0.849.
  std::vector<std::vector<double>> coders = {{1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N},
                                             {1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3},
                                             {N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N},
                                             {1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N}};
  std::vector<std::vector<double>> units(12, std::vector<double>(4));
  for (size_t c = 0; c < 4; ++c)
    for (size_t u = 0; u < 12; ++u) units[u][c] = coders[c][u];
  double a = krippendorff_alpha_interval(units);
  printf("Krippendorff interval alpha %.4f (published 0.849)\n", a);
  EXPECT_NEAR(a, 0.849, 0.0005);
  EXPECT_NEAR(krippendorff_alpha_interval({{1, 1}, {2, 2}, {3, 3}}), 1.0, 1e-12);  // perfect agreement
}

TEST(Agreement, IccShroutFleissExample) {
  // Shrout & Fleiss (1979), 6 targets x 4 judges: ICC(2,1) = 0.29, ICC(2,4) = 0.62.
  std::vector<std::vector<double>> t = {{9, 2, 5, 8}, {6, 1, 3, 2},  {8, 4, 6, 8},
                                        {7, 1, 2, 6}, {10, 5, 6, 9}, {6, 2, 4, 7}};
  printf("ICC(2,1) %.4f (published 0.29), ICC(2,4) %.4f (published 0.62)\n", *icc_21(t), *icc_2k(t));
  EXPECT_NEAR(*icc_21(t), 0.29, 0.005);
  EXPECT_NEAR(*icc_2k(t), 0.62, 0.005);
  EXPECT_FALSE(icc_2k({{1, N}, {2, 3}}).has_value());  // one complete unit is not enough
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 0.9486832980505138, 1e-9);  // ties get average ranks
}

TEST(Mpd, ValidDatasetStatsAndRoundTrip) {
  std::string dir = make_dataset("mpd_ok");
  auto problems = validate_mpd(dir);
  for (const auto& p : problems) ADD_FAILURE() << p.str();
  std::vector<MpdProblem> pr;
  MpdDataset d = read_mpd(dir, pr);
  MpdStats s = mpd_stats(d);
  EXPECT_EQ(s.pairs, 4u);
  EXPECT_EQ(s.musics, 3u);
  EXPECT_EQ(s.paintings, 3u);
  EXPECT_EQ(s.raters, 3u);
  EXPECT_NEAR(*s.alpha, 1.0, 1e-12);  // the three raters agree perfectly
  EXPECT_NEAR(*s.ceiling, 1.0, 1e-12);
  EXPECT_EQ(s.histogram[5] + s.histogram[7] + s.histogram[2] + s.histogram[9], 4);
  // MPD -> authors' JSON -> MPD keeps what that format can hold: media paths and scores.
  export_authors_json(d, dir + "/authors.json");
  MpdDataset back = import_authors_json(dir + "/authors.json", dir + "/reimported");
  ASSERT_EQ(back.pairs.size(), d.pairs.size());
  for (size_t i = 0; i < d.pairs.size(); ++i) {
    EXPECT_EQ(back.pairs[i].music, d.pairs[i].music);
    EXPECT_EQ(back.pairs[i].painting, d.pairs[i].painting);
    EXPECT_DOUBLE_EQ(back.pairs[i].score, d.pairs[i].score);
  }
  std::vector<MpdProblem> pr2;
  MpdDataset again = read_mpd(dir + "/reimported", pr2);
  EXPECT_TRUE(pr2.empty());
  EXPECT_EQ(again.pairs.size(), 4u);
  // The import links the media into its folder, so the new dataset validates as it is.
  for (const auto& p : validate_mpd(dir + "/reimported")) ADD_FAILURE() << "reimported: " << p.str();
}

// An authors' list elsewhere, with an absolute path and one that climbs out of its folder: each medium is
// linked under media/imported/ and the dataset validates; a missing medium is reported, not invented.
TEST(Mpd, ImportJsonLinksMediaFromAnywhere) {
  const std::string src = make_dataset("mpd_import_src");
  const std::string list = testutil::tmp_dir("mpd_import_list");
  write(list + "/pairs.json",
        "[{\"image_path\": \"" + src +
            "/media/p1.png\", \"audio_path\": \"../mpd_import_src/media/a.flac\", \"score\": 0.5},"
            " {\"image_path\": \"" +
            src + "/media/p2.jpg\", \"audio_path\": \"../mpd_import_src/media/a.flac\", \"score\": 0.25}]");
  const std::string out = list + "/ds";
  MpdDataset d = import_authors_json(list + "/pairs.json", out);
  ASSERT_EQ(d.pairs.size(), 2u);
  EXPECT_EQ(d.pairs[0].music, d.pairs[1].music);  // one medium, one link
  EXPECT_EQ(d.pairs[0].painting.rfind("media/imported/", 0), 0u) << d.pairs[0].painting;
  for (const auto& p : validate_mpd(out)) ADD_FAILURE() << p.str();
  write(list + "/missing.json", R"([{"image_path": "nope.png", "audio_path": "nope.wav", "score": 0.5}])");
  import_authors_json(list + "/missing.json", list + "/ds2");
  const auto problems = validate_mpd(list + "/ds2");
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].str().find("nope"), std::string::npos) << problems[0].str();
}

// `eval` on a dataset without split.json evaluates every pair (split "all"); asking it for a split it does not
// have is a usage error that says so.
TEST(Mpd, EvalWithoutSplitJsonTakesEveryPair) {
  const std::string dir = make_dataset("mpd_eval_all");
  ASSERT_EQ(testutil::run_cli("init-model --out '" + dir + "/m.mpjc' --seed 2 --random-man").exit_code, 0);
  const std::string base =
      "eval --model '" + dir + "/m.mpjc' --data '" + dir + "' --cache-dir '" + dir + "/cache' --bootstrap 20 --json";
  auto r = testutil::run_cli(base);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["split"], "all");
  EXPECT_EQ(j["n_pairs"], 4);
  EXPECT_EQ(j["n_prefs"], 2);
  EXPECT_EQ(nlohmann::json::parse(testutil::run_cli(base + " --split all").out)["n_pairs"], 4);
  auto bad = testutil::run_cli(base + " --split test");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("no split.json"), std::string::npos) << bad.err;
}

// `mpjudge reference` stores a version and the model's scores on a split; results then carry both and the
// percentile of each score among them. The tensors are copied unchanged, so the scores do not move.
TEST(Mpd, ReferenceScoresGivePercentiles) {
  const std::string dir = make_dataset("mpd_reference");
  ASSERT_EQ(testutil::run_cli("init-model --out '" + dir + "/m.mpjc' --seed 3 --random-man").exit_code, 0);
  const std::string cache = " --cache-dir '" + dir + "/cache'";
  auto r = testutil::run_cli("reference --model '" + dir + "/m.mpjc' --out '" + dir + "/ref.mpjc' --data '" + dir +
                             "' --split all --version 'tiny-1'" + cache + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["reference"], "tiny, split all, 4 pairs");
  auto score = [&](const std::string& model, const std::string& painting) {
    auto s = testutil::run_cli("score --music '" + dir + "/media/a.flac' --painting '" + dir + "/media/" + painting +
                               "' --model '" + dir + "/" + model + "'" + cache + " --json");
    EXPECT_EQ(s.exit_code, 0) << s.err;
    return nlohmann::json::parse(s.out);
  };
  const auto plain = score("m.mpjc", "p1.png"), ref = score("ref.mpjc", "p1.png");
  EXPECT_EQ(plain["score"], ref["score"]);
  EXPECT_TRUE(plain["percentile"].is_null());
  EXPECT_EQ(plain["model_version"], "unversioned");
  EXPECT_EQ(ref["model_version"], "tiny-1");
  EXPECT_NE(ref["model_sha256"], plain["model_sha256"]);
  EXPECT_EQ(ref["model_sha256"].get<std::string>().size(), 64u);
  // p1 with a.flac is one of the 4 reference pairs: it sits at one of the 4 mid-ranks.
  const double pct = ref["percentile"].get<double>();
  bool at_rank = false;
  for (double k : {12.5, 37.5, 62.5, 87.5}) at_rank = at_rank || std::abs(pct - k) < 0.06;
  EXPECT_TRUE(at_rank) << pct;
  // Neither a dataset nor a version: a usage error, nothing written.
  r = testutil::run_cli("reference --model '" + dir + "/m.mpjc' --out '" + dir + "/none.mpjc'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(std::ifstream(dir + "/none.mpjc").good());
}

// A pairs.csv saved by a spreadsheet starts with a UTF-8 byte-order mark: its first column is still pair_id.
TEST(Mpd, CsvWithByteOrderMarkReads) {
  const std::string dir = make_dataset("mpd_bom");
  std::ifstream f(dir + "/pairs.csv");
  const std::string text((std::istreambuf_iterator<char>(f)), {});
  write(dir + "/pairs.csv", "\xEF\xBB\xBF" + text);
  for (const auto& p : validate_mpd(dir)) ADD_FAILURE() << p.str();
  std::vector<MpdProblem> pr;
  EXPECT_EQ(read_mpd(dir, pr).pairs.front().id, "p1");
}

TEST(Mpd, MalformedDatasetsReportFileAndRow) {
  struct Case {
    std::string name, file, content, expect;  // expect: substring of some problem's "file:row: message"
  };
  const std::string pairs_head = "pair_id,music,painting,score,music_source,painting_source\n";
  std::vector<Case> cases = {
      {"missing_media", "pairs.csv", pairs_head + "p1,media/nope.wav,media/p1.png,0.5,s,g\n",
       "pairs.csv:1: expected the media file media/nope.wav"},
      {"wrong_media_kind", "pairs.csv", pairs_head + "p1,media/p1.png,media/p1.png,0.5,s,g\n",
       "pairs.csv:1: expected audio at media/p1.png"},
      {"duplicate_id", "pairs.csv",
       pairs_head + "p1,media/a.flac,media/p1.png,0.5,s,g\np1,media/b.ogg,media/p2.jpg,0.5,s,g\n",
       "pairs.csv:2: expected a unique pair_id"},
      {"duplicate_pair", "pairs.csv",
       pairs_head + "p1,media/a.flac,media/p1.png,0.5,s,g\np2,media/a.flac,media/p1.png,0.5,s,g\n",
       "pairs.csv:2: expected each music-painting pair once"},
      {"score_range", "pairs.csv", pairs_head + "p1,media/a.flac,media/p1.png,1.5,s,g\n",
       "pairs.csv:1: expected a score in [0, 1]"},
      {"score_text", "pairs.csv", pairs_head + "p1,media/a.flac,media/p1.png,high,s,g\n",
       "pairs.csv:1: expected a numeric score"},
      {"escaping_path", "pairs.csv", pairs_head + "p1,../../etc/passwd,media/p1.png,0.5,s,g\n",
       "pairs.csv:1: expected a media path relative"},
      {"double_rating", "ratings.csv", "pair_id,rater,rating\np1,r1,3\np1,r2,3\np1,r3,3\np1,r1,4\n",
       "ratings.csv:4: expected one rating per rater and pair"},
      {"rating_range", "ratings.csv", "pair_id,rater,rating\np1,r1,9\n", "ratings.csv:1: expected a rating in"},
      {"unknown_pair", "ratings.csv", "pair_id,rater,rating\nzz,r1,3\n",
       "ratings.csv:1: expected a pair_id from pairs.csv"},
      {"contradiction", "preferences.csv",
       "pref_id,music,chosen,rejected,n_raters,agreement\nq1,media/a.flac,media/p2.jpg,media/p1.png,3,0.67\nq2,media/"
       "a.flac,media/p1.png,media/p2.jpg,3,0.67\n",
       "preferences.csv:2: expected consistent preferences"},
      {"same_painting", "preferences.csv",
       "pref_id,music,chosen,rejected,n_raters,agreement\nq1,media/a.flac,media/p1.png,media/p1.png,3,0.67\n",
       "preferences.csv:1: expected two different paintings"},
      {"agreement_range", "preferences.csv",
       "pref_id,music,chosen,rejected,n_raters,agreement\nq1,media/a.flac,media/p2.jpg,media/p1.png,3,0.2\n",
       "preferences.csv:1: expected agreement in [0.5, 1]"},
      {"unknown_version", "mpd.json", R"({"format": "MPD", "version": 7})", "mpd.json: expected version 1, found 7"},
      {"not_json", "mpd.json", "format = MPD", "mpd.json: expected JSON"},
      {"missing_column", "pairs.csv", "pair_id,music,painting\np1,media/a.flac,media/p1.png\n",
       "pairs.csv: expected a column 'score'"},
      {"ragged_row", "pairs.csv", pairs_head + "p1,media/a.flac\n", "pairs.csv:1: expected 6 fields, found 2"},
      {"bad_split", "split.json", R"({"version": 1, "seed": 1, "pairs": {"p1": "training"}})",
       "split.json: expected train/val/test"},
  };
  for (const auto& c : cases) {
    std::string dir = make_dataset("mpd_bad_" + c.name);
    if (c.file == "pairs.csv")
      write(dir + "/ratings.csv", "pair_id,rater,rating\n");  // keep the other tables consistent
    if (c.file == "pairs.csv") write(dir + "/preferences.csv", "pref_id,music,chosen,rejected,n_raters,agreement\n");
    write(dir + "/" + c.file, c.content);
    auto problems = validate_mpd(dir);
    bool found = false;
    for (const auto& p : problems) found |= p.str().find(c.expect) != std::string::npos;
    std::string all;
    for (const auto& p : problems) all += "\n  " + p.str();
    EXPECT_TRUE(found) << c.name << ": expected a problem containing '" << c.expect << "', got:" << all;
  }
  // All problems are reported, not just the first.
  std::string dir = make_dataset("mpd_bad_many");
  write(dir + "/ratings.csv", "pair_id,rater,rating\nzz,r1,3\np1,r1,9\np1,r1,3\n");
  EXPECT_GE(validate_mpd(dir).size(), 3u);
}

TEST(Mpd, SplitsAreDisjointDeterministicAndHoldOutStyles) {
  // A dense synthetic dataset: 60 music pieces x 80 paintings in 8 painter groups, ~30% of pairs scored.
  MpdDataset d;
  std::mt19937 rng(1);
  int id = 0;
  for (int m = 0; m < 60; ++m)
    for (int p = 0; p < 80; ++p)
      if (rng() % 10 < 3) {
        MpdPair x;
        x.id = "p" + std::to_string(id++);
        x.music = "m" + std::to_string(m) + ".wav";
        x.painting = "img" + std::to_string(p) + ".png";
        x.painting_source = "painter" + std::to_string(p % 8);
        x.music_source = "src" + std::to_string(m % 5);
        d.pairs.push_back(x);
      }
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    SplitOptions o;
    o.seed = seed;
    auto split = make_split(d, o);
    EXPECT_EQ(split, make_split(d, o)) << "deterministic by seed";
    std::map<std::string, std::set<std::string>> music_in, paint_in;
    std::map<std::string, int> count;
    for (const auto& p : d.pairs) {
      const std::string& s = split.at(p.id);
      count[s]++;
      if (s == "excluded") continue;
      music_in[p.music].insert(s);
      paint_in[p.painting].insert(s);
    }
    for (const auto& [m, s] : music_in)
      ASSERT_EQ(s.size(), 1u) << "seed " << seed << ": music " << m << " in two splits";
    for (const auto& [p, s] : paint_in)
      ASSERT_EQ(s.size(), 1u) << "seed " << seed << ": painting " << p << " in two splits";
    EXPECT_GT(count["train"], count["test"]);
    EXPECT_GT(count["test"], 0);
    EXPECT_GT(count["val"], 0);
    EXPECT_GT(count["test_style"], 0);
  }
  SplitOptions a, b;
  b.seed = 2;
  EXPECT_NE(make_split(d, a), make_split(d, b));
}

TEST(Mpd, TestMusicHoldsOutSourcesAndStrataReachEverySplit) {
  MpdDataset d;
  std::mt19937 rng(3);
  int id = 0;
  for (int m = 0; m < 90; ++m)
    for (int p = 0; p < 60; ++p)
      if (rng() % 10 < 3) {
        MpdPair x;
        x.id = "p" + std::to_string(id++);
        x.music = "m" + std::to_string(m) + ".ogg", x.painting = "img" + std::to_string(p) + ".png";
        x.painting_source = "painter" + std::to_string(p % 8);
        // Four "genres" of 20 clips and one small held-out source of 10.
        x.music_source = m < 80 ? "genre" + std::to_string(m % 4) : "world";
        d.pairs.push_back(x);
      }
  SplitOptions o;
  o.test_music_sources = {"world"};
  o.stratify_music_by_source = true;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    o.seed = seed;
    const MediaSplits ms = media_splits(d, o);
    std::map<std::string, std::set<std::string>> sources_in;
    for (const auto& p : d.pairs) {
      const std::string& s = ms.music.at(p.music);
      EXPECT_EQ(s == "test_music", p.music_source == "world") << p.music;
      sources_in[s].insert(p.music_source);
    }
    for (const char* s : {"train", "val", "test"})
      for (int g = 0; g < 4; ++g) EXPECT_TRUE(sources_in[s].count("genre" + std::to_string(g))) << s << " genre" << g;
    auto split = make_split(d, o);
    std::map<std::string, int> count;
    std::map<std::string, std::set<std::string>> paint_in;
    for (const auto& p : d.pairs) {
      count[split.at(p.id)]++;
      if (split.at(p.id) != "excluded") paint_in[p.painting].insert(split.at(p.id));
    }
    for (const auto& [p, s] : paint_in) ASSERT_EQ(s.size(), 1u) << p << " in two splits";
    EXPECT_GT(count["test_music"], 0);
    EXPECT_GT(count["test_style"], 0);
  }
  // Strata for named sources only: the genres reach every split; with no held-out music the painting
  // side keeps its test and val cuts whatever test_music's share is (test_music's paintings come after).
  SplitOptions named;
  named.music_strata = {"genre0", "genre1", "genre2", "genre3"};
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    named.seed = seed;
    const MediaSplits ms = media_splits(d, named);
    std::map<std::string, std::set<std::string>> sources_in;
    for (const auto& p : d.pairs) sources_in[ms.music.at(p.music)].insert(p.music_source);
    for (const char* s : {"train", "val", "test"})
      for (int g = 0; g < 4; ++g) EXPECT_TRUE(sources_in[s].count("genre" + std::to_string(g))) << s << " genre" << g;
    SplitOptions held = named;
    held.test_music_sources = {"world"};
    const MediaSplits mh = media_splits(d, held);
    for (const auto& [painting, s] : ms.painting) {
      if (s != "test" && s != "val") continue;
      EXPECT_EQ(mh.painting.at(painting), s) << painting;
    }
  }
  // Without the options the split is what it was (datasets split before them keep their split).
  SplitOptions plain;
  SplitOptions with_empty = plain;
  with_empty.test_music_share = 0.3;  // unused without held-out sources
  EXPECT_EQ(make_split(d, plain), make_split(d, with_empty));
}

TEST(Mpd, Cli) {
  std::string dir = make_dataset("mpd_cli");
  auto r = testutil::run_cli("data validate '" + dir + "'");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = testutil::run_cli("data stats '" + dir + "' --json --histogram-png '" + dir + "/hist.png'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["pairs"], 4);
  EXPECT_EQ(j["raters"], 3);
  EXPECT_TRUE(j.contains("krippendorff_alpha_interval"));
  EXPECT_TRUE(j.contains("single_rater_ceiling"));
  EXPECT_EQ(load_image(dir + "/hist.png").width, 720);
  r = testutil::run_cli("data split '" + dir + "' --seed 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testutil::run_cli("data validate '" + dir + "'").exit_code, 0);  // the split file validates
  std::ifstream sf(dir + "/split.json");
  auto split = nlohmann::json::parse(sf);
  EXPECT_EQ(split["seed"], 3);
  EXPECT_EQ(split["version"], 1);
  write(dir + "/pairs.csv", "pair_id,music,painting,score\np1,media/nope.wav,media/p1.png,2\n");
  r = testutil::run_cli("data validate '" + dir + "'");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.out.find("pairs.csv:1:"), std::string::npos) << r.out;
  r = testutil::run_cli("data export-json '" + make_dataset("mpd_cli2") + "' --out '" + dir + "/a.json'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = testutil::run_cli("data import-json '" + dir + "/a.json' --out '" + dir + "/imp'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  write(dir + "/broken.json", "[{\"image_path\": 1}]");
  EXPECT_EQ(testutil::run_cli("data import-json '" + dir + "/broken.json' --out '" + dir + "/imp2'").exit_code, 3);
}
