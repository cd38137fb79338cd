// MPD-Open builder (see build.h and docs/corpus.md).
#include "corpus/build.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "audio/encode.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "corpus/midi.h"
#include "corpus/rcc.h"
#include "data/csv.h"

extern char** environ;

namespace mpjudge {
namespace fs = std::filesystem;
namespace {

using Bytes = std::shared_ptr<const std::vector<uint8_t>>;

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (ok)
      out += c;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.substr(0, 80);
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

uint64_t mix(uint64_t seed, const std::string& s) {
  uint64_t h = 1469598103934665603ULL ^ seed;  // FNV-1a over the seed and the name: stable across runs
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// ---- sources -----------------------------------------------------------------------------------------

struct MusicSpec {
  std::string source, origin, stem, variant = "orig";
  bool midi = false;
  Bytes bytes;
  MidiVariation var;
  std::optional<std::pair<double, double>> human_va;
  std::string va_from = "human";    // where human_va comes from: "human" (vgmidi), "listeners" (Emotify)
  std::vector<double> gems_shares;  // Emotify: the share of listeners who chose each GEMS category
  int listeners = 0;
};

struct PaintingSpec {
  std::string source, style, origin, stem, variant = "orig";
  std::shared_ptr<const cv::Mat> image;  // BGR 8-bit, at most 512 px on its long side
  std::vector<std::pair<std::string, double>> ops;
};

std::vector<std::string> files_under(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file() && lower(it->path().extension().string()) == ext) out.push_back(it->path().string());
  std::sort(out.begin(), out.end());
  return out;
}

Bytes load_bytes(const std::string& path) { return std::make_shared<const std::vector<uint8_t>>(read_file(path)); }

cv::Mat fit512(const cv::Mat& img) {
  const int side = std::max(img.cols, img.rows);
  if (side <= 512) return img;
  cv::Mat out;
  const double s = 512.0 / side;
  cv::resize(img, out, cv::Size(std::max(1, int(img.cols * s + 0.5)), std::max(1, int(img.rows * s + 0.5))), 0, 0,
             cv::INTER_AREA);
  return out;
}

cv::Mat decode_bgr(const std::vector<uint8_t>& bytes, const std::string& name) {
  RgbImage rgb = decode_image(bytes, name);
  cv::Mat m(rgb.height, rgb.width, CV_8UC3, rgb.data.data());
  cv::Mat bgr;
  cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

// gcompris "paintings" activity: each board file names the painting and places its jigsaw pieces (centre
// as a fraction of a 702x515 board). Alpha-compositing the pieces there gives back the painting.
void gcompris_paintings(const std::string& rcc_path, std::vector<PaintingSpec>& out) {
  RccArchive rcc(rcc_path);
  const std::string base = "/gcompris/src/activities/paintings/resource/";
  const std::regex title_re(R"(qsTr\(\"([^\"]+)\"\))");
  const std::regex piece_re(
      R"re("pixmapfile"\s*:\s*"(image/[^"]+\.webp)"\s*,\s*"x"\s*:\s*"([0-9.]+)"\s*,\s*"y"\s*:\s*"([0-9.]+)")re");
  for (const auto& name : rcc.list()) {
    if (name.rfind(base + "board/board", 0) != 0) continue;
    const auto raw = rcc.read(name);
    const std::string qml(raw.begin(), raw.end());
    std::smatch tm;
    if (!std::regex_search(qml, tm, title_re)) continue;
    const std::string title = tm[1];
    const int W = 702, H = 515, margin = 400;
    cv::Mat canvas(H + 2 * margin, W + 2 * margin, CV_32FC4, cv::Scalar(0, 0, 0, 0));
    int pieces = 0;
    for (auto it = std::sregex_iterator(qml.begin(), qml.end(), piece_re); it != std::sregex_iterator(); ++it) {
      const auto bytes = rcc.read(base + (*it)[1].str());
      cv::Mat piece = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
      if (piece.empty() || (piece.channels() != 3 && piece.channels() != 4) || piece.depth() != CV_8U)
        fail_input(rcc_path + ":" + (*it)[1].str(), "an 8-bit WebP jigsaw piece", "undecodable data");
      if (piece.channels() == 3) cv::cvtColor(piece, piece, cv::COLOR_BGR2BGRA);  // a rectangular piece
      const double cx = std::stod((*it)[2]) * W + margin, cy = std::stod((*it)[3]) * H + margin;
      const int x0 = int(std::lround(cx - piece.cols / 2.0)), y0 = int(std::lround(cy - piece.rows / 2.0));
      for (int y = 0; y < piece.rows; ++y)
        for (int x = 0; x < piece.cols; ++x) {
          const int X = x0 + x, Y = y0 + y;
          if (X < 0 || Y < 0 || X >= canvas.cols || Y >= canvas.rows) continue;
          const cv::Vec4b s = piece.at<cv::Vec4b>(y, x);
          const float a = s[3] / 255.0f;
          cv::Vec4f& d = canvas.at<cv::Vec4f>(Y, X);
          for (int c = 0; c < 3; ++c) d[c] = s[c] * a + d[c] * (1 - a);
          d[3] = a + d[3] * (1 - a);
        }
      ++pieces;
    }
    if (pieces == 0) continue;
    // Crop to the covered area and un-premultiply.
    int x_min = canvas.cols, y_min = canvas.rows, x_max = -1, y_max = -1;
    for (int y = 0; y < canvas.rows; ++y)
      for (int x = 0; x < canvas.cols; ++x)
        if (canvas.at<cv::Vec4f>(y, x)[3] > 0.5f)
          x_min = std::min(x_min, x), x_max = std::max(x_max, x), y_min = std::min(y_min, y),
          y_max = std::max(y_max, y);
    if (x_max < 0) continue;
    cv::Mat img(y_max - y_min + 1, x_max - x_min + 1, CV_8UC3);
    for (int y = 0; y < img.rows; ++y)
      for (int x = 0; x < img.cols; ++x) {
        const cv::Vec4f& d = canvas.at<cv::Vec4f>(y + y_min, x + x_min);
        const float a = std::max(d[3], 1e-3f);
        for (int c = 0; c < 3; ++c)
          img.at<cv::Vec3b>(y, x)[c] = cv::saturate_cast<uint8_t>(d[c] / a + (1 - d[3]) * 255);
      }
    PaintingSpec p;
    p.source = "gcompris";
    std::string artist = title.substr(0, title.find(','));
    artist = artist.substr(artist.find_last_of(' ') == std::string::npos ? 0 : artist.find_last_of(' ') + 1);
    p.style = "gcompris/" + lower(sanitize(artist));
    p.stem = sanitize(title);
    p.origin = "gcompris/" + p.stem;
    p.image = std::make_shared<const cv::Mat>(fit512(img));
    out.push_back(std::move(p));
  }
}

void folder_paintings(const std::string& dir, const std::string& source, std::vector<PaintingSpec>& out) {
  std::vector<std::string> files;
  for (const char* ext : {".jpg", ".jpeg", ".png", ".webp"})
    for (auto& f : files_under(dir, ext)) files.push_back(f);
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    PaintingSpec p;
    p.source = source;
    p.stem = sanitize(fs::path(f).stem().string());
    p.origin = source + "/" + p.stem;
    if (source == "kandinsky") {
      // Style groups: three-year periods of Kandinsky's late work (file names start with the year).
      const int year = std::atoi(p.stem.c_str());
      const int from = year < 1922 ? 1919 : year >= 1940 ? 1940 : 1922 + (year - 1922) / 3 * 3;
      const int to = year < 1922 ? 1921 : year >= 1940 ? 1944 : from + 2;
      p.style = "kandinsky/" + std::to_string(from) + "-" + std::to_string(to);
    } else {
      p.style = source + "/" + p.stem;
    }
    p.image = std::make_shared<const cv::Mat>(fit512(decode_bgr(read_file(f), f)));
    out.push_back(std::move(p));
  }
}

void rcc_audio(const std::string& rcc_path, const std::string& folder, const std::string& source,
               std::vector<MusicSpec>& out) {
  RccArchive rcc(rcc_path);
  for (const auto& name : rcc.list()) {
    if (name.rfind(folder, 0) != 0 || lower(fs::path(name).extension().string()) != ".ogg") continue;
    MusicSpec m;
    m.source = source;
    m.stem = sanitize(fs::path(name).stem().string());
    m.origin = source + "/" + m.stem;
    m.bytes = std::make_shared<const std::vector<uint8_t>>(rcc.read(name));
    out.push_back(std::move(m));
  }
}

void midi_files(const std::string& dir, const std::string& source, std::vector<MusicSpec>& out,
                std::set<std::string>& seen_hashes) {
  for (const auto& f : files_under(dir, ".mid")) {
    MusicSpec m;
    m.midi = true;
    m.source = source;
    m.stem = sanitize(fs::path(f).stem().string());
    m.origin = source + "/" + m.stem;
    m.bytes = load_bytes(f);
    if (!seen_hashes.insert(std::string(m.bytes->begin(), m.bytes->end())).second) continue;  // same file twice
    out.push_back(std::move(m));
  }
}

// A CSV file with a header row; col() finds a column or fails naming the file.
struct CsvTable {
  std::string path;
  std::vector<std::vector<std::string>> rows;  // rows[0] is the header
  size_t col(const std::string& c) const {
    auto it = std::find(rows[0].begin(), rows[0].end(), c);
    if (it == rows[0].end()) fail_input(path, "a column '" + c + "'", "none");
    return size_t(it - rows[0].begin());
  }
};

CsvTable read_csv_table(const std::string& path) {
  const auto raw = read_file(path);
  CsvTable t{path, {}};
  std::string err;
  if (!parse_csv(std::string(raw.begin(), raw.end()), t.rows, err) || t.rows.empty())
    fail_input(path, "CSV with a header", err.empty() ? "an empty file" : err);
  return t;
}

void vgmidi(const std::string& dir, std::vector<MusicSpec>& out) {
  const std::string csv_path = dir + "/vgmidi_labelled.csv";
  if (!fs::exists(csv_path)) return;
  const CsvTable t = read_csv_table(csv_path);
  const auto& rows = t.rows;
  const size_t c_midi = t.col("midi"), c_v = t.col("valence"), c_a = t.col("arousal");
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() <= std::max({c_midi, c_v, c_a})) continue;
    const std::string file = dir + "/phrases/" + fs::path(rows[r][c_midi]).filename().string();
    if (!fs::exists(file)) continue;
    MusicSpec m;
    m.midi = true;
    m.source = "vgmidi";
    m.stem = sanitize(fs::path(file).stem().string());
    m.origin = "vgmidi/" + m.stem;
    m.bytes = load_bytes(file);
    m.human_va = std::make_pair(std::stod(rows[r][c_v]), std::stod(rows[r][c_a]));
    out.push_back(std::move(m));
  }
}

// Emotify (v2): 60 s recordings in genre folders with one annotations.csv row per listener: the GEMS
// categories they chose (0/1). Valence and arousal come from the listeners' shares (gems_valence_arousal).
void emotify(const std::string& dir, std::vector<MusicSpec>& out) {
  const std::string csv_path = dir + "/annotations.csv";
  if (!fs::exists(csv_path)) return;
  const CsvTable t = read_csv_table(csv_path);
  const auto& rows = t.rows;
  const auto& h = rows[0];
  const auto& gems = gems_categories();
  const size_t c_file = t.col("file"), c_genre = t.col("genre");
  std::vector<size_t> c_emo;
  for (const auto& g : gems) c_emo.push_back(t.col(g.name));
  struct Track {
    std::string genre;
    std::vector<double> counts;
    int listeners = 0;
  };
  std::map<std::string, Track> tracks;  // by file, sorted: a stable order
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (row.size() == 1 && row[0].empty()) continue;
    if (row.size() < h.size())
      fail_input(csv_path + ":" + std::to_string(r + 1), std::to_string(h.size()) + " fields",
                 std::to_string(row.size()));
    Track& t = tracks[row[c_file]];
    t.genre = lower(sanitize(row[c_genre]));
    t.counts.resize(gems.size(), 0.0);
    for (size_t k = 0; k < gems.size(); ++k) {
      const std::string& v = row[c_emo[k]];
      if (v != "0" && v != "1")
        fail_input(csv_path + ":" + std::to_string(r + 1), std::string("0 or 1 in column ") + gems[k].name,
                   "'" + v + "'");
      t.counts[k] += v == "1";
    }
    t.listeners++;
  }
  for (const auto& [file, t] : tracks) {
    const std::string path = dir + "/" + file;
    if (!fs::exists(path)) continue;
    MusicSpec m;
    m.source = "emotify-" + t.genre;
    m.stem = sanitize(fs::path(file).stem().string());
    m.origin = "emotify/" + m.stem;
    m.bytes = load_bytes(path);
    for (double c : t.counts) m.gems_shares.push_back(c / t.listeners);
    m.listeners = t.listeners;
    m.human_va = gems_valence_arousal(m.gems_shares);
    m.va_from = "listeners";
    out.push_back(std::move(m));
  }
}

// Interleaves items by source (round robin) so that any prefix mixes all sources.
template <class T>
std::vector<T> interleave(std::vector<T> items) {
  std::map<std::string, std::vector<T>> by;
  std::vector<std::string> order;
  for (auto& it : items) {
    if (!by.count(it.source)) order.push_back(it.source);
    by[it.source].push_back(std::move(it));
  }
  std::vector<T> out;
  for (size_t i = 0; out.size() < items.size(); ++i)
    for (const auto& s : order)
      if (i < by[s].size()) out.push_back(by[s][i]);
  return out;
}

// ---- variations ---------------------------------------------------------------------------------------

MidiVariation draw_midi_variation(std::mt19937_64& rng) {
  static const int transposes[] = {-12, -7, -5, -3, 2, 4, 7, 12};
  static const double tempos[] = {0.7, 0.8, 1.25, 1.45};
  // GM programs: piano, vibraphone, church organ, nylon guitar, violin, strings, trumpet, oboe, flute,
  // square lead, warm pad, banjo.
  static const int programs[] = {0, 11, 19, 24, 40, 48, 56, 68, 73, 80, 89, 105};
  std::uniform_real_distribution<double> u(0, 1);
  MidiVariation v;
  while (v.name() == "orig") {
    if (u(rng) < 0.5) v.transpose = transposes[rng() % 8];
    if (u(rng) < 0.5) v.tempo = tempos[rng() % 4];
    if (u(rng) < 0.4) v.flip_mode = true;
    if (u(rng) < 0.6) v.program = programs[rng() % 12];
  }
  return v;
}

std::vector<std::pair<std::string, double>> draw_painting_ops(std::mt19937_64& rng) {
  static const char* ops[] = {"light", "dark",     "vivid", "muted", "warm", "cool",
                              "red",   "contrast", "flat",  "soft",  "hue"};
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::pair<std::string, double>> out;
  const int n = u(rng) < 0.5 ? 1 : 2;
  std::set<std::string> used;
  while (int(out.size()) < n) {
    std::string op = ops[rng() % 11];
    // Opposites never combine.
    auto clash = [&](const char* a, const char* b) { return (op == a && used.count(b)) || (op == b && used.count(a)); };
    if (used.count(op) || clash("light", "dark") || clash("vivid", "muted") || clash("warm", "cool") ||
        clash("contrast", "flat"))
      continue;
    used.insert(op);
    out.push_back({op, u(rng)});
  }
  return out;
}

std::string ops_name(const std::vector<std::pair<std::string, double>>& ops) {
  std::string s;
  for (const auto& [op, k] : ops) s += (s.empty() ? "" : "+") + op + std::to_string(int(k * 100));
  return s;
}

// Colour and tone in CIELAB; k in [0, 1) sets the strength within each operation's range.
cv::Mat apply_ops(const cv::Mat& bgr, const std::vector<std::pair<std::string, double>>& ops) {
  cv::Mat f, lab;
  bgr.convertTo(f, CV_32FC3, 1.0 / 255);
  cv::cvtColor(f, lab, cv::COLOR_BGR2Lab);
  for (const auto& entry : ops) {
    // Named copies, not a structured binding: C++17 does not let the lambda below capture bindings
    // (GCC allows it, clang refuses).
    const std::string& op = entry.first;
    const double k = entry.second;
    if (op == "soft") {
      cv::GaussianBlur(lab, lab, cv::Size(0, 0), 1.5 + 1.5 * k);
      continue;
    }
    const double mean_l = cv::mean(lab)[0];
    const double ang = (60 + 120 * k) * M_PI / 180, ca = std::cos(ang), sa = std::sin(ang);
    lab.forEach<cv::Vec3f>([&](cv::Vec3f& p, const int*) {
      float& L = p[0];
      float& A = p[1];
      float& B = p[2];
      if (op == "light") L += float((100 - L) * (0.2 + 0.25 * k));
      if (op == "dark") L *= float(1 - (0.25 + 0.25 * k));
      if (op == "vivid") A *= float(1.4 + 0.5 * k), B *= float(1.4 + 0.5 * k);
      if (op == "muted") A *= float(0.5 - 0.3 * k), B *= float(0.5 - 0.3 * k);
      if (op == "warm") B += float(10 + 12 * k), A += float(3 + 4 * k);
      if (op == "cool") B -= float(10 + 15 * k);
      if (op == "red") A += float(10 + 12 * k);
      if (op == "contrast") L = float(mean_l + (L - mean_l) * (1.3 + 0.4 * k));
      if (op == "flat") L = float(mean_l + (L - mean_l) * (0.65 - 0.25 * k));
      if (op == "hue") {
        const float a2 = float(A * ca - B * sa), b2 = float(A * sa + B * ca);
        A = a2, B = b2;
      }
      L = std::clamp(L, 0.0f, 100.0f);
    });
  }
  cv::Mat back, out;
  cv::cvtColor(lab, back, cv::COLOR_Lab2BGR);
  back.convertTo(out, CV_8UC3, 255.0);
  return out;
}

// ---- rendering ----------------------------------------------------------------------------------------

void run_quiet(const std::vector<std::string>& argv, const std::string& what) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    fail_usage(what + ": cannot run '" + argv[0] + "' (" + std::strerror(rc) + ")",
               "install it with scripts/setup.sh (Debian package fluidsynth)");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_input(what, "a MIDI file fluidsynth can render", "fluidsynth failing (status " + std::to_string(status) + ")");
}

