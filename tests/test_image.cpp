// Image front-end: formats, EXIF orientation, pixel limit, resize policies, normalisation, CIELAB, colour
// shifts in CIELAB, and painting descriptors on colour fields of known Lab values and on synthetic shapes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "common/files.h"
#include "image/bcp37.h"
#include "image/colour_shift.h"
#include "image/decode_bytes.h"
#include "test_util.h"

using namespace mpjudge;
using testutil::data;

namespace {

RgbImage field(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  RgbImage img;
  img.width = w;
  img.height = h;
  img.data.resize(size_t(w * h * 3));
  for (size_t i = 0; i < img.data.size(); i += 3) img.data[i] = r, img.data[i + 1] = g, img.data[i + 2] = b;
  return img;
}

void set(RgbImage& img, int x, int y, uint8_t v) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  for (int c = 0; c < 3; ++c) img.data[size_t((y * img.width + x) * 3 + c)] = v;
}

// CIELAB (D65) -> 8-bit sRGB; false when the colour lies outside the sRGB gamut.
bool lab_to_srgb(double L, double a, double b, uint8_t out[3]) {
  double fy = (L + 16) / 116, fx = fy + a / 500, fz = fy - b / 200;
  auto finv = [](double t) { return t > 6.0 / 29 ? t * t * t : 3 * (6.0 / 29) * (6.0 / 29) * (t - 4.0 / 29); };
  double X = 0.95047 * finv(fx), Y = finv(fy), Z = 1.08883 * finv(fz);
  double rgb[3] = {3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z, -0.9692660 * X + 1.8760108 * Y + 0.0415560 * Z,
                   0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z};
  for (int i = 0; i < 3; ++i) {
    double c = rgb[i];
    if (c < -0.002 || c > 1.002) return false;
    c = std::min(1.0, std::max(0.0, c));
    c = c <= 0.0031308 ? 12.92 * c : 1.055 * std::pow(c, 1 / 2.4) - 0.055;
    out[i] = uint8_t(std::lround(c * 255));
  }
  return true;
}

}  // namespace

TEST(Image, AllFormatsDecodeToTheSamePixels) {
  RgbImage ref = load_image(data("gradient_32.png"));
  ASSERT_EQ(ref.width, 32);
  ASSERT_EQ(ref.height, 32);
  EXPECT_EQ(ref.data[3 * 31], 31 * 8);  // top-right: R = x * 8
  for (const char* f : {"gradient_32.webp", "gradient_32.tiff", "gradient_32.bmp"}) {
    RgbImage img = load_image(data(f));
    ASSERT_EQ(img.width, 32) << f;
    EXPECT_EQ(img.data, ref.data) << f << " is lossless";
  }
  RgbImage jpg = load_image(data("gradient_32.jpg"));
  double diff = 0;
  for (size_t i = 0; i < jpg.data.size(); ++i) diff += std::abs(int(jpg.data[i]) - int(ref.data[i]));
  EXPECT_LT(diff / double(jpg.data.size()), 4.0);
}

TEST(Image, ExifOrientationIsApplied) {
  RgbImage img = load_image(data("exif_rotate90.jpg"));
  ASSERT_EQ(img.width, 20);
  ASSERT_EQ(img.height, 40);
  const uint8_t* top = &img.data[size_t((5 * 20 + 10) * 3)];
  const uint8_t* bottom = &img.data[size_t((35 * 20 + 10) * 3)];
  EXPECT_GT(top[0], 200);
  EXPECT_LT(top[2], 60);
  EXPECT_GT(bottom[2], 200);
  EXPECT_LT(bottom[0], 60);
}

