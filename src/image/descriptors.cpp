// Painting descriptors in CIELAB (D65): lightness, chroma, a*, b*, contrast, edge density, angularity,
// colourfulness and colour emotion from the BCP-37 ratings of Palmer et al. (2013).
// Works on a copy whose long side is at most kWorkSide, so cost does not grow with the scan's size.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "common/error.h"
#include "image/image_internal.h"

namespace mpjudge {
namespace {

constexpr int kWorkSide = 512;     // descriptor working size (long side)
constexpr int kEmotionSide = 128;  // colour-emotion assignment works on a smaller copy
constexpr int kOrientationBins = 18;
constexpr int kTile = 32;            // angularity tiles (pixels at the working size)

const Bcp37Colour kBcp37[kBcp37Count] = {
#include "image/bcp37_data.inc"
};

double srgb_to_linear(double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); }
double lab_f(double t) {
  const double d = 6.0 / 29.0;
  return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
}

}  // namespace

const Bcp37Colour* bcp37_colours() { return kBcp37; }

void srgb_to_lab(uint8_t r8, uint8_t g8, uint8_t b8, double lab[3]) {
  double r = srgb_to_linear(r8 / 255.0), g = srgb_to_linear(g8 / 255.0), b = srgb_to_linear(b8 / 255.0);
  // sRGB (IEC 61966-2-1) to XYZ, normalised by the D65 white point.
  double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
  double fx = lab_f(x), fy = lab_f(y), fz = lab_f(z);
  lab[0] = 116 * fy - 16;
  lab[1] = 500 * (fx - fy);
  lab[2] = 200 * (fy - fz);
}