// Leading silence off; at most `seconds`, taken from the start (renders) or the middle (recordings);
// short fades so cuts do not click.
Pcm shape_clip(Pcm pcm, double seconds, bool from_middle) {
  size_t start = 0;
  while (start < pcm.samples.size() && std::fabs(pcm.samples[start]) < 1e-3f) ++start;
  pcm.samples.erase(pcm.samples.begin(), pcm.samples.begin() + long(start));
  const size_t want = size_t(seconds * pcm.sample_rate);
  if (pcm.samples.size() > want) {
    const size_t off = from_middle ? (pcm.samples.size() - want) / 2 : 0;
    pcm.samples = std::vector<float>(pcm.samples.begin() + long(off), pcm.samples.begin() + long(off + want));
  }
  const size_t fade = std::min(pcm.samples.size() / 4, size_t(0.05 * pcm.sample_rate));
  for (size_t i = 0; i < fade; ++i) {
    const float g = float(i) / float(fade);
    pcm.samples[i] *= from_middle ? g : 1.0f;
    pcm.samples[pcm.samples.size() - 1 - i] *= g;
  }
  return pcm;
}

const char* kSourcesMd = R"(# MPD-Open media: where each medium comes from

| source (music_source / painting_source) | what | origin | licence |
|---|---|---|---|
| gcompris (paintings) | 22 public-domain paintings (Hokusai, Hiroshige, Renoir, Bruegel, Kandinsky, ...), reassembled from the jigsaw pieces and board files of the "paintings" activity | Debian package gcompris-qt-data 3.1-2, /usr/share/gcompris-qt/rcc/paintings.rcc | package GPL-3+; the artworks are in the public domain |
| gcompris-world (music) | world-music recordings of the "explore world music" activity | gcompris-qt-data, explore_world_music.rcc | GPL-3+ / per-file credits in the activity README (CC-BY, CC-BY-SA, public domain) |
| gcompris-instruments (music) | solo instrument recordings of the "instruments" activity | gcompris-qt-data, instruments.rcc | GPL-3+ / per-file credits in the activity README |
| pianobooster (music) | beginner and booster course MIDI pieces, rendered by fluidsynth | Debian package pianobooster, /usr/share/doc/pianobooster/courses | GPL-3+ |
| sfront (music) | example MIDI files, rendered by fluidsynth | Debian package sfront, /usr/share/doc/sfront/examples | sfront licence (BSD-style) |
| vgmidi (music, only when ../shared/data is present) | video-game piano phrases with human valence/arousal labels (+-1), rendered by fluidsynth | lucasnfe/vgmidi (GitHub) | research use; no licence file in the source |
| librosa (music, only with ../shared/data) | 8 recordings | librosa/data (GitHub) | per file: public domain, CC-BY, CC-BY-NC |
| kandinsky (paintings, only with ../shared/data) | Kandinsky works 1919-1944 | alwinklick/GANdinsky (images from Wikimedia Commons) | public domain in the EU (Kandinsky d. 1944) |
| classics (paintings, only with ../shared/data) | Composition VII, Starry Night, The Scream, Great Wave, Mondrian, Leger, Matisse | jcjohnson/fast-neural-style, naoto0804/pytorch-AdaIN | research use |

