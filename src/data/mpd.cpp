// MPD datasets (see mpd.h and docs/mpd-format.md).
#include "data/mpd.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
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

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool parse_double(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = strtod(s.c_str(), &end);
  return end && *end == '\0' && std::isfinite(v);
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

void write_split(const std::string& root, const std::map<std::string, std::string>& split, const SplitOptions& opt,
                 const std::string& method) {
  std::map<std::string, int> counts;
  Json pairs = Json::object();
  for (const auto& [id, s] : split) pairs[id] = s, counts[s]++;
  Json out{{"version", kMpdVersion},
           {"seed", opt.seed},
           {"method", method.empty() ? "music and painting (grouped by media.csv origin) drawn independently; "
                                       "disagreeing pairs excluded"
                                     : method},
           {"val", opt.val},
           {"test", opt.test},
           {"style_key", opt.style_key},
           {"style_share", opt.style_share},
           {"counts", counts},
           {"pairs", pairs}};
  if (!opt.test_music_sources.empty()) {
    out["test_music_sources"] = opt.test_music_sources;
    out["test_music_share"] = opt.test_music_share;
  }
  if (opt.stratify_music_by_source) out["stratify_music_by_source"] = true;
  if (!opt.music_strata.empty()) out["music_strata"] = opt.music_strata;
  write_file_atomic(root + "/split.json", out.dump(1) + "\n");
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
double krippendorff_alpha_interval(const std::vector<std::vector<double>>& units) {
  // Coincidence form: D_o over pairs of values within a unit (weighted 1/(m_u - 1)), D_e over all
  // pairable values; alpha = 1 - D_o / D_e (Krippendorff 2011, "Computing Krippendorff's alpha").
  std::vector<double> all;
  double d_o = 0;
  for (const auto& u : units) {
    std::vector<double> v;
    for (double x : u)
      if (std::isfinite(x)) v.push_back(x);
    if (v.size() < 2) continue;
    double s = 0;
    for (size_t i = 0; i < v.size(); ++i)
      for (size_t j = 0; j < v.size(); ++j) s += (v[i] - v[j]) * (v[i] - v[j]);
    d_o += s / double(v.size() - 1);
    all.insert(all.end(), v.begin(), v.end());
  }
  const double n = double(all.size());
  if (n < 2) return NAN;
  d_o /= n;
  // sum over i != j of (a_i - a_j)^2 = 2 n sum a^2 - 2 (sum a)^2
  double s1 = 0, s2 = 0;
  for (double a : all) s1 += a, s2 += a * a;
  double d_e = (2 * n * s2 - 2 * s1 * s1) / (n * (n - 1));
  return d_e > 0 ? 1.0 - d_o / d_e : NAN;
}

static std::optional<std::array<double, 5>> icc_mean_squares(const std::vector<std::vector<double>>& units) {
  std::vector<std::vector<double>> c;
  for (const auto& u : units)
    if (!u.empty() && std::all_of(u.begin(), u.end(), [](double x) { return std::isfinite(x); })) c.push_back(u);
  if (c.size() < 2) return std::nullopt;
  const size_t n = c.size(), k = c[0].size();
  if (k < 2) return std::nullopt;
  double grand = 0;
  std::vector<double> row(n, 0), col(k, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < k; ++j) row[i] += c[i][j], col[j] += c[i][j], grand += c[i][j];
  grand /= double(n * k);
  double ssr = 0, ssc = 0, sst = 0;
  for (size_t i = 0; i < n; ++i) ssr += double(k) * std::pow(row[i] / double(k) - grand, 2);
  for (size_t j = 0; j < k; ++j) ssc += double(n) * std::pow(col[j] / double(n) - grand, 2);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < k; ++j) sst += std::pow(c[i][j] - grand, 2);
  double bms = ssr / double(n - 1), jms = ssc / double(k - 1), ems = (sst - ssr - ssc) / double((n - 1) * (k - 1));
  return std::array<double, 5>{bms, jms, ems, double(n), double(k)};
}

std::optional<double> icc_2k(const std::vector<std::vector<double>>& units) {
  auto ms = icc_mean_squares(units);
  if (!ms) return std::nullopt;
  [[maybe_unused]] auto [bms, jms, ems, n, k] = *ms;
  return (bms - ems) / (bms + (jms - ems) / n);
}

std::optional<double> icc_21(const std::vector<std::vector<double>>& units) {
  auto ms = icc_mean_squares(units);
  if (!ms) return std::nullopt;
  auto [bms, jms, ems, n, k] = *ms;
  return (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n);
}

static std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = (double(i) + double(j)) / 2 + 1;  // average rank of ties
    i = j + 1;
  }
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) return NAN;
  std::vector<double> ra = ranks(a), rb = ranks(b);
  double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / double(ra.size()),
         mb = std::accumulate(rb.begin(), rb.end(), 0.0) / double(rb.size());
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i)
    sab += (ra[i] - ma) * (rb[i] - mb), saa += (ra[i] - ma) * (ra[i] - ma), sbb += (rb[i] - mb) * (rb[i] - mb);
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : NAN;
}

