// Golden test: the basic-pitch port against the package's own BasicPitch.evaluateModel run by tfjs in
// Node (tests/golden/basic_pitch_reference.js, CTest fixture golden_basic_pitch_reference).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/encoders.h"
#include "test_util.h"

using namespace mpjudge;

namespace {

at::Tensor read_f32(const std::string& path, int64_t cols) {
  return torch::tensor(testutil::read_f32(path)).view({-1, cols});
}

}  // namespace

TEST(BasicPitchGolden, MatchesTfjs) {
  const std::string dir = std::string(MPJUDGE_GOLDEN_DIR) + "/basic_pitch";
  std::ifstream mf(dir + "/basic_pitch_reference.json");
  ASSERT_TRUE(mf) << "run the golden_basic_pitch_reference test first (ctest -L golden)";
  nlohmann::json meta = nlohmann::json::parse(mf);
  Pcm pcm = load_audio(testutil::data("pitch_3s_22k.wav"));  // 22050 Hz already: no resampling
  at::Tensor ref_in = read_f32(dir + "/input.f32", 1).reshape({-1});
  ASSERT_EQ(int64_t(pcm.samples.size()), ref_in.numel());
  at::Tensor ours_in = torch::from_blob(pcm.samples.data(), {ref_in.numel()}, torch::kFloat32);
  ASSERT_LE((ours_in - ref_in).abs().max().item<float>(), 1e-6f);

  BasicPitch bp;
  torch::NoGradGuard no_grad;
  BasicPitch::Output out = bp.run(pcm.samples.data(), pcm.samples.size());
  const int64_t frames = meta["frames"];
  ASSERT_EQ(out.note.size(0), frames);
  struct {
    const char* name;
    at::Tensor ours;
    int64_t cols;
  } parts[] = {{"note", out.note, 88}, {"onset", out.onset, 88}, {"contour", out.contour, 264}};
  for (auto& p : parts) {
    at::Tensor ref = read_f32(dir + "/" + p.name + ".f32", p.cols);
    ASSERT_EQ(p.ours.sizes(), ref.sizes()) << p.name;
    double d = (p.ours - ref).abs().max().item<double>();
    printf("basic-pitch golden %-8s [%lld x %lld] max abs diff %.3g (posteriors in [0, 1])\n", p.name,
           (long long)ref.size(0), (long long)ref.size(1), d);
    EXPECT_LE(d, 1e-3) << p.name;
  }
}