MIDI renders use the TimGM6mb General MIDI soundfont (Debian timgm6mb-soundfont, GPL-2). Variations of a
medium (media.csv `variant`) are derived works of it under the same terms.

The coherence labels (ratings.csv, preferences.csv) come from a SIMULATED reference panel whose judgments
follow published music-visual correspondences (docs/panel.md in mpjudge). They are a stand-in for experts,
not human judgments.
)";

const char* kSourcesMdV2 = R"(
## Added in MPD-Open v2

| source | what | origin | licence |
|---|---|---|---|
| emotify-classical, emotify-rock, emotify-electronic, emotify-pop (music, only with ../shared/data) | 60 s excerpts of Magnatune recordings (the clip is the middle 30 s) with the GEMS emotions their listeners chose; listeners.csv gives each clip's listener count and the share choosing each category | A. Aljanaki, F. Wiering, R. C. Veltkamp, "Studying emotion induced by music through a crowdsourcing game", Information Processing & Management 52(1), 2016 | research use; the recordings come from the Magnatune catalogue (non-commercial) |

Emotify clips' valence and arousal (media.csv va_from = listeners) are the listener-share-weighted means
of the GEMS categories' valence-arousal coordinates (docs/panel.md in mpjudge): human judgments of the
music, unlike the coherence labels.
)";

