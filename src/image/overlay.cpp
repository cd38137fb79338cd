// Heat-map overlays of modulation maps on paintings: upsample (bicubic), min-max normalise, colour map
// (OpenCV's inferno), alpha-blend, write a PNG via a temp file + rename. No model code here.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <unistd.h>
#include <cstdio>

#include "common/error.h"
#include "common/files.h"

namespace mpjudge {

void write_overlay_png(const std::string& painting, const ModulationMap& map, const std::string& out_png, double alpha,
                       int max_side) {
  if (map.height <= 0 || map.width <= 0 || map.values.size() != size_t(map.height) * size_t(map.width))
    fail_usage("overlay: a map of " + std::to_string(map.height) + "x" + std::to_string(map.width) +
               " needs that many values");
  RgbImage img = load_image(painting);
  cv::Mat rgb(img.height, img.width, CV_8UC3, img.data.data()), bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  const int side = std::max(bgr.cols, bgr.rows);
  if (max_side > 0 && side > max_side) {
    const double k = double(max_side) / side;
    cv::resize(bgr, bgr, cv::Size(std::max(1, int(bgr.cols * k + 0.5)), std::max(1, int(bgr.rows * k + 0.5))), 0, 0,
               cv::INTER_AREA);
  }
  cv::Mat m(map.height, map.width, CV_32F, const_cast<float*>(map.values.data())), up;
  cv::resize(m, up, bgr.size(), 0, 0, cv::INTER_CUBIC);
  double lo, hi;
  cv::minMaxLoc(up, &lo, &hi);
  cv::Mat norm8;
  // A flat map (an untrained MAN is the identity) shows as uniformly cold, not as noise.
  up.convertTo(norm8, CV_8U, hi > lo ? 255.0 / (hi - lo) : 0.0, hi > lo ? -lo * 255.0 / (hi - lo) : 0.0);
  cv::Mat heat, blended;
  cv::applyColorMap(norm8, heat, cv::COLORMAP_INFERNO);
  cv::addWeighted(heat, alpha, bgr, 1.0 - alpha, 0.0, blended);
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", blended, png)) fail_internal("overlay: PNG encoding failed");
  write_file_atomic(out_png, png.data(), png.size());
}

}  // namespace mpjudge
