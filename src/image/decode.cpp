// Image decoding: bytes -> 8-bit RGB with the EXIF orientation applied (OpenCV imgcodecs), resizing
// and normalisation. The pixel limit is checked on the header before any pixel is decoded.
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "common/error.h"
#include "common/files.h"
#include "image/decode_bytes.h"

namespace mpjudge {
namespace {

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t le32(const uint8_t* p) { return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]; }
uint16_t le16(const uint8_t* p) { return uint16_t(p[1] << 8 | p[0]); }
uint32_t le24(const uint8_t* p) { return uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]; }

// TIFF IFD0 width/height (tags 256/257), either byte order.
bool tiff_dims(const uint8_t* d, size_t n, int64_t& w, int64_t& h) {
  bool le = d[0] == 'I';
  auto r16 = [&](size_t o) { return le ? le16(d + o) : be16(d + o); };
  auto r32 = [&](size_t o) { return le ? le32(d + o) : be32(d + o); };
  size_t ifd = r32(4);
  if (ifd + 2 > n) return false;
  int count = r16(ifd);
  for (int i = 0; i < count; ++i) {
    size_t e = ifd + 2 + size_t(i) * 12;
    if (e + 12 > n) return false;
    int tag = r16(e), type = r16(e + 2);
    int64_t v = type == 3 ? r16(e + 8) : r32(e + 8);
    if (tag == 256) w = v;
    if (tag == 257) h = v;
  }
  return w > 0 && h > 0;
}

// libpng and libjpeg write their own diagnostics to stderr, which OpenCV does not intercept. The CLI
// promises one-line errors, so fd 2 points at /dev/null while a codec runs. A process-wide mutex
// serialises this (other threads' stderr output in that window is lost; decoding is short).
class CodecSilencer {
 public:
  CodecSilencer() : lock_(mutex()) {
    fflush(stderr);
    saved_ = dup(2);
    int devnull = open("/dev/null", O_WRONLY);
    if (saved_ >= 0 && devnull >= 0) dup2(devnull, 2);
    if (devnull >= 0) close(devnull);
  }
  ~CodecSilencer() {
    fflush(stderr);
    if (saved_ >= 0) {
      dup2(saved_, 2);
      close(saved_);
    }
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  std::lock_guard<std::mutex> lock_;
  int saved_ = -1;
};

// Walks the PNG chunks: every chunk must fit in the file and the stream must reach IEND.
struct Span {
  const uint8_t* p;
  size_t n;
  size_t size() const { return n; }
  const uint8_t* data() const { return p; }
  uint8_t operator[](size_t i) const { return p[i]; }
};

void check_png(const Span& b, const std::string& name) {
  size_t pos = 8;
  while (pos + 12 <= b.size()) {
    uint32_t len = be32(b.data() + pos);
    if (pos + 12 + uint64_t(len) > b.size()) break;
    if (memcmp(b.data() + pos + 4, "IEND", 4) == 0) return;
    pos += 12 + len;
  }
  fail_input(name, "a complete PNG (chunks up to IEND)", "a truncated file");
}

}  // namespace