TEST(Image, PixelLimitCheckedOnTheHeader) {
  ImageConfig c;
  c.max_pixels = 500;
  try {
    load_image(data("gradient_32.png"), c);
    FAIL() << "32x32 exceeds 500 pixels";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("32x32"), std::string::npos) << e.what();
  }
  int64_t w = 0, h = 0;
  auto bytes = read_file(data("gradient_32.jpg"));
  ASSERT_TRUE(image_header_dims(bytes.data(), bytes.size(), "jpeg", w, h));
  EXPECT_EQ(w, 32);
  for (const char* f : {"gradient_32.webp", "gradient_32.tiff", "gradient_32.bmp"}) {
    bytes = read_file(data(f));
    std::string kind = std::string(f).substr(std::string(f).rfind('.') + 1);
    ASSERT_TRUE(image_header_dims(bytes.data(), bytes.size(), kind, w, h)) << f;
    EXPECT_EQ(w, 32) << f;
    EXPECT_EQ(h, 32) << f;
  }
}

TEST(Image, ResizePolicies) {
  RgbImage img = load_image(data("exif_rotate90.jpg"));  // 20x40: red top half, blue bottom half
  RgbImage s = resize_image(img, 16, 8, ResizePolicy::Stretch);
  EXPECT_EQ(s.width, 16);
  EXPECT_EQ(s.height, 8);
  RgbImage crop = resize_image(img, 20, 20, ResizePolicy::CenterCrop);  // middle square: both colours
  EXPECT_GT(crop.data[0], 200);                                         // red at its top
  EXPECT_GT(crop.data[size_t((19 * 20) * 3 + 2)], 200);                 // blue at its bottom
  RgbImage pad = resize_image(img, 40, 40, ResizePolicy::Pad, 7);       // 20x40 centred, 10 px bars
  EXPECT_EQ(pad.data[0], 7);
  EXPECT_EQ(pad.data[size_t((20 * 40 + 39) * 3)], 7);
  EXPECT_GT(pad.data[size_t((5 * 40 + 20) * 3)], 200);
  EXPECT_THROW(resize_image(img, 0, 10, ResizePolicy::Stretch), Error);
}

TEST(Image, NormaliseToPlanarMinusOneOne) {
  RgbImage img = field(2, 1, 0, 255, 0);
  TensorImage t = normalise_pm1(img);
  ASSERT_EQ(t.data.size(), 6u);
  EXPECT_FLOAT_EQ(t.data[0], -1.0f);  // R plane
  EXPECT_FLOAT_EQ(t.data[2], 1.0f);   // G plane
  EXPECT_FLOAT_EQ(t.data[4], -1.0f);  // B plane
}

TEST(Image, SrgbToLabKnownValues) {
  double lab[3];
  srgb_to_lab(255, 255, 255, lab);
  EXPECT_NEAR(lab[0], 100.0, 0.01);
  EXPECT_NEAR(lab[1], 0.0, 0.01);
  EXPECT_NEAR(lab[2], 0.0, 0.01);
  srgb_to_lab(255, 0, 0, lab);  // published: 53.24, 80.09, 67.20
  EXPECT_NEAR(lab[0], 53.24, 0.02);
  EXPECT_NEAR(lab[1], 80.09, 0.02);
  EXPECT_NEAR(lab[2], 67.20, 0.02);
  srgb_to_lab(0, 0, 255, lab);  // published: 32.30, 79.19, -107.86
  EXPECT_NEAR(lab[0], 32.30, 0.02);
  EXPECT_NEAR(lab[1], 79.19, 0.02);
  EXPECT_NEAR(lab[2], -107.86, 0.02);
}

