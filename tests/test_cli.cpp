// CLI smoke tests: the real build/mpjudge binary, its JSON output and its documented exit codes.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "test_util.h"

using testutil::data;
using testutil::run_cli;
using Json = nlohmann::json;

TEST(Cli, HelpListsSubcommands) {
  auto r = run_cli("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("describe"), std::string::npos);
  EXPECT_NE(r.out.find("info"), std::string::npos);
  EXPECT_EQ(run_cli("--version").exit_code, 0);
}

TEST(Cli, DescribeMusicJson) {
  auto r = run_cli("describe --music '" + data("tone440_stereo_44k.wav") + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  for (const char* k : {"tempo_bpm", "onset_rate_hz", "key", "mode", "loudness_lufs", "spectral_centroid_hz",
                        "pitch_height", "duration_s", "loudness_range_lu", "dynamic_range_db", "tempo_source",
                        "steady_beat", "mode_confidence", "mode_clear", "valence", "arousal", "emotion_model"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["descriptor_version"], 2);
  EXPECT_EQ(j["emotion_model"].get<std::string>().rfind("mpjudge-va-", 0), 0u) << j["emotion_model"];
  EXPECT_EQ(j["tempo_source"], "onsets");  // a one-second steady tone has no beat
  EXPECT_NEAR(j["duration_s"].get<double>(), 1.0, 0.01);
  EXPECT_NEAR(j["pitch_height"].get<double>(), 69.0, 0.5);  // A4
  // A pure tone's centroid is itself, plus window leakage and 16-bit noise (magnitude weights).
  EXPECT_NEAR(j["spectral_centroid_hz"].get<double>(), 440, 70);
  EXPECT_EQ(j["key"], "A");
}

TEST(Cli, DescribePaintingJsonAndBoth) {
  auto r = run_cli("describe --painting '" + data("gradient_32.png") + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  for (const char* k : {"lightness", "chroma", "a", "b", "contrast", "edge_density", "angularity"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"happy", "sad", "angry"}) EXPECT_TRUE(j["emotion"].contains(k)) << k;
  r = run_cli("describe --painting '" + data("gradient_32.png") + "' --music '" + data("chord_22k.flac") + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = Json::parse(r.out);
  EXPECT_TRUE(j["music"].contains("key"));
  EXPECT_TRUE(j["painting"].contains("lightness"));
  r = run_cli("describe --painting '" + data("gradient_32.png") + "'");  // text output
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("lightness:"), std::string::npos);
}

TEST(Cli, ExitCodes) {
  EXPECT_EQ(run_cli("describe").exit_code, 2);            // usage: nothing to describe
  EXPECT_EQ(run_cli("describe --bogus x").exit_code, 2);  // usage: unknown flag
  {  // in the house form, not CLI11's own text, and naming the subcommand's help
    auto r = run_cli("describe --bogus x");
    EXPECT_EQ(r.err.rfind("mpjudge: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("mpjudge describe --help"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(run_cli("describe --help").exit_code, 0);
  }
  EXPECT_EQ(run_cli("").exit_code, 2);  // usage: no subcommand
  EXPECT_EQ(run_cli("features --music x.wav --threads 100000").exit_code, 2);
  // --threads (torch's) only where torch runs; --project, not --data, names an annotation project.
  EXPECT_EQ(run_cli("describe --help").out.find("--threads"), std::string::npos);
  EXPECT_EQ(run_cli("data validate --help").out.find("--threads"), std::string::npos);
  EXPECT_NE(run_cli("score --help").out.find("--threads"), std::string::npos);
  EXPECT_EQ(run_cli("annotate progress --help").out.find("--data"), std::string::npos);
  EXPECT_EQ(run_cli("annotate progress").exit_code, 2);
  auto r = run_cli("describe --music '" + data("bad/truncated.wav") + "'");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  // Exactly one line on stderr, naming the file.
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("bad/truncated.wav"), std::string::npos) << r.err;
  r = run_cli("describe --painting '" + data("bad/truncated.png") + "'");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "codec chatter must not reach stderr: " << r.err;
  r = run_cli("describe --painting '" + data("bad/corrupt.jpg") + "'");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(run_cli("describe --painting /nonexistent/p.png").exit_code, 3);
}

TEST(Cli, InfoReportsTheBlas) {
  auto r = run_cli("info --json --no-sgemm");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_TRUE(j.contains("torch"));
  EXPECT_TRUE(j.contains("blas"));
}
