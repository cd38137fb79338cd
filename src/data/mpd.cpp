// MPD datasets (see mpd.h and docs/mpd-format.md).
#include "data/mpd.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/files.h"
#include "data/csv.h"

namespace mpjudge {
namespace {

using Json = nlohmann::ordered_json;

bool exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

// The file's text, or "" when it cannot be read (read_mpd reports problems, it does not throw).
std::string slurp(const std::string& p) {
  try {
    const std::vector<uint8_t> b = read_file(p, 1ULL << 30);
    return std::string(b.begin(), b.end());
  } catch (const Error&) {
    return "";
  }
}

// Reads a CSV table with a header; returns rows as column->value maps. Problems for missing columns.
std::vector<std::map<std::string, std::string>> read_table(const std::string& root, const std::string& file,
                                                           const std::vector<std::string>& required,
                                                           std::vector<MpdProblem>& problems, bool optional) {
  std::vector<std::map<std::string, std::string>> out;
  const std::string path = root + "/" + file;
  if (!exists(path)) {
    if (!optional) problems.push_back({file, 0, "expected this file, found none"});
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  std::string err;
  if (!parse_csv(slurp(path), rows, err)) {
    problems.push_back({file, 0, "expected CSV, found " + err});
    return out;
  }
  if (rows.empty()) {
    problems.push_back({file, 0, "expected a header row, found an empty file"});
    return out;
  }
  const auto& header = rows[0];
  for (const auto& col : required)
    if (std::find(header.begin(), header.end(), col) == header.end())
      problems.push_back({file, 0, "expected a column '" + col + "' in the header, found none"});
  for (size_t r = 1; r < rows.size(); ++r) {
    std::map<std::string, std::string> m;
    if (rows[r].size() != header.size())
      problems.push_back(
          {file, int(r),
           "expected " + std::to_string(header.size()) + " fields, found " + std::to_string(rows[r].size())});
    for (size_t c = 0; c < header.size() && c < rows[r].size(); ++c) m[header[c]] = rows[r][c];
    out.push_back(m);
  }
  return out;
}

bool safe_relative(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  std::stringstream ss(p);
  std::string part;
  while (std::getline(ss, part, '/'))
    if (part == "..") return false;
  return true;
}

}  // namespace

std::string MpdProblem::str() const {
  return file + (row > 0 ? ":" + std::to_string(row) : std::string()) + ": " + message;
}

MpdDataset read_mpd(const std::string& root, std::vector<MpdProblem>& problems) {
  MpdDataset d;
  d.root = root;
  const std::string meta_path = root + "/mpd.json";
  if (!exists(root)) {
    problems.push_back({root, 0, "expected a dataset folder, found no such folder"});
    return d;
  }
  if (!exists(meta_path)) {
    problems.push_back({"mpd.json", 0, "expected the dataset header, found none"});
  } else {
    try {
      Json m = Json::parse(slurp(meta_path));
      if (m.value("format", "") != "MPD")
        problems.push_back(
            {"mpd.json", 0, "expected \"format\": \"MPD\", found " + m.value("format", std::string("nothing"))});
      d.version = m.value("version", 0);
      if (d.version != kMpdVersion)
        problems.push_back(
            {"mpd.json", 0,
             "expected version " + std::to_string(kMpdVersion) + ", found " + std::to_string(d.version)});
      d.name = m.value("name", "");
      if (m.contains("rating_scale")) {
        d.scale_min = m["rating_scale"].at(0);
        d.scale_max = m["rating_scale"].at(1);
        if (!(d.scale_max > d.scale_min))
          problems.push_back({"mpd.json", 0, "expected rating_scale [min, max] with max > min"});
      }
    } catch (const nlohmann::json::exception& e) {
      problems.push_back({"mpd.json", 0, std::string("expected JSON, found unparseable text (") + e.what() + ")"});
    }
  }
  for (const auto& r : read_table(root, "pairs.csv", {"pair_id", "music", "painting", "score"}, problems, false)) {
    MpdPair p;
    p.row = int(d.pairs.size()) + 1;
    p.id = r.count("pair_id") ? r.at("pair_id") : "";
    p.music = r.count("music") ? r.at("music") : "";
    p.painting = r.count("painting") ? r.at("painting") : "";
    p.music_source = r.count("music_source") ? r.at("music_source") : "";
    p.painting_source = r.count("painting_source") ? r.at("painting_source") : "";
    std::string s = r.count("score") ? r.at("score") : "";
    if (!parse_double(s, p.score))
      problems.push_back({"pairs.csv", p.row, "expected a numeric score, found '" + s + "'"}), p.score = NAN;
    d.pairs.push_back(p);
  }
  int row = 0;
  for (const auto& r : read_table(root, "ratings.csv", {"pair_id", "rater", "rating"}, problems, true)) {
    MpdRating x;
    x.row = ++row;
    x.pair_id = r.count("pair_id") ? r.at("pair_id") : "";
    x.rater = r.count("rater") ? r.at("rater") : "";
    std::string s = r.count("rating") ? r.at("rating") : "";
    if (!parse_double(s, x.rating)) {
      problems.push_back({"ratings.csv", x.row, "expected a numeric rating, found '" + s + "'"});
      continue;
    }
    d.ratings.push_back(x);
  }
  row = 0;
  for (const auto& r :
       read_table(root, "preferences.csv", {"pref_id", "music", "chosen", "rejected"}, problems, true)) {
    MpdPreference p;
    p.row = ++row;
    p.id = r.count("pref_id") ? r.at("pref_id") : "";
    p.music = r.count("music") ? r.at("music") : "";
    p.chosen = r.count("chosen") ? r.at("chosen") : "";
    p.rejected = r.count("rejected") ? r.at("rejected") : "";
    double v = 0;
    p.n_raters = r.count("n_raters") && parse_double(r.at("n_raters"), v) ? int(v) : 1;
    p.agreement = r.count("agreement") && parse_double(r.at("agreement"), v) ? v : 1.0;
    d.preferences.push_back(p);
  }
  row = 0;
  for (const auto& r : read_table(root, "media.csv", {"path", "kind"}, problems, true)) {
    MpdMedia m;
    m.row = ++row;
    auto get = [&](const char* k) { return r.count(k) ? r.at(k) : std::string(); };
    m.path = get("path"), m.kind = get("kind"), m.source = get("source"), m.origin = get("origin");
    m.variant = get("variant"), m.va_from = get("va_from"), m.music_kind = get("music_kind");
    for (auto [col, dst] : {std::pair{"valence", &m.valence}, std::pair{"arousal", &m.arousal}}) {
      const std::string v = get(col);
      double x = 0;
      if (v.empty()) continue;
      if (!parse_double(v, x) || x < -1 || x > 1)
        problems.push_back(
            {"media.csv", m.row, std::string("expected ") + col + " in [-1, 1] or empty, found '" + v + "'"});
      else
        *dst = x;
    }
    d.media.push_back(m);
  }
  if (exists(root + "/split.json")) {
    try {
      Json s = Json::parse(slurp(root + "/split.json"));
      if (s.value("version", 0) != kMpdVersion)
        problems.push_back(
            {"split.json", 0,
             "expected version " + std::to_string(kMpdVersion) + ", found " + std::to_string(s.value("version", 0))});
      for (auto it = s.at("pairs").begin(); it != s.at("pairs").end(); ++it)
        d.split[it.key()] = it.value().get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      problems.push_back(
          {"split.json", 0, std::string("expected {\"version\", \"seed\", \"pairs\": {...}}, found ") + e.what()});
    }
  }
  return d;
}

MpdDataset read_mpd_checked(const std::string& root) {
  std::vector<MpdProblem> problems;
  MpdDataset d = read_mpd(root, problems);
  if (!problems.empty())
    throw Error(
        ErrorKind::Input,
        problems[0].str() + (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : ""),
        "run `mpjudge data validate " + root + "` for the full list");
  return d;
}

std::vector<MpdProblem> validate_mpd(const std::string& root) {
  std::vector<MpdProblem> problems;
  MpdDataset d = read_mpd(root, problems);
  std::map<std::string, int> ids;
  std::map<std::pair<std::string, std::string>, int> combos;
  std::map<std::string, std::string> kind_cache;
  auto check_media = [&](const std::string& file, int row, const std::string& rel, bool audio) {
    if (!safe_relative(rel)) {
      problems.push_back(
          {file, row,
           "expected a media path relative to the dataset root, found '" + rel + "' (absolute or escaping with ..)"});
      return;
    }
    const std::string path = root + "/" + rel;
    auto it = kind_cache.find(path);
    if (it == kind_cache.end()) {
      std::string kind = "missing";
      if (exists(path)) {
        try {
          MappedFile f(path, 1ULL << 31);
          kind = sniff(f.data(), std::min<size_t>(f.size(), 4096));
        } catch (const Error&) {
          kind = "unreadable";
        }
      }
      it = kind_cache.emplace(path, kind).first;
    }
    const std::string& k = it->second;
    if (k == "missing")
      problems.push_back({file, row, "expected the media file " + rel + ", found none"});
    else if (k == "unreadable")
      problems.push_back({file, row, "expected a readable media file " + rel + ", found an unreadable one"});
    else if (audio && !is_audio_kind(k))
      problems.push_back({file, row, "expected audio at " + rel + ", found " + describe_kind(k)});
    else if (!audio && !is_image_kind(k))
      problems.push_back({file, row, "expected an image at " + rel + ", found " + describe_kind(k)});
  };
  for (const auto& p : d.pairs) {
    if (p.id.empty())
      problems.push_back({"pairs.csv", p.row, "expected a pair_id, found an empty field"});
    else if (ids.count(p.id))
      problems.push_back(
          {"pairs.csv", p.row,
           "expected a unique pair_id, found '" + p.id + "' again (first on row " + std::to_string(ids[p.id]) + ")"});
    else
      ids[p.id] = p.row;
    auto key = std::make_pair(p.music, p.painting);
    if (combos.count(key))
      problems.push_back(
          {"pairs.csv", p.row,
           "expected each music-painting pair once, found a duplicate of row " + std::to_string(combos[key])});
    else
      combos[key] = p.row;
    if (std::isfinite(p.score) && (p.score < 0 || p.score > 1))
      problems.push_back({"pairs.csv", p.row, "expected a score in [0, 1], found " + std::to_string(p.score)});
    check_media("pairs.csv", p.row, p.music, true);
    check_media("pairs.csv", p.row, p.painting, false);
  }
  std::map<std::pair<std::string, std::string>, int> rated;
  std::map<std::string, std::vector<double>> by_pair;
  for (const auto& r : d.ratings) {
    if (!ids.count(r.pair_id))
      problems.push_back({"ratings.csv", r.row, "expected a pair_id from pairs.csv, found '" + r.pair_id + "'"});
    if (r.rater.empty()) problems.push_back({"ratings.csv", r.row, "expected a rater id, found an empty field"});
    if (r.rating < d.scale_min || r.rating > d.scale_max)
      problems.push_back({"ratings.csv", r.row,
                          "expected a rating in [" + std::to_string(d.scale_min) + ", " + std::to_string(d.scale_max) +
                              "], found " + std::to_string(r.rating)});
    auto key = std::make_pair(r.pair_id, r.rater);
    if (rated.count(key))
      problems.push_back({"ratings.csv", r.row,
                          "expected one rating per rater and pair, found rater '" + r.rater + "' rating pair '" +
                              r.pair_id + "' again (first on row " + std::to_string(rated[key]) + ")"});
    else
      rated[key] = r.row, by_pair[r.pair_id].push_back(r.rating);
  }
  for (const auto& p : d.pairs) {
    auto it = by_pair.find(p.id);
    if (it == by_pair.end() || !std::isfinite(p.score)) continue;
    double mean = std::accumulate(it->second.begin(), it->second.end(), 0.0) / double(it->second.size());
    double expect = (mean - d.scale_min) / (d.scale_max - d.scale_min);
    if (std::fabs(expect - p.score) > 0.051)  // scores may be rounded to one decimal, as MPD's are
      problems.push_back({"pairs.csv", p.row,
                          "expected the score to be the normalised mean rating " + std::to_string(expect) + ", found " +
                              std::to_string(p.score)});
  }
  std::map<std::tuple<std::string, std::string, std::string>, int> prefs;
  for (const auto& p : d.preferences) {
    if (p.chosen == p.rejected)
      problems.push_back(
          {"preferences.csv", p.row, "expected two different paintings, found '" + p.chosen + "' twice"});
    if (p.n_raters < 1)
      problems.push_back({"preferences.csv", p.row, "expected n_raters >= 1, found " + std::to_string(p.n_raters)});
    if (p.agreement < 0.5 || p.agreement > 1)
      problems.push_back(
          {"preferences.csv", p.row,
           "expected agreement in [0.5, 1] (the share choosing 'chosen'), found " + std::to_string(p.agreement)});
    auto rev = std::make_tuple(p.music, p.rejected, p.chosen);
    if (prefs.count(rev))
      problems.push_back({"preferences.csv", p.row,
                          "expected consistent preferences, found the reverse of row " + std::to_string(prefs[rev]) +
                              " (self-contradicting)"});
    auto same = std::make_tuple(p.music, p.chosen, p.rejected);
    if (prefs.count(same))
      problems.push_back({"preferences.csv", p.row,
                          "expected each preference once, found a duplicate of row " + std::to_string(prefs[same])});
    prefs.emplace(same, p.row);
    check_media("preferences.csv", p.row, p.music, true);
    check_media("preferences.csv", p.row, p.chosen, false);
    check_media("preferences.csv", p.row, p.rejected, false);
  }
  std::set<std::string> media_seen;
  for (const auto& m : d.media) {
    if (m.kind != "music" && m.kind != "painting") {
      problems.push_back({"media.csv", m.row, "expected kind 'music' or 'painting', found '" + m.kind + "'"});
      continue;
    }
    if (!m.music_kind.empty() && (m.kind != "music" || (m.music_kind != "recorded" && m.music_kind != "rendered")))
      problems.push_back({"media.csv", m.row,
                          "expected music_kind 'recorded' or 'rendered' on a music row (or empty), found '" +
                              m.music_kind + "' on a " + m.kind + " row"});
    if (!media_seen.insert(m.path).second)
      problems.push_back({"media.csv", m.row, "expected each path once, found '" + m.path + "' again"});
    check_media("media.csv", m.row, m.path, m.kind == "music");
  }
  static const std::set<std::string> kSplits{"train", "val", "test", "test_style", "test_music", "excluded"};
  for (const auto& [id, s] : d.split) {
    if (!ids.count(id)) problems.push_back({"split.json", 0, "expected pair ids from pairs.csv, found '" + id + "'"});
    if (!kSplits.count(s))
      problems.push_back({"split.json", 0,
                          "expected train/val/test/test_style/test_music/excluded, found '" + s + "' for pair " + id});
  }
  return problems;
}

void write_mpd(const MpdDataset& d, const std::string& root) {
  mkdir(root.c_str(), 0755);
  Json meta{
      {"format", "MPD"}, {"version", kMpdVersion}, {"name", d.name}, {"rating_scale", {d.scale_min, d.scale_max}}};
  write_file_atomic(root + "/mpd.json", meta.dump(2) + "\n");
  std::string pairs = "pair_id,music,painting,score,music_source,painting_source\n";
  for (const auto& p : d.pairs) {
    std::ostringstream s;
    s.precision(10);
    s << p.score;
    pairs += csv_field(p.id) + "," + csv_field(p.music) + "," + csv_field(p.painting) + "," + s.str() + "," +
             csv_field(p.music_source) + "," + csv_field(p.painting_source) + "\n";
  }
  write_file_atomic(root + "/pairs.csv", pairs);
  if (!d.ratings.empty()) {
    std::string r = "pair_id,rater,rating\n";
    for (const auto& x : d.ratings)
      r += csv_field(x.pair_id) + "," + csv_field(x.rater) + "," + std::to_string(x.rating) + "\n";
    write_file_atomic(root + "/ratings.csv", r);
  }
  if (!d.preferences.empty()) {
    std::string r = "pref_id,music,chosen,rejected,n_raters,agreement\n";
    for (const auto& x : d.preferences)
      r += csv_field(x.id) + "," + csv_field(x.music) + "," + csv_field(x.chosen) + "," + csv_field(x.rejected) + "," +
           std::to_string(x.n_raters) + "," + std::to_string(x.agreement) + "\n";
    write_file_atomic(root + "/preferences.csv", r);
  }
  if (!d.media.empty()) {
    auto num = [](const std::optional<double>& v) {
      if (!v) return std::string();
      std::ostringstream s;
      s.precision(6);
      s << *v;
      return s.str();
    };
    // music_kind only when some row has it, so datasets written before it existed stay byte-identical.
    const bool kinds =
        std::any_of(d.media.begin(), d.media.end(), [](const MpdMedia& m) { return !m.music_kind.empty(); });
    std::string r =
        std::string("path,kind,source,origin,variant,valence,arousal,va_from") + (kinds ? ",music_kind" : "") + "\n";
    for (const auto& m : d.media)
      r += csv_field(m.path) + "," + csv_field(m.kind) + "," + csv_field(m.source) + "," + csv_field(m.origin) + "," +
           csv_field(m.variant) + "," + num(m.valence) + "," + num(m.arousal) + "," + csv_field(m.va_from) +
           (kinds ? "," + csv_field(m.music_kind) : std::string()) + "\n";
    write_file_atomic(root + "/media.csv", r);
  }
}

MpdDataset import_authors_json(const std::string& json_file, const std::string& out_root) {
  Json j;
  try {
    j = Json::parse(slurp(json_file));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Input,
                json_file + ": expected a JSON list of {image_path, audio_path, score}, found unparseable text");
  }
  if (!j.is_array())
    throw Error(ErrorKind::Input, json_file + ": expected a JSON list, found " + std::string(j.type_name()));
  MpdDataset d;
  d.name = json_file.substr(json_file.rfind('/') + 1);
  d.version = kMpdVersion;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& e = j[i];
    if (!e.is_object() || !e.contains("image_path") || !e.contains("audio_path") || !e.contains("score") ||
        !e["score"].is_number())
      throw Error(ErrorKind::Input, json_file + ": element " + std::to_string(i) +
                                        ": expected {\"image_path\", \"audio_path\", \"score\" (number)}, found " +
                                        e.dump().substr(0, 120));
    MpdPair p;
    p.id = "p" + std::to_string(i + 1);
    p.painting = e["image_path"];
    p.music = e["audio_path"];
    p.score = e["score"];
    p.row = int(i) + 1;
    d.pairs.push_back(p);
  }
  // The authors' paths are relative to the JSON's folder (or absolute); an MPD dataset's are relative to
  // its own folder. Each medium that exists is linked into DIR: at the same relative path when that stays
  // inside, else under media/imported/. A missing one keeps its path, for `data validate` to report.
  namespace fs = std::filesystem;
  const fs::path from = fs::absolute(fs::path(json_file)).parent_path();
  std::error_code ec;
  fs::create_directories(out_root, ec);
  std::map<std::string, std::string> placed;
  auto place = [&](const std::string& given) {
    auto it = placed.find(given);
    if (it != placed.end()) return it->second;
    const fs::path src = fs::path(given).is_absolute() ? fs::path(given) : from / given;
    std::string rel = given;
    if (fs::exists(src)) {
      if (!safe_relative(given))
        rel = "media/imported/" + std::to_string(placed.size() + 1) + "_" + fs::path(given).filename().string();
      const fs::path dst = fs::path(out_root) / rel;
      if (!fs::exists(dst)) {
        fs::create_directories(dst.parent_path(), ec);
        fs::create_symlink(fs::canonical(src), dst, ec);
        if (ec)
          throw Error(ErrorKind::Internal,
                      out_root + ": could not link " + rel + " to " + src.string() + ": " + ec.message());
      }
    }
    return placed[given] = rel;
  };
  for (auto& p : d.pairs) p.music = place(p.music), p.painting = place(p.painting);
  write_mpd(d, out_root);
  d.root = out_root;
  return d;
}

void export_authors_json(const MpdDataset& d, const std::string& json_file) {
  Json out = Json::array();
  for (const auto& p : d.pairs)
    out.push_back({{"image_path", p.painting}, {"audio_path", p.music}, {"score", p.score}});
  write_file_atomic(json_file, out.dump(1) + "\n");
}

// ---- agreement -----------------------------------------------------------------------------------
}  // namespace mpjudge