namespace {

// Least squares of the score on emotion-only features of both sides (see MpdStats).
void emotion_only_fit(const MpdDataset& d, MpdStats& s) {
  std::map<std::string, std::pair<double, double>> va;
  for (const auto& m : d.media)
    if (m.valence && m.arousal) va[m.path] = {*m.valence, *m.arousal};
  std::vector<std::vector<double>> X;
  std::vector<double> y;
  for (const auto& p : d.pairs) {
    auto a = va.find(p.music), b = va.find(p.painting);
    if (a == va.end() || b == va.end() || !std::isfinite(p.score)) continue;
    const double vm = a->second.first, am = a->second.second, vp = b->second.first, ap = b->second.second;
    X.push_back({1, vm, am, vp, ap, vm * vp, am * ap, std::fabs(vm - vp), std::fabs(am - ap), vm * vm, am * am, vp * vp,
                 ap * ap});
    y.push_back(p.score);
  }
  if (y.size() < 50 || y.size() < d.pairs.size() / 2) return;
  const size_t k = X[0].size();
  std::vector<std::vector<double>> A(k, std::vector<double>(k + 1, 0.0));
  for (size_t i = 0; i < y.size(); ++i)
    for (size_t r = 0; r < k; ++r) {
      for (size_t c = 0; c < k; ++c) A[r][c] += X[i][r] * X[i][c];
      A[r][k] += X[i][r] * y[i];
    }
  for (size_t r = 0; r < k; ++r) A[r][r] += 1e-6 * double(y.size());  // a whisper of ridge: collinear columns
  for (size_t c = 0; c < k; ++c) {                                    // Gauss-Jordan, partial pivoting
    size_t piv = c;
    for (size_t r = c + 1; r < k; ++r)
      if (std::fabs(A[r][c]) > std::fabs(A[piv][c])) piv = r;
    std::swap(A[c], A[piv]);
    for (size_t r = 0; r < k; ++r) {
      if (r == c || A[c][c] == 0) continue;
      const double f = A[r][c] / A[c][c];
      for (size_t j = c; j <= k; ++j) A[r][j] -= f * A[c][j];
    }
  }
  std::vector<double> pred(y.size(), 0.0);
  double mean = 0, ss_tot = 0, ss_res = 0;
  for (double v : y) mean += v;
  mean /= double(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    for (size_t c = 0; c < k; ++c) pred[i] += X[i][c] * (A[c][c] != 0 ? A[c][k] / A[c][c] : 0.0);
    ss_res += (y[i] - pred[i]) * (y[i] - pred[i]), ss_tot += (y[i] - mean) * (y[i] - mean);
  }
  if (ss_tot <= 0) return;
  s.emotion_pairs = y.size();
  s.emotion_r2 = 1 - ss_res / ss_tot;
  s.emotion_srcc = spearman(pred, y);
  if (s.icc2k && *s.icc2k > 0) s.emotion_share_of_reliable = *s.emotion_r2 / *s.icc2k;
}

}  // namespace