bool image_header_dims(const uint8_t* d, size_t n, const std::string& kind, int64_t& w, int64_t& h) {
  w = h = 0;
  if (kind == "png") {
    if (n < 24 || memcmp(d + 12, "IHDR", 4) != 0) return false;
    w = be32(d + 16), h = be32(d + 20);
    return true;
  }
  if (kind == "jpeg") {
    size_t i = 2;
    while (i + 9 < n) {
      if (d[i] != 0xFF) return false;
      uint8_t m = d[i + 1];
      if (m == 0xFF) {
        ++i;
        continue;
      }
      if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
        i += 2;
        continue;
      }
      if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
        h = be16(d + i + 5), w = be16(d + i + 7);
        return true;
      }
      i += 2 + be16(d + i + 2);
    }
    return false;
  }
  if (kind == "bmp") {
    if (n < 26) return false;
    w = int32_t(le32(d + 18)), h = int32_t(le32(d + 22));
    if (h < 0) h = -h;
    return true;
  }
  if (kind == "webp") {
    if (n >= 30 && memcmp(d + 12, "VP8 ", 4) == 0) {
      w = le16(d + 26) & 0x3FFF, h = le16(d + 28) & 0x3FFF;
      return true;
    }
    if (n >= 25 && memcmp(d + 12, "VP8L", 4) == 0) {
      uint32_t b = le32(d + 21);
      w = (b & 0x3FFF) + 1, h = ((b >> 14) & 0x3FFF) + 1;
      return true;
    }
    if (n >= 30 && memcmp(d + 12, "VP8X", 4) == 0) {
      w = le24(d + 24) + 1, h = le24(d + 27) + 1;
      return true;
    }
    return false;
  }
  if (kind == "tiff") return n >= 8 && tiff_dims(d, n, w, h);
  return false;
}

RgbImage decode_image(const std::vector<uint8_t>& bytes, const std::string& name, const ImageConfig& cfg) {
  return decode_image_bytes(bytes.data(), bytes.size(), name, cfg);
}

void check_rgb(const RgbImage& img, const std::string& name, const ImageConfig& cfg) {
  const std::string dims = std::to_string(img.width) + "x" + std::to_string(img.height);
  if (img.width <= 0 || img.height <= 0) fail_input(name, "positive image dimensions", dims);
  if (int64_t(img.width) * img.height > cfg.max_pixels)
    fail_input(name, "at most " + std::to_string(cfg.max_pixels) + " pixels", dims,
               "downscale the image first or raise the pixel limit");
  const size_t want = size_t(img.width) * size_t(img.height) * 3;
  if (img.data.size() != want)
    fail_input(name, std::to_string(want) + " bytes of 8-bit RGB for " + dims,
               std::to_string(img.data.size()) + " bytes");
}

RgbImage decode_image_bytes(const uint8_t* data, size_t size, const std::string& name, const ImageConfig& cfg) {
  const Span bytes{data, size};
  static std::once_flag quiet;
  std::call_once(quiet, [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); });
  std::string kind = sniff(bytes.data(), bytes.size());
  if (!is_image_kind(kind)) fail_input(name, "an image (JPEG, PNG, WebP, TIFF or BMP)", describe_kind(kind));
  int64_t w = 0, h = 0;
  if (!image_header_dims(bytes.data(), bytes.size(), kind, w, h))
    fail_input(name, "a readable " + kind + " header", "a truncated or corrupt header");
  if (w <= 0 || h <= 0) fail_input(name, "positive image dimensions", std::to_string(w) + "x" + std::to_string(h));
  if (w * h > cfg.max_pixels)
    fail_input(name, "at most " + std::to_string(cfg.max_pixels) + " pixels",
               std::to_string(w) + "x" + std::to_string(h) + " in the header (a decompression bomb or a huge scan)",
               "downscale the image first or raise the pixel limit");
  // libjpeg fills a truncated scan with grey and only warns; a JPEG must end with EOI.
  if (kind == "jpeg") {
    bool eoi = false;
    size_t from = bytes.size() > 4096 ? bytes.size() - 4096 : 0;
    for (size_t i = bytes.size() - 1; i > from && !eoi; --i) eoi = bytes[i - 1] == 0xFF && bytes[i] == 0xD9;
    if (!eoi) fail_input(name, "a complete JPEG (ending with an EOI marker)", "a truncated file");
  }
  if (kind == "png") check_png(bytes, name);
  cv::Mat bgr;
  try {
    CodecSilencer quiet_codecs;  // libpng/libjpeg print to stderr; our error says it in one line
    cv::Mat buf(1, int(bytes.size()), CV_8U, const_cast<uint8_t*>(bytes.data()));
    bgr = cv::imdecode(buf, cv::IMREAD_COLOR);  // applies the EXIF orientation
  } catch (const cv::Exception& e) {
    fail_input(name, "a decodable " + kind + " image", std::string("a decoder error (OpenCV: ") + e.err + ")");
  }
  if (bgr.empty()) fail_input(name, "a decodable " + kind + " image", "corrupt or truncated data");
  RgbImage out;
  out.width = bgr.cols;
  out.height = bgr.rows;
  out.data.resize(size_t(out.width) * size_t(out.height) * 3);
  cv::Mat rgb(out.height, out.width, CV_8UC3, out.data.data());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return out;
}

