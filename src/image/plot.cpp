// The PNG charts of plot.h (OpenCV drawing): the score histogram of `data stats`, training curves.
#include "image/plot.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "common/files.h"

namespace mpjudge {

void write_bar_chart_png(const std::vector<int>& counts, const std::vector<std::string>& labels,
                         const std::string& title, const std::string& path) {
  const int W = 720, H = 420, left = 60, bottom = 60, top = 50;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  int mx = 1;
  for (int c : counts) mx = std::max(mx, c);
  const int n = int(counts.size());
  const double bw = double(W - left - 20) / std::max(1, n);
  cv::putText(img, title, cv::Point(left, 30), cv::FONT_HERSHEY_SIMPLEX, 0.7, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  cv::line(img, cv::Point(left, H - bottom), cv::Point(W - 10, H - bottom), cv::Scalar(0, 0, 0));
  cv::line(img, cv::Point(left, top), cv::Point(left, H - bottom), cv::Scalar(0, 0, 0));
  cv::putText(img, std::to_string(mx), cv::Point(5, top + 10), cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 0), 1,
              cv::LINE_AA);
  for (int i = 0; i < n; ++i) {
    int h = int(double(counts[size_t(i)]) / mx * (H - bottom - top));
    cv::Point a(left + int(i * bw) + 3, H - bottom - h), b(left + int((i + 1) * bw) - 3, H - bottom);
    cv::rectangle(img, a, b, cv::Scalar(180, 110, 40), cv::FILLED);
    if (size_t(i) < labels.size())
      cv::putText(img, labels[size_t(i)], cv::Point(left + int(i * bw) + 2, H - bottom + 20), cv::FONT_HERSHEY_SIMPLEX,
                  0.4, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", img, png)) fail_internal("chart: PNG encoding failed");
  write_file_atomic(path, png.data(), png.size());
}

void write_line_chart_png(const std::vector<ChartSeries>& series, const std::string& title, const std::string& x_label,
                          const std::string& path) {
  const int W = 760, H = 440, left = 70, right = 20, bottom = 60, top = 50;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]), y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1e-6, y0 -= 1e-6;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  auto px = [&](double x) { return left + int((x - x0) / (x1 - x0) * (W - left - right)); };
  auto py = [&](double y) { return H - bottom - int((y - y0) / (y1 - y0) * (H - bottom - top)); };
  const cv::Scalar black(0, 0, 0), grey(225, 225, 225);
  cv::putText(img, title, cv::Point(left, 30), cv::FONT_HERSHEY_SIMPLEX, 0.65, black, 1, cv::LINE_AA);
  char buf[32];
  for (int t = 0; t <= 4; ++t) {
    const double y = y0 + (y1 - y0) * t / 4, x = x0 + (x1 - x0) * t / 4;
    cv::line(img, cv::Point(left, py(y)), cv::Point(W - right, py(y)), grey);
    std::snprintf(buf, sizeof buf, "%.3g", y);
    cv::putText(img, buf, cv::Point(5, py(y) + 4), cv::FONT_HERSHEY_SIMPLEX, 0.4, black, 1, cv::LINE_AA);
    std::snprintf(buf, sizeof buf, "%.4g", x);
    cv::putText(img, buf, cv::Point(px(x) - 10, H - bottom + 18), cv::FONT_HERSHEY_SIMPLEX, 0.4, black, 1, cv::LINE_AA);
  }
  cv::putText(img, x_label, cv::Point(W / 2 - 20, H - 15), cv::FONT_HERSHEY_SIMPLEX, 0.5, black, 1, cv::LINE_AA);
  cv::line(img, cv::Point(left, H - bottom), cv::Point(W - right, H - bottom), black);
  cv::line(img, cv::Point(left, top), cv::Point(left, H - bottom), black);
  static const cv::Scalar colours[] = {{180, 110, 40}, {40, 120, 230}, {60, 160, 60}, {150, 60, 160}, {30, 30, 200}};
  for (size_t k = 0; k < series.size(); ++k) {
    const cv::Scalar c = colours[k % 5];
    const auto& s = series[k];
    std::vector<cv::Point> pts;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) pts.push_back(cv::Point(px(s.x[i]), py(s.y[i])));
    if (pts.size() == 1) cv::circle(img, pts[0], 3, c, cv::FILLED);
    if (pts.size() > 1) cv::polylines(img, pts, false, c, 2, cv::LINE_AA);
    const int ly = top + 10 + int(k) * 18;
    cv::line(img, cv::Point(W - right - 180, ly), cv::Point(W - right - 155, ly), c, 3);
    cv::putText(img, s.name, cv::Point(W - right - 150, ly + 5), cv::FONT_HERSHEY_SIMPLEX, 0.45, black, 1, cv::LINE_AA);
  }
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", img, png)) fail_internal("chart: PNG encoding failed");
  write_file_atomic(path, png.data(), png.size());
}

}  // namespace mpjudge