PaintingDescriptors describe_image(const RgbImage& img) {
  if (img.width <= 0 || img.height <= 0) fail_usage("describe_image: empty image");
  PaintingDescriptors d;
  d.width = img.width;
  d.height = img.height;
  cv::Mat src(img.height, img.width, CV_8UC3, const_cast<uint8_t*>(img.data.data()));
  cv::Mat work = src;
  double s = double(kWorkSide) / std::max(img.width, img.height);
  if (s < 1) cv::resize(src, work, cv::Size(), s, s, cv::INTER_AREA);

  // Lab via OpenCV's float path (exact formulas up to float rounding; tested against srgb_to_lab).
  cv::Mat f32, lab;
  work.convertTo(f32, CV_32FC3, 1.0 / 255);
  cv::cvtColor(f32, lab, cv::COLOR_RGB2Lab);
  double sum[3] = {0, 0, 0}, sum_l2 = 0, sum_c = 0;
  const size_t n = size_t(lab.rows) * size_t(lab.cols);
  for (int y = 0; y < lab.rows; ++y) {
    const cv::Vec3f* row = lab.ptr<cv::Vec3f>(y);
    for (int x = 0; x < lab.cols; ++x) {
      const cv::Vec3f& p = row[x];
      sum[0] += p[0], sum[1] += p[1], sum[2] += p[2];
      sum_l2 += double(p[0]) * p[0];
      sum_c += std::sqrt(double(p[1]) * p[1] + double(p[2]) * p[2]);
    }
  }
  d.lightness = sum[0] / n;
  d.a = sum[1] / n;
  d.b = sum[2] / n;
  d.chroma = sum_c / n;
  d.contrast = std::sqrt(std::max(0.0, sum_l2 / n - d.lightness * d.lightness));

  // Colourfulness (Hasler & Suesstrunk 2003) on 8-bit sRGB.
  {
    double mrg = 0, myb = 0, srg = 0, syb = 0;
    for (int y = 0; y < work.rows; ++y) {
      const cv::Vec3b* row = work.ptr<cv::Vec3b>(y);
      for (int x = 0; x < work.cols; ++x) {
        double rg = double(row[x][0]) - row[x][1], yb = 0.5 * (double(row[x][0]) + row[x][1]) - row[x][2];
        mrg += rg, myb += yb, srg += rg * rg, syb += yb * yb;
      }
    }
    mrg /= n, myb /= n;
    double vrg = std::max(0.0, srg / n - mrg * mrg), vyb = std::max(0.0, syb / n - myb * myb);
    d.colourfulness = std::sqrt(vrg + vyb) + 0.3 * std::sqrt(mrg * mrg + myb * myb);
  }

  // Edges on the L channel: density is the visual-rhythm channel, orientation concentration angularity.
  cv::Mat gray, blurred, edges, gx, gy;
  cv::cvtColor(work, gray, cv::COLOR_RGB2GRAY);
  cv::GaussianBlur(gray, blurred, cv::Size(5, 5), 1.0);
  cv::Canny(blurred, edges, 50, 150, 3, true);
  d.edge_density = double(cv::countNonZero(edges)) / double(n);
  cv::Sobel(blurred, gx, CV_32F, 1, 0, 3);
  cv::Sobel(blurred, gy, CV_32F, 0, 1, 3);
  // Angularity: straight edges give a peaked orientation histogram within a tile, curves a flat one.
  // Per tile (so straight lines at many different angles still count as angular), 1 - H / log(bins),
  // averaged over tiles weighted by their edge energy.
  double conc_sum = 0, mass_sum = 0;
  for (int ty = 0; ty < edges.rows; ty += kTile) {
    for (int tx = 0; tx < edges.cols; tx += kTile) {
      double hist[kOrientationBins] = {0};
      double total = 0;
      for (int y = ty; y < std::min(edges.rows, ty + kTile); ++y) {
        const uint8_t* e = edges.ptr<uint8_t>(y);
        const float* px = gx.ptr<float>(y);
        const float* py = gy.ptr<float>(y);
        for (int x = tx; x < std::min(edges.cols, tx + kTile); ++x) {
          if (!e[x]) continue;
          double mag = std::hypot(px[x], py[x]);
          double theta = std::atan2(py[x], px[x]);  // edges are undirected: fold -pi..pi to 0..pi
          if (theta < 0) theta += M_PI;
          hist[std::min(kOrientationBins - 1, int(theta / M_PI * kOrientationBins))] += mag;
          total += mag;
        }
      }
      if (total <= 0) continue;
      double h = 0;
      for (double v : hist)
        if (v > 0) h -= v / total * std::log(v / total);
      conc_sum += total * (1.0 - h / std::log(double(kOrientationBins)));
      mass_sum += total;
    }
  }
  d.angularity = mass_sum > 0 ? conc_sum / mass_sum : 0.0;

  // Colour emotion: each pixel takes the ratings of its nearest BCP-37 colour (CIE76 distance).
  cv::Mat small = lab;
  double se = double(kEmotionSide) / std::max(lab.cols, lab.rows);
  if (se < 1) cv::resize(lab, small, cv::Size(), se, se, cv::INTER_AREA);
  double happy = 0, sad = 0, angry = 0;
  for (int y = 0; y < small.rows; ++y) {
    const cv::Vec3f* row = small.ptr<cv::Vec3f>(y);
    for (int x = 0; x < small.cols; ++x) {
      int best = 0;
      double bd = 1e300;
      for (int k = 0; k < kBcp37Count; ++k) {
        double dl = row[x][0] - kBcp37[k].L, da = row[x][1] - kBcp37[k].a, db = row[x][2] - kBcp37[k].b;
        double dist = dl * dl + da * da + db * db;
        if (dist < bd) bd = dist, best = k;
      }
      happy += kBcp37[best].happy, sad += kBcp37[best].sad, angry += kBcp37[best].angry;
    }
  }
  const double ns = double(small.rows) * small.cols * 100.0;
  d.emotion = {happy / ns, sad / ns, angry / ns};
  return d;
}

PaintingDescriptors describe_painting(const std::string& path, const ImageConfig& cfg) {
  return describe_image(load_image(path, cfg));
}

}  // namespace mpjudge
