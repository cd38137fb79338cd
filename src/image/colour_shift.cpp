// CIELAB colour shifts of a painting (colour_shift.h), in float Lab (OpenCV: L 0..100, a and b unscaled).
#include "image/colour_shift.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <vector>

#include "common/error.h"
#include "common/files.h"

namespace mpjudge {

void write_lab_shifted_png(const std::string& painting, const LabShift& s, const std::string& out_png) {
  write_lab_shifted_png(load_image(painting), s, out_png);
}

void write_lab_shifted_png(const RgbImage& img, const LabShift& s, const std::string& out_png) {
  const cv::Mat rgb(img.height, img.width, CV_8UC3, const_cast<uint8_t*>(img.data.data()));
  cv::Mat f, lab;
  rgb.convertTo(f, CV_32FC3, 1.0 / 255);
  cv::cvtColor(f, lab, cv::COLOR_RGB2Lab);
  for (int y = 0; y < lab.rows; ++y) {
    cv::Vec3f* row = lab.ptr<cv::Vec3f>(y);
    for (int x = 0; x < lab.cols; ++x) {
      cv::Vec3f& p = row[x];
      p[0] = std::clamp(p[0] + float(s.dl), 0.0f, 100.0f);
      p[1] = float(p[1] * s.chroma);
      p[2] = float(p[2] * s.chroma + s.db);
    }
  }
  cv::Mat back, out;
  cv::cvtColor(lab, back, cv::COLOR_Lab2BGR);
  back.convertTo(out, CV_8UC3, 255.0);
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", out, png)) fail_internal("colour shift: PNG encoding failed for " + out_png);
  write_file_atomic(out_png, png.data(), png.size());
}

}  // namespace mpjudge