MpdStats mpd_stats(const MpdDataset& d) {
  MpdStats s;
  s.pairs = d.pairs.size();
  std::set<std::string> musics, paintings, raters;
  s.histogram.assign(10, 0);
  for (const auto& p : d.pairs) {
    musics.insert(p.music), paintings.insert(p.painting);
    if (std::isfinite(p.score)) s.histogram[size_t(std::clamp(int(p.score * 10), 0, 9))]++;
  }
  s.musics = musics.size(), s.paintings = paintings.size(), s.ratings = d.ratings.size(),
  s.preferences = d.preferences.size();
  {
    std::map<std::string, const MpdMedia*> media;
    for (const auto& m : d.media)
      if (m.kind == "music") media[m.path] = &m;
    std::map<std::string, std::string> kind_of, source_of;
    for (const auto& p : d.pairs) {
      auto it = media.find(p.music);
      kind_of[p.music] = it != media.end() && !it->second->music_kind.empty() ? it->second->music_kind : "unknown";
      source_of[p.music] = !p.music_source.empty()                            ? p.music_source
                           : it != media.end() && !it->second->source.empty() ? it->second->source
                                                                              : "unknown";
      s.music_by_kind[kind_of[p.music]].pairs++, s.music_by_source[source_of[p.music]].pairs++;
    }
    for (const auto& [path, kind] : kind_of) s.music_by_kind[kind].clips++, s.music_by_source[source_of[path]].clips++;
  }
  std::vector<std::string> rater_list;
  for (const auto& r : d.ratings)
    if (raters.insert(r.rater).second) rater_list.push_back(r.rater);
  std::sort(rater_list.begin(), rater_list.end());
  s.raters = rater_list.size();
  if (rater_list.size() < 2) return s;
  std::map<std::string, size_t> ri;
  for (size_t i = 0; i < rater_list.size(); ++i) ri[rater_list[i]] = i;
  std::map<std::string, std::vector<double>> table;  // pair -> rating per rater (NaN = missing)
  for (const auto& r : d.ratings) {
    auto& row = table[r.pair_id];
    if (row.empty()) row.assign(rater_list.size(), NAN);
    row[ri[r.rater]] = r.rating;
  }
  std::vector<std::vector<double>> units;
  for (auto& [id, row] : table) units.push_back(row);
  s.alpha = krippendorff_alpha_interval(units);
  s.icc2k = icc_2k(units);
  s.icc21 = icc_21(units);
  for (const auto& u : units) s.icc_units += std::all_of(u.begin(), u.end(), [](double x) { return std::isfinite(x); });
  double sum = 0;
  int n = 0;
  for (size_t r = 0; r < rater_list.size(); ++r) {
    std::vector<double> mine, others;
    for (const auto& u : units) {
      if (!std::isfinite(u[r])) continue;
      double t = 0;
      int c = 0;
      for (size_t q = 0; q < u.size(); ++q)
        if (q != r && std::isfinite(u[q])) t += u[q], ++c;
      if (c) mine.push_back(u[r]), others.push_back(t / c);
    }
    double rho = spearman(mine, others);
    if (std::isfinite(rho)) s.rater_srcc[rater_list[r]] = rho, sum += rho, ++n;
  }
  if (n) s.ceiling = sum / n;
  emotion_only_fit(d, s);
  // The emotion-only share within each music kind (e.g. recorded vs rendered).
  if (s.music_by_kind.size() > 1)
    for (auto& [kind, count] : s.music_by_kind) {
      MpdDataset sub;
      sub.media = d.media;
      std::set<std::string> of_kind;
      for (const auto& m : d.media)
        if (m.kind == "music" && (m.music_kind.empty() ? "unknown" : m.music_kind) == kind) of_kind.insert(m.path);
      for (const auto& p : d.pairs)
        if (of_kind.count(p.music)) sub.pairs.push_back(p);
      MpdStats part;
      emotion_only_fit(sub, part);
      count.emotion_r2 = part.emotion_r2;
    }
  return s;
}