// Fields of the BCP-37 colours: the descriptors must give back each colour's Lab and its ratings.
// The direction check's colour shifts (and the distilled student's colour-shifted copies): no shift gives
// the painting back to rounding; lighter / more saturated / yellower moves mean L*, chroma and b* up by about
// what was asked, the opposite version down; an unreadable painting is an input error and writes nothing.
TEST(Image, LabShiftsMoveLightnessChromaAndYellowness) {
  const std::string dir = testutil::tmp_dir("lab_shift"), src = data("gradient_32.png");
  struct Mean {
    double L = 0, C = 0, b = 0;
  };
  auto mean_lab = [](const RgbImage& img) {
    Mean m;
    const size_t n = img.data.size() / 3;
    for (size_t i = 0; i < n; ++i) {
      double lab[3];
      srgb_to_lab(img.data[3 * i], img.data[3 * i + 1], img.data[3 * i + 2], lab);
      m.L += lab[0] / double(n), m.C += std::hypot(lab[1], lab[2]) / double(n), m.b += lab[2] / double(n);
    }
    return m;
  };
  const RgbImage orig = load_image(src);
  write_lab_shifted_png(src, {0, 1, 0}, dir + "/same.png");
  const RgbImage same = load_image(dir + "/same.png");
  ASSERT_EQ(same.data.size(), orig.data.size());
  int worst = 0;
  for (size_t i = 0; i < orig.data.size(); ++i)
    worst = std::max(worst, std::abs(int(same.data[i]) - int(orig.data[i])));
  EXPECT_LE(worst, 1);
  write_lab_shifted_png(src, {12, 1.3, 12}, dir + "/lighter.png");
  write_lab_shifted_png(src, {-12, 0.7, -12}, dir + "/darker.png");
  const Mean o = mean_lab(orig), l = mean_lab(load_image(dir + "/lighter.png")),
             k = mean_lab(load_image(dir + "/darker.png"));
  printf("mean L*, chroma, b*: original %.1f %.1f %.1f, lighter %.1f %.1f %.1f, darker %.1f %.1f %.1f\n", o.L, o.C, o.b,
         l.L, l.C, l.b, k.L, k.C, k.b);
  EXPECT_NEAR(l.L - o.L, 12, 3);
  EXPECT_NEAR(k.L - o.L, -12, 3);
  EXPECT_GT(l.C, o.C * 1.1);
  EXPECT_LT(k.C, o.C * 0.85);
  EXPECT_GT(l.b - o.b, 6);
  EXPECT_LT(k.b - o.b, -6);
  try {
    write_lab_shifted_png(dir + "/no_such.png", {12, 1.3, 12}, dir + "/never.png");
    ADD_FAILURE() << "an unreadable painting was shifted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input) << e.what();
    EXPECT_NE(std::string(e.what()).find("no_such.png"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::ifstream(dir + "/never.png").good());
}

TEST(Image, ColourFieldsOfKnownLab) {
  int tested = 0;
  for (int k = 0; k < kBcp37Count; ++k) {
    const Bcp37Colour& c = bcp37_colours()[k];
    uint8_t rgb[3];
    if (!lab_to_srgb(c.L, c.a, c.b, rgb)) continue;
    PaintingDescriptors d = describe_image(field(64, 48, rgb[0], rgb[1], rgb[2]));
    double exact[3];
    srgb_to_lab(rgb[0], rgb[1], rgb[2], exact);
    EXPECT_NEAR(d.lightness, exact[0], 0.005) << c.name;  // fast tables vs exact formulas
    EXPECT_NEAR(d.a, exact[1], 0.005) << c.name;
    EXPECT_NEAR(d.b, exact[2], 0.005) << c.name;
    EXPECT_NEAR(d.lightness, c.L, 1.0) << c.name;  // 8-bit quantisation of the published colour
    EXPECT_NEAR(d.a, c.a, 1.5) << c.name;
    EXPECT_NEAR(d.b, c.b, 1.5) << c.name;
    EXPECT_NEAR(d.chroma, std::hypot(exact[1], exact[2]), 0.005) << c.name;
    EXPECT_LT(d.contrast, 0.01) << c.name;
    EXPECT_EQ(d.edge_density, 0.0) << c.name;
    EXPECT_NEAR(d.emotion.happy, c.happy / 100, 1e-6) << c.name;
    EXPECT_NEAR(d.emotion.sad, c.sad / 100, 1e-6) << c.name;
    EXPECT_NEAR(d.emotion.angry, c.angry / 100, 1e-6) << c.name;
    ++tested;
  }
  EXPECT_GE(tested, 25) << "most BCP-37 colours lie inside sRGB";
}

TEST(Image, HalfAndHalfMixesColourEmotion) {
  // Saturated yellow (happy) and dark blue (sad): half each gives the mean of their nearest colours.
  RgbImage img = field(64, 64, 250, 220, 20);
  for (int y = 32; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      img.data[size_t((y * 64 + x) * 3)] = 20, img.data[size_t((y * 64 + x) * 3 + 1)] = 30,
                                     img.data[size_t((y * 64 + x) * 3 + 2)] = 90;
  PaintingDescriptors top = describe_image(field(64, 64, 250, 220, 20));
  PaintingDescriptors bottom = describe_image(field(64, 64, 20, 30, 90));
  PaintingDescriptors mixed = describe_image(img);
  EXPECT_GT(top.emotion.happy, bottom.emotion.happy);
  EXPECT_NEAR(mixed.emotion.happy, (top.emotion.happy + bottom.emotion.happy) / 2, 0.03);
  EXPECT_GT(mixed.contrast, 10.0);
  EXPECT_GT(top.b, 60.0);
  EXPECT_LT(bottom.b, -20.0);
}

TEST(Image, AngularityAndEdgeDensityOnShapes) {
  RgbImage square = field(512, 512, 255, 255, 255), circle = square, stripes = square;
  for (int i = 100; i <= 400; ++i)
    for (int t = 0; t < 3; ++t)
      set(square, i, 100 + t, 0), set(square, i, 400 - t, 0), set(square, 100 + t, i, 0), set(square, 400 - t, i, 0);
  for (int a = 0; a < 4000; ++a) {
    double th = 2 * M_PI * a / 4000;
    for (int t = 0; t < 3; ++t)
      set(circle, int(256 + (150 - t) * std::cos(th)), int(256 + (150 - t) * std::sin(th)), 0);
  }
  for (int y = 0; y < 512; ++y)
    for (int x = 0; x < 512; ++x)
      if ((x / 4) % 2) set(stripes, x, y, 0);
  PaintingDescriptors ds = describe_image(square), dc = describe_image(circle), dt = describe_image(stripes);
  PaintingDescriptors flat = describe_image(field(512, 512, 128, 128, 128));
  EXPECT_GT(ds.angularity, 0.8);
  EXPECT_LT(dc.angularity, 0.2);
  EXPECT_GT(dt.edge_density, 4 * ds.edge_density);
  EXPECT_GT(ds.edge_density, 0.0);
  EXPECT_EQ(flat.edge_density, 0.0);
  EXPECT_EQ(flat.angularity, 0.0);
  EXPECT_NEAR(flat.chroma, 0.0, 0.05);
}

// Found by fuzzing: extreme aspect ratios must not shrink a side to 0 pixels.
TEST(Image, ExtremeAspectRatios) {
  for (auto wh : {std::pair<int, int>{4000, 1}, {1, 3000}, {1, 1}, {2, 9000}}) {
    PaintingDescriptors d = describe_image(field(wh.first, wh.second, 200, 100, 50));
    EXPECT_EQ(d.width, wh.first);
    EXPECT_GT(d.lightness, 0);
  }
}

// A gallery is found by content: an image without an image extension is in, a WAV named .jpg and hidden
// files are out; an empty or missing folder is an Input error naming it.
TEST(Image, ListPaintingsSniffsContent) {
  const std::string dir = testutil::tmp_dir("gallery");
  auto copy = [&](const std::string& from, const std::string& to) {
    const std::vector<uint8_t> b = read_file(data(from));
    write_file_atomic(dir + "/" + to, std::string(b.begin(), b.end()));
  };
  copy("gradient_32.png", "b.png");
  copy("gradient_32.jpg", "a_no_extension");
  copy("bad/wav_named.jpg", "c.jpg");
  copy("gradient_32.png", ".hidden.png");
  const std::vector<std::string> got = list_paintings(dir);
  EXPECT_EQ(got, (std::vector<std::string>{dir + "/a_no_extension", dir + "/b.png"}));
  for (const char* f : {"/a_no_extension", "/b.png", "/c.jpg", "/.hidden.png"}) std::remove((dir + f).c_str());
  try {
    list_paintings(dir);
    FAIL() << "an empty folder was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
  }
  rmdir(dir.c_str());
  EXPECT_THROW(list_paintings(dir), Error);
}
