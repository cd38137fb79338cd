// Painting descriptors in CIELAB (D65): lightness, chroma, a*, b*, contrast, edge density, angularity,
// colourfulness and colour emotion from the BCP-37 ratings of Palmer et al. (2013).
// Works on a copy whose long side is at most kWorkSide, so cost does not grow with the scan's size.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "common/error.h"
#include "image/bcp37.h"

namespace mpjudge {
namespace {

constexpr int kWorkSide = 512;          // descriptor working size (long side)
constexpr int kEmotionSide = 128;       // colour-emotion assignment works on a smaller copy
constexpr double kStraightFrac = 0.03;  // a straight segment is at least 3% of the long side
constexpr double kCornerDeg = 25;       // and turns at least this much at both of its ends

const Bcp37Colour kBcp37[kBcp37Count] = {
#include "image/bcp37_data.inc"
};

double srgb_to_linear(double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); }
double lab_f(double t) {
  const double d = 6.0 / 29.0;
  return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
}

// Tables for a fast exact sRGB -> Lab: linearised sRGB per 8-bit value, and lab_f on a uniform grid.
struct LabTables {
  static constexpr int kSteps = 8192;
  float linear[256];
  float f[kSteps + 2];
  LabTables() {
    for (int i = 0; i < 256; ++i) linear[i] = float(srgb_to_linear(i / 255.0));
    for (int i = 0; i <= kSteps + 1; ++i) f[i] = float(lab_f(double(i) / kSteps));
  }
  float fast_f(float t) const {
    if (t >= 1.0f) return float(lab_f(t));  // only X/Xn of near-white reds can exceed 1, barely
    float pos = t * kSteps;
    int i = int(pos);
    float frac = pos - float(i);
    return f[i] + (f[i + 1] - f[i]) * frac;
  }
  void convert(uint8_t r8, uint8_t g8, uint8_t b8, float lab[3]) const {
    float r = linear[r8], g = linear[g8], b = linear[b8];
    float x = (0.4124564f * r + 0.3575761f * g + 0.1804375f * b) * (1.0f / 0.95047f);
    float y = 0.2126729f * r + 0.7151522f * g + 0.0721750f * b;
    float z = (0.0193339f * r + 0.1191920f * g + 0.9503041f * b) * (1.0f / 1.08883f);
    float fx = fast_f(x), fy = fast_f(y), fz = fast_f(z);
    lab[0] = 116 * fy - 16;
    lab[1] = 500 * (fx - fy);
    lab[2] = 200 * (fy - fz);
  }
};

const LabTables& lab_tables() {
  static const LabTables t;
  return t;
}

// A copy whose long side is at most `side` (area interpolation); each side stays >= 1 pixel, so a
// 1 x 5000 strip does not become 0 pixels wide (found by fuzzing).
cv::Mat shrink(const cv::Mat& m, int side) {
  double s = double(side) / std::max(m.cols, m.rows);
  if (s >= 1) return m;
  cv::Mat out;
  cv::Size size(std::max(1, int(std::lround(m.cols * s))), std::max(1, int(std::lround(m.rows * s))));
  cv::resize(m, out, size, 0, 0, cv::INTER_AREA);
  return out;
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
  cv::Mat work = shrink(src, kWorkSide);

  // Lab with the exact formulas: sRGB decoding by a 256-entry table, f(t) = cbrt by a fine table with
  // linear interpolation (error < 1e-5 in L*), so the result matches srgb_to_lab to ~1e-3.
  const LabTables& tab = lab_tables();
  cv::Mat lab(work.rows, work.cols, CV_32FC3);
  double sum[3] = {0, 0, 0}, sum_l2 = 0, sum_c = 0;
  const size_t n = size_t(work.rows) * size_t(work.cols);
  for (int y = 0; y < work.rows; ++y) {
    const cv::Vec3b* in = work.ptr<cv::Vec3b>(y);
    cv::Vec3f* row = lab.ptr<cv::Vec3f>(y);
    for (int x = 0; x < work.cols; ++x) {
      float p[3];
      tab.convert(in[x][0], in[x][1], in[x][2], p);
      row[x] = cv::Vec3f(p[0], p[1], p[2]);
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
  cv::Mat gray, blurred, edges;
  cv::cvtColor(work, gray, cv::COLOR_RGB2GRAY);
  cv::GaussianBlur(gray, blurred, cv::Size(5, 5), 1.0);
  cv::Canny(blurred, edges, 50, 150, 3, true);
  d.edge_density = double(cv::countNonZero(edges)) / double(n);
  // Angularity: the share of edge length on straight segments that meet their neighbours at corners.
  // Each Canny contour (a closed boundary) is approximated by a polygon within 1 px (Douglas-Peucker).
  // A segment counts when it is at least kStraightFrac of the working side long and turns by at least
  // kCornerDeg at both ends: a square's sides do, while the chords of a circle (of any size) turn
  // only slightly and do not. Straight edges and corners score high, curves and swirls low.
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(edges, contours, cv::RETR_LIST, cv::CHAIN_APPROX_NONE);
  const double min_straight = kStraightFrac * std::max(work.cols, work.rows);
  const double min_turn = kCornerDeg * M_PI / 180;
  double straight = 0, edge_len = 0;
  std::vector<cv::Point> poly;
  for (const auto& c : contours) {
    double len = cv::arcLength(c, true);
    if (len < min_straight) continue;  // specks and texture carry no shape
    edge_len += len;
    cv::approxPolyDP(c, poly, 1.0, true);
    const size_t k = poly.size();
    if (k < 3) continue;
    auto dir = [&](size_t i) {
      cv::Point2d d = poly[(i + 1) % k] - poly[i];
      return std::atan2(d.y, d.x);
    };
    auto turn = [&](size_t i, size_t j) {  // absolute turning angle from segment i to segment j
      double t = std::fabs(dir(j) - dir(i));
      return t > M_PI ? 2 * M_PI - t : t;
    };
    for (size_t i = 0; i < k; ++i) {
      double seg = cv::norm(poly[(i + 1) % k] - poly[i]);
      if (seg >= min_straight && turn((i + k - 1) % k, i) >= min_turn && turn(i, (i + 1) % k) >= min_turn)
        straight += seg;
    }
  }
  d.angularity = edge_len > 0 ? std::min(1.0, straight / edge_len) : 0.0;

  // Colour emotion: each pixel takes the ratings of its nearest BCP-37 colour (CIE76 distance).
  cv::Mat small = shrink(lab, kEmotionSide);
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