MediaSplits media_splits(const MpdDataset& d, const SplitOptions& opt) {
  // Music pieces and paintings are each assigned a split (exact shares, seeded order). A pair keeps its
  // split only when both of its sides got the same one; otherwise it is "excluded". So no music piece
  // or painting is ever in two splits.
  //
  // Held-out style: some groups of style_key (e.g. painters) are held out; their items are test_style.
  // Items on the other side draw test_style with probability style_share, so test_style pairs combine
  // unseen styles with music that appears nowhere else.
  const bool by_music = opt.style_key == "music_source";
  std::set<std::string> held;
  if (!opt.style_key.empty()) {
    std::set<std::string> groups;
    for (const auto& p : d.pairs) groups.insert(by_music ? p.music_source : p.painting_source);
    groups.erase("");
    if (groups.size() >= 2) {
      std::vector<std::string> g(groups.begin(), groups.end());
      std::mt19937_64 rng(opt.seed ^ 0x5eedULL);
      std::shuffle(g.begin(), g.end(), rng);
      size_t k = std::max<size_t>(1, size_t(std::lround(opt.style_share * double(g.size()))));
      held.insert(g.begin(), g.begin() + long(std::min(k, g.size() - 1)));
    }
  }
  const double style = held.empty() ? 0.0 : opt.style_share;
  const std::set<std::string> held_music(opt.test_music_sources.begin(), opt.test_music_sources.end());
  const double music_share = held_music.empty() ? 0.0 : opt.test_music_share;
  // Exact quotas: items are ordered by a seeded hash of their name and cut at the requested shares,
  // so even a small dataset gets non-empty val/test splits.
  // With strata (stratify_music_by_source), the quotas are cut within each stratum.
  auto assign = [&](const std::string& what, const std::set<std::string>& names, bool may_be_style, bool may_be_music,
                    const std::map<std::string, std::string>& stratum) {
    std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> orders;
    for (const auto& n : names) {
      std::seed_seq seq{uint32_t(opt.seed), uint32_t(opt.seed >> 32),
                        uint32_t(std::hash<std::string>{}(what + "\x1f" + n))};
      std::mt19937_64 rng(seq);
      auto it = stratum.find(n);
      orders[it == stratum.end() ? "" : it->second].emplace_back(rng(), n);
    }
    std::map<std::string, std::string> out;
    for (auto& [st, order] : orders) {
      std::sort(order.begin(), order.end());
      const double total = double(order.size());
      const size_t n_style = may_be_style ? size_t(std::lround(style * total)) : 0;
      const size_t n_music = may_be_music ? size_t(std::lround(music_share * total)) : 0;
      size_t n_test = size_t(std::lround(opt.test * total)), n_val = size_t(std::lround(opt.val * total));
      if (!stratum.empty() && order.size() >= 3 && opt.test > 0 && opt.val > 0)  // every stratum in val and test
        n_test = std::max<size_t>(n_test, 1), n_val = std::max<size_t>(n_val, 1);
      // test_music's share comes after val, so adding it leaves the test and val cuts where they were.
      const size_t to_val = n_style + n_test + n_val;
      for (size_t i = 0; i < order.size(); ++i)
        out[order[i].second] = i < n_style            ? "test_style"
                               : i < n_style + n_test ? "test"
                               : i < to_val           ? "val"
                               : i < to_val + n_music ? "test_music"
                                                      : "train";
    }
    return out;
  };
  std::map<std::string, std::string> group;  // media path -> its origin group
  if (opt.group_by_origin)
    for (const auto& m : d.media)
      if (!m.origin.empty()) group[m.path] = m.kind + ":" + m.origin;
  auto key = [&](const std::string& path) {
    auto it = group.find(path);
    return it == group.end() ? path : it->second;
  };
  std::set<std::string> musics, paintings;
  std::map<std::string, std::string> music_stratum;
  for (const auto& p : d.pairs) {
    const bool held_pair = held.count(by_music ? p.music_source : p.painting_source) > 0;
    const bool held_m = held_music.count(p.music_source) > 0;
    if (!(by_music && held_pair) && !held_m) musics.insert(key(p.music));
    if (!(!by_music && held_pair)) paintings.insert(key(p.painting));
    if (opt.stratify_music_by_source || opt.music_strata.count(p.music_source))
      music_stratum[key(p.music)] = p.music_source;
  }
  std::map<std::string, std::string> music_split = assign("music", musics, !by_music, false, music_stratum);
  std::map<std::string, std::string> painting_split = assign("painting", paintings, by_music, !held_music.empty(), {});
  MediaSplits out;
  for (const auto& p : d.pairs) {
    const bool held_pair = held.count(by_music ? p.music_source : p.painting_source) > 0;
    out.music[p.music] = held_music.count(p.music_source) ? "test_music"
                         : by_music && held_pair          ? "test_style"
                                                          : music_split.at(key(p.music));
    out.painting[p.painting] = !by_music && held_pair ? "test_style" : painting_split.at(key(p.painting));
  }
  return out;
}

std::map<std::string, std::string> make_split(const MpdDataset& d, const SplitOptions& opt) {
  const MediaSplits m = media_splits(d, opt);
  std::map<std::string, std::string> out;
  for (const auto& p : d.pairs) {
    const std::string& sm = m.music.at(p.music);
    const std::string& sp = m.painting.at(p.painting);
    out[p.id] = sm == sp ? sm : "excluded";
  }
  return out;
}

}  // namespace mpjudge
