// The bridge from front-end buffers to torch tensors: shapes, layout, values, ownership.
#include <gtest/gtest.h>

#include "model/tensors.h"
#include "test_util.h"

using namespace mpjudge;

TEST(Tensors, ImageIsPlanarBatchOfOne) {
  RgbImage img = load_image(testutil::data("gradient_32.png"));
  TensorImage t = normalise_pm1(img);
  at::Tensor x = to_tensor(t);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
  EXPECT_EQ(x.scalar_type(), at::kFloat);
  // Pixel (x=31, y=0): R = 31 * 8 = 248 -> 248/127.5 - 1; G = 0 -> -1.
  EXPECT_NEAR(x[0][0][0][31].item<float>(), 248 / 127.5 - 1, 1e-6);
  EXPECT_NEAR(x[0][1][0][31].item<float>(), -1.0, 1e-6);
  EXPECT_GE(x.min().item<float>(), -1.0f);
  EXPECT_LE(x.max().item<float>(), 1.0f);
  t.data.assign(t.data.size(), 0.0f);  // the tensor owns a copy
  EXPECT_NEAR(x[0][0][0][31].item<float>(), 248 / 127.5 - 1, 1e-6);
}

TEST(Tensors, SpectrogramAndPcm) {
  Pcm p = testutil::sine(440, 1.0, 22050);
  Spectrogram s = mel_spectrogram(p);
  at::Tensor m = to_tensor(s);
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{1, s.n_mels, s.n_frames}));
  EXPECT_EQ(m[0][5][7].item<float>(), s.data[size_t(5 * s.n_frames + 7)]);
  at::Tensor w = to_tensor(p);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{1, 22050}));
  EXPECT_EQ(w[0][100].item<float>(), p.samples[100]);
}
