// Real-recording direction check (Palmer et al. 2013's design, on real recordings and real paintings):
// does the judge want lighter, more saturated, yellower paintings for happy music and darker, less
// saturated, bluer ones for sad music, as people do?
//
//   bench_direction --data CORPUS [--cache-dir DIR] [--json FILE] MODEL...
//
// Music: the Emotify excerpts of the corpus's val and test pairs, each with its listeners' joy minus
// sadness (listeners.csv: the shares who chose joyful activation and sadness). Per genre, the 5 with the
// most and the 5 with the least. Paintings: the real paintings MPD-Open v2 keeps out of every pair
// (CORPUS/direction_check/), each in a lighter / more saturated / yellower version (CIELAB L* +12, chroma
// x1.3, b* +12) and a darker / less saturated / bluer one (L* -12, chroma x0.7, b* -12).
// Figures per model: the share of (painting, happy excerpt, sad excerpt) triples, within a genre, where the
// happy excerpt favours the lighter version more than the sad one does (score(lighter) - score(darker)),
// and the Spearman correlation over all val and test excerpts between the judge's mean lighter-minus-darker
// preference and the listeners' joy minus sadness.
#include <mpjudge/mpjudge.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "data/csv.h"
#include "data/mpd.h"
#include "image/colour_shift.h"

using namespace mpjudge;
namespace fs = std::filesystem;

namespace {

struct Excerpt {
  std::string path, genre;
  double joy_minus_sad = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string data, cache, json_out;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--data" || a == "--cache-dir" || a == "--json") && i + 1 < argc) {
      (a == "--data" ? data : a == "--cache-dir" ? cache : json_out) = argv[++i];
    } else {
      models.push_back(a);
    }
  }
  if (data.empty() || models.empty()) {
    std::fprintf(stderr, "usage: bench_direction --data CORPUS [--cache-dir DIR] [--json FILE] MODEL...\n");
    return 2;
  }
  try {
    const MpdDataset d = read_mpd_checked(data);
    std::set<std::string> heldout;  // music of val and test pairs
    for (const auto& p : d.pairs) {
      auto it = d.split.find(p.id);
      if (it != d.split.end() && (it->second == "val" || it->second == "test")) heldout.insert(p.music);
    }
    std::vector<std::vector<std::string>> rows;
    std::string err;
    std::ifstream lf(data + "/listeners.csv");
    std::stringstream ss;
    ss << lf.rdbuf();
    if (!parse_csv(ss.str(), rows, err) || rows.empty())
      throw Error(ErrorKind::Input,
                  data + "/listeners.csv: expected the listeners' table, found " + (err.empty() ? "none" : err));
    auto col = [&](const std::string& c) {
      auto it = std::find(rows[0].begin(), rows[0].end(), c);
      if (it == rows[0].end()) throw Error(ErrorKind::Input, data + "/listeners.csv: no column " + c);
      return size_t(it - rows[0].begin());
    };
    const size_t cp = col("path"), cj = col("joyful_activation"), cs = col("sadness");
    std::map<std::string, std::string> source;
    for (const auto& m : d.media) source[m.path] = m.source;
    std::vector<Excerpt> all;
    for (size_t r = 1; r < rows.size(); ++r) {
      const std::string& path = rows[r][cp];
      if (!heldout.count(path)) continue;
      all.push_back({path, source[path], std::stod(rows[r][cj]) - std::stod(rows[r][cs])});
    }
    std::map<std::string, std::vector<Excerpt>> by_genre;
    for (const auto& e : all) by_genre[e.genre].push_back(e);
    std::vector<std::string> painting_files;
    for (const auto& f : fs::directory_iterator(data + "/direction_check"))
      if (f.path().extension() == ".jpg") painting_files.push_back(f.path().string());
    std::sort(painting_files.begin(), painting_files.end());
    if (painting_files.empty())
      throw Error(ErrorKind::Input, data + "/direction_check: no paintings (a v2 corpus has them)");
    const fs::path tmp = fs::temp_directory_path() / ("mpjudge-direction-" + std::to_string(getpid()));
    fs::create_directories(tmp);
    std::vector<std::pair<std::string, std::string>> versions;  // lighter, darker
    for (const auto& f : painting_files) {
      const std::string stem = fs::path(f).stem().string();
      const std::string light = (tmp / (stem + "__lighter.png")).string(),
                        dark = (tmp / (stem + "__darker.png")).string();
      const RgbImage img = load_image(f);
      write_lab_shifted_png(img, {12, 1.3, 12}, light);
      write_lab_shifted_png(img, {-12, 0.7, -12}, dark);
      versions.push_back({light, dark});
    }
    std::printf("%zu val/test Emotify excerpts (%zu genres), %zu real paintings not in the corpus\n\n", all.size(),
                by_genre.size(), painting_files.size());
    std::printf(
        "| model | triples | share happy favours lighter more | Spearman(mean lighter-darker, joy-sadness) |\n");
    std::printf("|---|---|---|---|\n");
    std::string json = "[";
    for (const auto& model : models) {
      FeatureOptions fo;
      fo.cache_dir = cache;
      Scorer scorer(model, fo);
      std::map<std::string, std::vector<double>> pref;  // excerpt -> per painting lighter - darker
      for (const auto& e : all)
        for (const auto& [light, dark] : versions)
          pref[e.path].push_back(scorer.score(e.path[0] == '/' ? e.path : data + "/" + e.path, light).score -
                                 scorer.score(e.path[0] == '/' ? e.path : data + "/" + e.path, dark).score);
      size_t triples = 0, favoured = 0;
      for (auto& [genre, ex] : by_genre) {
        std::sort(ex.begin(), ex.end(),
                  [](const Excerpt& a, const Excerpt& b) { return a.joy_minus_sad > b.joy_minus_sad; });
        const size_t k = std::min<size_t>(5, ex.size() / 2);
        for (size_t p = 0; p < versions.size(); ++p)
          for (size_t h = 0; h < k; ++h)
            for (size_t s = ex.size() - k; s < ex.size(); ++s) {
              ++triples;
              favoured += pref[ex[h].path][p] > pref[ex[s].path][p];
            }
      }
      std::vector<double> mean_pref, js;
      for (const auto& e : all) {
        const auto& v = pref[e.path];
        double m = 0;
        for (double x : v) m += x / double(v.size());
        mean_pref.push_back(m), js.push_back(e.joy_minus_sad);
      }
      const double share = triples ? double(favoured) / double(triples) : 0, rho = spearman(mean_pref, js);
      std::printf("| %s | %zu | %.3f | %.3f |\n", model.c_str(), triples, share, rho);
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "%s{\"model\":\"%s\",\"triples\":%zu,\"share\":%.4f,\"spearman\":%.4f,\"excerpts\":%zu}",
                    json.size() > 1 ? "," : "", model.c_str(), triples, share, rho, all.size());
      json += buf;
    }
    json += "]\n";
    fs::remove_all(tmp);
    if (!json_out.empty()) std::ofstream(json_out) << json;
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_direction: %s\n", e.what());
    return e.kind() == ErrorKind::Usage ? 2 : e.kind() == ErrorKind::Model ? 4 : 3;
  }
  return 0;
}
