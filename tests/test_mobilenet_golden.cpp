// Golden test: the MobileNetV2 port against nsfwjs run by @tensorflow/tfjs in Node
// (tests/golden/mobilenet_reference.js, CTest fixture golden_mobilenet_reference).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/encoders.h"
#include "test_util.h"

using namespace mpjudge;

namespace {

at::Tensor read_nhwc(const std::string& path, const std::vector<int64_t>& shape) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw std::runtime_error("missing " + path);
  at::Tensor t = torch::empty(shape, torch::kFloat32);
  size_t bytes = size_t(f.tellg());
  if (bytes != size_t(t.numel()) * 4) throw std::runtime_error("size mismatch " + path);
  f.seekg(0);
  f.read(static_cast<char*>(t.data_ptr()), std::streamsize(bytes));
  return t.dim() == 4 ? t.permute({0, 3, 1, 2}) : t;  // NHWC -> NCHW
}

}  // namespace

TEST(MobileNetGolden, MatchesTfjs) {
  const std::string dir = std::string(MPJUDGE_GOLDEN_DIR) + "/mobilenet";
  std::ifstream mf(dir + "/mobilenet_reference.json");
  ASSERT_TRUE(mf) << "run the golden_mobilenet_reference test first (ctest -L golden)";
  nlohmann::json meta = nlohmann::json::parse(mf);
  MobileNetV2 net;
  torch::NoGradGuard no_grad;
  for (const auto& in : meta["inputs"]) {
    const std::string name = in["name"];
    at::Tensor x = MobileNetV2::input_from(load_image(testutil::data(name + ".png")));
    // Our decoder and PIL agree on the pixels, so both networks see the same input.
    at::Tensor ref_in = read_nhwc(dir + "/inputs/" + name + ".f32", {1, 224, 224, 3});
    ASSERT_LE((x - ref_in).abs().max().item<float>(), 1e-6f) << name;  // x * (1/255) vs x / 255
    MobileNetV2::Output out = net.forward(x);
    double worst = 0;
    for (size_t k = 0; k < MobileNetV2::stage_layers().size(); ++k) {
      const std::string layer = MobileNetV2::stage_layers()[k];
      at::Tensor ref =
          read_nhwc(dir + "/" + name + "." + layer + ".f32", meta["shapes"][layer].get<std::vector<int64_t>>());
      ASSERT_EQ(out.stages[k].sizes(), ref.sizes()) << layer;
      double d = (out.stages[k] - ref).abs().max().item<double>() / ref.abs().max().item<double>();
      printf("mobilenet golden %-20s %-26s max abs diff relative to max |ref| %.3g\n", name.c_str(), layer.c_str(), d);
      worst = std::max(worst, d);
    }
    at::Tensor ref_map =
        read_nhwc(dir + "/" + name + ".out_relu.f32", meta["shapes"]["out_relu"].get<std::vector<int64_t>>());
    double dp = (out.pooled - ref_map.mean({2, 3})).abs().max().item<double>();
    at::Tensor ref_probs = read_nhwc(dir + "/" + name + ".dense_3.f32", {1, 5});
    double dc = (out.probs - ref_probs).abs().max().item<double>();
    printf("mobilenet golden %-20s pooled 1280-d max abs diff %.3g; probabilities max abs diff %.3g\n", name.c_str(),
           dp, dc);
    EXPECT_LE(worst, 1e-4) << name;  // stage maps (values up to ~50): relative to their range
    EXPECT_LE(dp, 1e-3) << name;
    EXPECT_LE(dc, 1e-3) << name;
    EXPECT_NEAR(out.probs.sum().item<double>(), 1.0, 1e-5);
  }
}