RgbImage load_image(const std::string& path, const ImageConfig& cfg) {
  MappedFile file(path, 1ULL << 30);
  return decode_image_bytes(file.data(), file.size(), path, cfg);
}

RgbImage resize_image(const RgbImage& img, int width, int height, ResizePolicy policy, uint8_t pad_value) {
  if (width <= 0 || height <= 0)
    fail_usage("resize target must be positive, got " + std::to_string(width) + "x" + std::to_string(height));
  if (img.width <= 0 || img.height <= 0) fail_usage("resize of an empty image");
  cv::Mat src(img.height, img.width, CV_8UC3, const_cast<uint8_t*>(img.data.data()));
  RgbImage out;
  out.width = width;
  out.height = height;
  out.data.assign(size_t(width) * size_t(height) * 3, pad_value);
  cv::Mat dst(height, width, CV_8UC3, out.data.data());
  auto interp = [](int from_w, int to_w) { return to_w < from_w ? cv::INTER_AREA : cv::INTER_CUBIC; };
  if (policy == ResizePolicy::Stretch) {
    cv::resize(src, dst, dst.size(), 0, 0, interp(img.width, width));
  } else if (policy == ResizePolicy::CenterCrop) {
    double s = std::max(double(width) / img.width, double(height) / img.height);
    int sw = std::max(width, int(std::lround(img.width * s))), sh = std::max(height, int(std::lround(img.height * s)));
    cv::Mat scaled;
    cv::resize(src, scaled, cv::Size(sw, sh), 0, 0, interp(img.width, sw));
    scaled(cv::Rect((sw - width) / 2, (sh - height) / 2, width, height)).copyTo(dst);
  } else {
    double s = std::min(double(width) / img.width, double(height) / img.height);
    int sw = std::max(1, int(std::lround(img.width * s))), sh = std::max(1, int(std::lround(img.height * s)));
    cv::Mat roi = dst(cv::Rect((width - sw) / 2, (height - sh) / 2, sw, sh));
    cv::resize(src, roi, roi.size(), 0, 0, interp(img.width, sw));
  }
  return out;
}

TensorImage normalise(const RgbImage& img, const float mean[3], const float std[3]) {
  TensorImage t;
  t.height = img.height;
  t.width = img.width;
  const size_t hw = size_t(img.width) * size_t(img.height);
  t.data.resize(3 * hw);
  for (int c = 0; c < 3; ++c) {
    const float a = 1.0f / (255.0f * std[c]), b = -mean[c] / std[c];
    float* plane = t.data.data() + size_t(c) * hw;
    for (size_t i = 0; i < hw; ++i) plane[i] = img.data[i * 3 + size_t(c)] * a + b;
  }
  return t;
}

TensorImage normalise_pm1(const RgbImage& img) {
  const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.5f, 0.5f, 0.5f};
  return normalise(img, mean, std);
}

std::vector<std::string> list_paintings(const std::string& folder) {
  if (!is_dir(folder)) fail_input(folder, "a folder of paintings", "no such folder");
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.' || !e.is_regular_file()) continue;
    uint8_t head[64] = {};
    std::FILE* f = std::fopen(e.path().c_str(), "rb");
    if (!f) continue;
    const size_t n = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
    if (is_image_kind(sniff(head, n))) out.push_back(folder + "/" + name);
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) fail_input(folder, "paintings (JPEG, PNG, WebP, TIFF or BMP files)", "none");
  return out;
}

}  // namespace mpjudge
