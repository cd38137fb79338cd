// Golden test: mpjudge's log-mel against torchaudio.transforms.MelSpectrogram (+ AmplitudeToDB),
// computed by tests/golden/mel_reference.py at test time (CTest fixture golden_mel_reference).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace mpjudge;

TEST(MelGolden, MatchesTorchaudio) {
  const std::string dir = MPJUDGE_GOLDEN_DIR;
  std::ifstream cf(dir + "/mel_configs.json");
  ASSERT_TRUE(cf) << "run the golden_mel_reference test first (ctest -L golden)";
  nlohmann::json configs = nlohmann::json::parse(cf);
  ASSERT_GE(configs.size(), 5u);
  AudioConfig ac;
  Pcm pcm = load_audio(testutil::data("mel_input_22k.wav"), ac);
  for (const auto& c : configs) {
    MelConfig m;
    m.sample_rate = c["sample_rate"];
    m.n_fft = c["n_fft"];
    m.win_length = c.value("win_length", 0);
    m.hop_length = c.value("hop_length", 0);
    m.n_mels = c["n_mels"];
    m.power = c.value("power", 2.0);
    m.center = c.value("center", true);
    m.normalized = c.value("normalized", false);
    m.f_min = c.value("f_min", 0.0);
    m.f_max = c.value("f_max", 0.0);
    m.slaney_norm = c.value("norm", "") == "slaney";
    m.slaney_scale = c.value("mel_scale", "htk") == "slaney";
    const std::string name = c["name"];
    for (bool log : {false, true}) {
      m.log = log;
      Spectrogram s = mel_spectrogram(pcm, m);
      std::vector<float> ref = testutil::read_f32(dir + "/" + name + (log ? ".db.f32" : ".linear.f32"));
      ASSERT_EQ(s.n_mels, int(c["n_mels"])) << name;
      ASSERT_EQ(s.n_frames, int(c["n_frames"])) << name;
      ASSERT_EQ(s.data.size(), ref.size()) << name;
      double max_abs = 0, max_ref = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        max_abs = std::max(max_abs, double(std::fabs(s.data[i] - ref[i])));
        max_ref = std::max(max_ref, double(std::fabs(ref[i])));
      }
      double rel = max_abs / max_ref;
      printf("mel golden %-20s %-6s max abs diff %.3g, relative to max |ref| %.3g\n", name.c_str(),
             log ? "dB" : "linear", max_abs, rel);
      EXPECT_LE(rel, 1e-4) << name << (log ? " dB" : " linear");
    }
  }
}