std::string fixed4(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return buf;
}
double round4(double x) { return std::round(x * 1e4) / 1e4; }

}  // namespace

std::string corpus_version_name(int version) {
  if (version < 1 || version > kCorpusLatest)
    fail_usage("corpus: version " + std::to_string(version) + " is unknown; expected 1 or 2");
  return "mpd-open-" + std::to_string(version);
}

CorpusBuildResult build_corpus(const CorpusBuildOptions& opt_in) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string version_name = corpus_version_name(opt_in.version);
  CorpusBuildOptions opt = opt_in;
  const bool v2 = opt.version >= 2;
  if (opt.clip_seconds == 0) opt.clip_seconds = v2 ? 30 : 20;
  if (opt.out.empty()) fail_usage("corpus build: --out is required");
  if (opt.clips < 4 || opt.paintings < 4) fail_usage("corpus build: expected at least 4 clips and 4 paintings");
  if (!(opt.clip_seconds >= 2)) fail_usage("corpus build: expected --clip-seconds >= 2");
  if (opt.pairs == 0 || opt.pairs > opt.clips * opt.paintings / 2)
    fail_usage("corpus build: " + std::to_string(opt.pairs) + " pairs requested from " + std::to_string(opt.clips) +
               " clips x " + std::to_string(opt.paintings) + " paintings; expected at most half of the combinations");
  std::error_code ec;
  if (fs::exists(opt.out, ec) && !opt.force && !fs::is_empty(opt.out, ec))
    fail_usage("corpus build: " + opt.out + " exists and is not empty", "pass --force to replace it");
  if (!fs::exists(opt.soundfont))
    fail_usage("corpus build: soundfont " + opt.soundfont + " not found", "run scripts/setup.sh (timgm6mb-soundfont)");

  // 1. Sources.
  std::vector<MusicSpec> music;
  std::vector<PaintingSpec> paintings;
  const std::string rcc_dir = opt.debian_root + "/usr/share/gcompris-qt/rcc/";
  std::set<std::string> midi_hashes;
  if (!opt.shared_data.empty()) vgmidi(opt.shared_data + "/music/vgmidi", music);
  if (!opt.shared_data.empty() && v2) emotify(opt.shared_data + "/music/emotify", music);
  midi_files(opt.debian_root + "/usr/share/doc/pianobooster", "pianobooster", music, midi_hashes);
  midi_files(opt.debian_root + "/usr/share/doc/sfront", "sfront", music, midi_hashes);
  if (fs::exists(rcc_dir + "explore_world_music.rcc"))
    rcc_audio(rcc_dir + "explore_world_music.rcc", "/gcompris/src/activities/explore_world_music/resource/music/",
              "gcompris-world", music);
  if (fs::exists(rcc_dir + "instruments.rcc"))
    rcc_audio(rcc_dir + "instruments.rcc", "/gcompris/src/activities/instruments/resource/", "gcompris-instruments",
              music);
  if (!opt.shared_data.empty())
    for (const auto& f : files_under(opt.shared_data + "/music/librosa", ".ogg")) {
      MusicSpec m;
      m.source = "librosa";
      m.stem = sanitize(fs::path(f).stem().string());
      m.origin = "librosa/" + m.stem;
      m.bytes = load_bytes(f);
      music.push_back(std::move(m));
    }
  if (fs::exists(rcc_dir + "paintings.rcc")) gcompris_paintings(rcc_dir + "paintings.rcc", paintings);
  if (!opt.shared_data.empty()) {
    folder_paintings(opt.shared_data + "/paintings/kandinsky512", "kandinsky", paintings);
    folder_paintings(opt.shared_data + "/paintings/classics", "classics", paintings);
  }
  const size_t midi_originals =
      size_t(std::count_if(music.begin(), music.end(), [](const MusicSpec& m) { return m.midi; }));
  if (music.empty() || paintings.empty() || (midi_originals == 0 && music.size() < opt.clips))
    fail_input(opt.debian_root + "/usr/share", "the Debian media packages (gcompris-qt-data, pianobooster, sfront)",
               std::to_string(music.size()) + " music sources and " + std::to_string(paintings.size()) + " paintings",
               "run scripts/setup.sh, which unpacks them into deps/media");

  // v2 keeps a few real paintings out of the corpus for the direction check (bench/direction.sh): they
  // are written to direction_check/ and used by no pair.
  std::vector<PaintingSpec> reserved;
  if (v2) {
    static const std::set<std::string> kReserved = {"gcompris/Mary_Cassatt_Summertime_-_1894",
                                                    "gcompris/Bazille_The_Ramparts_at_Aigues-Mortes_-_1867",
                                                    "gcompris/Vincent_Van_Gogh_Village_Street_in_Auvers_-_1890",
                                                    "gcompris/Pieter_Brugel_The_Harvesters_-_1565",
                                                    "gcompris/Giuseppe_Arcimboldo_Spring_-_1573",
                                                    "classics/woman_with_hat_matisse",
                                                    "classics/contrast_of_forms"};
    std::vector<PaintingSpec> kept;
    for (auto& p : paintings) (kReserved.count(p.origin) ? reserved : kept).push_back(std::move(p));
    paintings = std::move(kept);
  }

  // 2. Plan: originals interleaved by source, then variations round robin over the originals.
  if (v2) {
    // Recordings and renders alternate, each interleaved by source, so any prefix is about half real
    // recordings (v1 interleaved all sources alike, and its renders outnumbered recordings 13 to 1).
    std::vector<MusicSpec> rec, ren;
    for (auto& m : music) (m.midi ? ren : rec).push_back(std::move(m));
    rec = interleave(std::move(rec)), ren = interleave(std::move(ren));
    music.clear();
    for (size_t i = 0; i < std::max(rec.size(), ren.size()); ++i) {
      if (i < rec.size()) music.push_back(std::move(rec[i]));
      if (i < ren.size()) music.push_back(std::move(ren[i]));
    }
  } else {
    music = interleave(std::move(music));
  }
  paintings = interleave(std::move(paintings));
  std::vector<MusicSpec> mplan;
  for (const auto& m : music)
    if (mplan.size() < opt.clips) mplan.push_back(m);
  std::vector<const MusicSpec*> midi_src;
  for (const auto& m : music)
    if (m.midi) midi_src.push_back(&m);
  std::set<std::string> used_names;
  for (size_t round = 0; mplan.size() < opt.clips && !midi_src.empty(); ++round) {
    for (const MusicSpec* src : midi_src) {
      if (mplan.size() >= opt.clips) break;
      std::mt19937_64 rng(mix(opt.seed, src->origin + "#" + std::to_string(round)));
      MusicSpec v = *src;
      for (int tries = 0; tries < 50; ++tries) {
        v.var = draw_midi_variation(rng);
        if (used_names.insert(v.origin + "/" + v.var.name()).second) break;
      }
      v.variant = v.var.name();
      mplan.push_back(std::move(v));
    }
    if (round > 400) break;
  }
  std::vector<PaintingSpec> pplan;
  for (const auto& p : paintings)
    if (pplan.size() < opt.paintings) pplan.push_back(p);
  for (size_t round = 0; pplan.size() < opt.paintings; ++round)
    for (const auto& src : paintings) {
      if (pplan.size() >= opt.paintings) break;
      std::mt19937_64 rng(mix(opt.seed, src.origin + "#" + std::to_string(round)));
      PaintingSpec v = src;
      v.ops = draw_painting_ops(rng);
      v.variant = ops_name(v.ops) + "_" + std::to_string(round);
      pplan.push_back(std::move(v));
    }

  // 3. Make and describe the media in a staging folder.
  const std::string stage = opt.out + ".partial." + std::to_string(getpid());
  fs::remove_all(stage, ec);
  fs::create_directories(stage + "/media/music", ec);
  fs::create_directories(stage + "/media/paintings", ec);
  fs::create_directories(stage + "/tmp", ec);
  if (ec) fail_usage("corpus build: cannot create " + stage + " (" + ec.message() + ")");
  struct Cleanup {
    std::string dir;
    bool armed = true;
    ~Cleanup() {
      std::error_code e;
      if (armed) fs::remove_all(dir, e);
    }
  } cleanup{stage};

  CorpusBuildResult result;
  std::vector<std::optional<MusicDescriptors>> mdesc(mplan.size());
  std::vector<std::string> mpath(mplan.size()), mskip(mplan.size());
  std::vector<PaintingDescriptors> pdesc(pplan.size());
  std::vector<std::string> ppath(pplan.size());
  {
    Progress bar("corpus: media", mplan.size() + pplan.size(), opt.quiet);
    parallel_for(mplan.size() + pplan.size(), opt.threads, [&](size_t job, int) {
      if (job < mplan.size()) {
        const MusicSpec& m = mplan[job];
        const std::string rel =
            "media/music/" + m.source + "/" + m.stem + (m.variant == "orig" ? "" : "__" + m.variant) + ".ogg";
        fs::create_directories(fs::path(stage + "/" + rel).parent_path());
        Pcm pcm;
        AudioConfig ac;
        ac.threads = 1;
        try {
          if (m.midi) {
            MidiFile midi(*m.bytes, m.origin);
            const std::string tmp_mid = stage + "/tmp/" + std::to_string(job) + ".mid",
                              tmp_wav = stage + "/tmp/" + std::to_string(job) + ".wav";
            const auto bytes = midi.write(m.var);
            write_file_atomic(tmp_mid, bytes.data(), bytes.size());
            run_quiet({opt.fluidsynth, "-ni", "-q", "-g", "0.5", "-r", "22050", "-F", tmp_wav, "-T", "wav",
                       opt.soundfont, tmp_mid},
                      m.origin + " (" + m.variant + ")");
            pcm = load_audio(tmp_wav, ac);
            fs::remove(tmp_mid, ec), fs::remove(tmp_wav, ec);
          } else {
            pcm = decode_audio(*m.bytes, m.origin, ac);
          }
          pcm = shape_clip(std::move(pcm), opt.clip_seconds, !m.midi);
          float peak = 0;
          for (float x : pcm.samples) peak = std::max(peak, std::fabs(x));
          if (pcm.duration_s() < 2.0 || peak < 1e-3f) {
            mskip[job] = m.origin + " (" + m.variant + "): under 2 s of sound";
          } else {
            write_audio(stage + "/" + rel, pcm, AudioFormat::OggVorbis, 0.4);
            // From the file as users will read it; descriptors version 1, which the panel's labels were made from.
            mdesc[job] = describe_music(stage + "/" + rel, ac, DescriptorVersion::V1);
            mpath[job] = rel;
          }
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::Input) throw;
          mskip[job] = m.origin + " (" + m.variant + "): " + e.what();
        }
      } else {
        const size_t i = job - mplan.size();
        const PaintingSpec& p = pplan[i];
        const std::string rel =
            "media/paintings/" + p.source + "/" + p.stem + (p.variant == "orig" ? "" : "__" + p.variant) + ".jpg";
        fs::create_directories(fs::path(stage + "/" + rel).parent_path());
        const cv::Mat img = p.ops.empty() ? *p.image : apply_ops(*p.image, p.ops);
        std::vector<uint8_t> jpg;
        cv::imencode(".jpg", img, jpg, {cv::IMWRITE_JPEG_QUALITY, 92});
        write_file_atomic(stage + "/" + rel, jpg.data(), jpg.size());
        pdesc[i] = describe_painting(stage + "/" + rel);
        ppath[i] = rel;
      }
      bar.tick();
    });
  }
  fs::remove_all(stage + "/tmp", ec);
  std::vector<std::string> reserved_paths;
  for (const auto& p : reserved) {
    const std::string rel = "direction_check/" + p.source + "__" + p.stem + ".jpg";
    fs::create_directories(stage + "/direction_check", ec);
    std::vector<uint8_t> jpg;
    cv::imencode(".jpg", *p.image, jpg, {cv::IMWRITE_JPEG_QUALITY, 92});
    write_file_atomic(stage + "/" + rel, jpg.data(), jpg.size());
    reserved_paths.push_back(rel);
  }

  // 4. Panel inputs. Variations of a human-labelled phrase keep the label, moved by the change in the
  //    documented estimate (so a minor, slower re-rendering of a happy phrase reads less happy).
  std::map<std::string, std::pair<double, double>> orig_estimate;
  for (size_t i = 0; i < mplan.size(); ++i)
    if (mdesc[i] && mplan[i].variant == "orig") {
      PanelMusic e = panel_music(*mdesc[i]);
      orig_estimate[mplan[i].origin] = {e.valence, e.arousal};
    }
  std::vector<CorpusMusic> cm;
  std::vector<CorpusPainting> cp;
  MpdDataset media_table;
  std::vector<std::pair<std::string, const MusicSpec*>> listener_rows;  // Emotify clips: listeners.csv
  for (size_t i = 0; i < mplan.size(); ++i) {
    if (!mdesc[i]) {
      result.skipped.push_back(mskip[i]);
      continue;
    }
    const MusicSpec& m = mplan[i];
    std::optional<std::pair<double, double>> va;
    std::string va_from = "estimate";
    if (m.human_va) {
      va = m.human_va;
      va_from = m.va_from;
      auto it = orig_estimate.find(m.origin);
      if (m.variant != "orig" && it != orig_estimate.end()) {
        PanelMusic e = panel_music(*mdesc[i]);
        va = std::make_pair(std::clamp(m.human_va->first + e.valence - it->second.first, -1.0, 1.0),
                            std::clamp(m.human_va->second + e.arousal - it->second.second, -1.0, 1.0));
        va_from = "human+variation";
      }
    }
    CorpusMusic c{mpath[i], m.source, panel_music(*mdesc[i], va), !m.midi};
    cm.push_back(c);
    media_table.media.push_back({mpath[i], "music", m.source, m.origin, m.variant, c.m.valence, c.m.arousal, va_from, 0,
                                 v2 ? (m.midi ? "rendered" : "recorded") : ""});
    result.music_by_source[m.source]++;
    if (!m.gems_shares.empty()) listener_rows.push_back({mpath[i], &m});
  }
  for (size_t i = 0; i < pplan.size(); ++i) {
    const PaintingSpec& p = pplan[i];
    CorpusPainting c{ppath[i], p.style, panel_painting(pdesc[i])};
    cp.push_back(c);
    media_table.media.push_back(
        {ppath[i], "painting", p.source, p.origin, p.variant, c.p.valence, c.p.arousal, "estimate", 0, ""});
    result.paintings_by_source[p.source]++;
  }

  // 5. Splits first (media grouped by origin, held-out painting styles), then labels drawn within each
  //    split so that every pair is usable; then the files.
  SplitOptions so;
  so.seed = opt.seed;
  if (v2) {
    // Held-out music sources, unless holding them out would leave train without any recording (a build
    // from the Debian media alone, whose only recordings are the default held-out ones).
    std::set<std::string> recorded_sources;
    for (const auto& m : media_table.media)
      if (m.music_kind == "recorded") recorded_sources.insert(m.source);
    for (const auto& src : opt.test_music_sources)
      if (result.music_by_source.count(src)) so.test_music_sources.push_back(src);
    size_t held_recorded = 0;
    for (const auto& src : so.test_music_sources) held_recorded += recorded_sources.count(src);
    if (!recorded_sources.empty() && held_recorded == recorded_sources.size()) so.test_music_sources.clear();
    // Each Emotify genre is its own stratum (so train, val and test hold all four); v1's sources share
    // one, so their clips keep the order v1 split them in.
    for (const auto& [src, n] : result.music_by_source)
      if (src.rfind("emotify-", 0) == 0) so.music_strata.insert(src);
  }
  MpdDataset cover;  // one pseudo-pair per medium, so media_splits sees every clip, painting and style
  cover.media = media_table.media;
  for (size_t k = 0; k < std::max(cm.size(), cp.size()); ++k) {
    MpdPair p;
    p.id = std::to_string(k);
    p.music = cm[k % cm.size()].path, p.painting = cp[k % cp.size()].path;
    p.music_source = cm[k % cm.size()].source, p.painting_source = cp[k % cp.size()].source;
    cover.pairs.push_back(p);
  }
  const MediaSplits ms = media_splits(cover, so);
  CorpusOptions co;
  co.seed = opt.seed, co.pairs = opt.pairs, co.preferences = opt.preferences, co.ambiguous_gap = opt.ambiguous_gap;
  co.panel.seed = opt.seed;
  if (v2) {
    co.comparisons = true;
    co.balance_music_kind = true;
    co.panel.comparison_noise_ratio = opt.comparison_noise_ratio;
    co.split_share["test_music"] = 0.1;
  }
  for (const auto& c : cm) co.music_split.push_back(ms.music.at(c.path));
  for (const auto& c : cp) co.painting_split.push_back(ms.painting.at(c.path));
  MpdDataset d = rate_corpus(cm, cp, co, v2 ? &result.preference_check : nullptr);
  d.media = std::move(media_table.media);
  write_mpd(d, stage);
  write_split(stage, d.split, so,
              "media split first (grouped by origin, held-out painting styles), then pairs and preferences drawn "
              "within each split");
  write_file_atomic(stage + "/SOURCES.md", v2 ? std::string(kSourcesMd) + kSourcesMdV2 : std::string(kSourcesMd));
  if (!listener_rows.empty()) {
    std::string csv = "path,listeners";
    for (const auto& g : gems_categories()) csv += std::string(",") + g.name;
    csv += "\n";
    for (const auto& [path, m] : listener_rows) {
      csv += csv_field(path) + "," + std::to_string(m->listeners);
      for (double x : m->gems_shares) csv += "," + fixed4(x);
      csv += "\n";
    }
    write_file_atomic(stage + "/listeners.csv", csv);
  }
  Json info{{"corpus", version_name},
            {"seed", opt.seed},
            {"clips", opt.clips},
            {"paintings", opt.paintings},
            {"pairs", opt.pairs},
            {"preferences", opt.preferences},
            {"ambiguous_gap", opt.ambiguous_gap},
            {"clip_seconds", opt.clip_seconds},
            {"shared_data", !opt.shared_data.empty()},
            {"music_by_source", result.music_by_source},
            {"paintings_by_source", result.paintings_by_source},
            {"skipped", result.skipped},
            {"panel", {{"raters", co.panel.raters}, {"seed", co.panel.seed}}},
            {"mpjudge", version()}};
  if (v2) info["direction_check_paintings"] = reserved_paths;
  if (v2) {
    // Recorded share of the clips and of the scored pairs, the held-out music and the preference check.
    std::map<std::string, std::string> kind;
    for (const auto& m : d.media) kind[m.path] = m.music_kind;
    size_t rec_pairs = 0, rec_clips = 0;
    for (const auto& p : d.pairs) rec_pairs += kind[p.music] == "recorded";
    for (const auto& m : d.media) rec_clips += m.music_kind == "recorded";
    info["version"] = opt.version;
    info["recorded_share"] = {{"clips", round4(double(rec_clips) / double(cm.size()))},
                              {"pairs", round4(double(rec_pairs) / double(d.pairs.size()))}};
    info["test_music_sources"] = so.test_music_sources;
    info["panel"]["comparison_noise_ratio"] = opt.comparison_noise_ratio;
    info["preferences_from"] = "paired comparison by each rater, panel majority";
    const auto& pc = result.preference_check;
    info["preference_check"] = {{"pairs", pc.pairs},
                                {"preference_agrees_with_latent", round4(pc.preference_agrees)},
                                {"mean_score_agrees_with_latent", round4(pc.mean_score_agrees)}};
    info["music_window"] = "recordings: the middle clip_seconds after leading silence (Emotify: 15-45 s of 60 s)";
  }
  result.version = opt.version;
  write_file_atomic(stage + "/corpus.json", info.dump(2) + "\n");

  // 6. Into place.
  const std::string old = opt.out + ".old." + std::to_string(getpid());
  if (fs::exists(opt.out, ec)) fs::rename(opt.out, old, ec);
  if (ec) fail_usage("corpus build: cannot move the existing " + opt.out + " aside (" + ec.message() + ")");
  fs::rename(stage, opt.out, ec);
  if (ec) {
    std::error_code e2;
    if (fs::exists(old, e2)) fs::rename(old, opt.out, e2);
    fail_usage("corpus build: cannot move the finished corpus to " + opt.out + " (" + ec.message() + ")");
  }
  cleanup.armed = false;
  fs::remove_all(old, ec);
  d.root = opt.out;
  result.dataset = std::move(d);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

void resolve_media_roots(CorpusBuildOptions& opt, const std::string& debian_flag, const std::string& shared_flag,
                         const std::string& project_root) {
  opt.debian_root = debian_flag;
  if (debian_flag == "auto")
    opt.debian_root = is_dir(project_root + "/deps/media/usr") ? project_root + "/deps/media" : "/";
  opt.shared_data.clear();
  if (shared_flag == "auto") {
    const char* env = std::getenv("MPJUDGE_SHARED_DATA");
    for (const std::string& c :
         {env ? std::string(env) : std::string(), project_root + "/../shared/data", std::string("../shared/data")})
      if (!c.empty() && is_dir(c)) {
        opt.shared_data = c;
        break;
      }
  } else if (shared_flag != "none") {
    if (!is_dir(shared_flag)) fail_usage("--shared-data " + shared_flag + ": expected a folder, found none");
    opt.shared_data = shared_flag;
  }
}

}  // namespace mpjudge
