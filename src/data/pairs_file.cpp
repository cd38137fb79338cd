// The batch-scoring pairs file (see pairs_file.h).
#include "data/pairs_file.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "data/csv.h"

namespace mpjudge {

namespace {

std::string folder_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

std::string resolve(const std::string& base, const std::string& p) { return p[0] == '/' ? p : base + p; }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::vector<ScorePair> read_pairs_file(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path, 1ULL << 30);
  const std::string text(bytes.begin(), bytes.end());
  const std::string base = folder_of(path);
  std::vector<ScorePair> out;
  auto add = [&](int row, const std::string& music, const std::string& painting, const std::string& id) {
    const std::string at = path + ":" + std::to_string(row);
    if (music.empty()) fail_input(at, "a music path", "an empty field");
    if (painting.empty()) fail_input(at, "a painting path", "an empty field");
    out.push_back({MusicSource(resolve(base, music)), PaintingSource(resolve(base, painting)),
                   id.empty() ? std::to_string(out.size() + 1) : id});
  };
  const bool jsonl = ends_with(path, ".jsonl") || ends_with(path, ".ndjson") ||
                     (!text.empty() && text.find_first_not_of(" \t\r\n\xEF\xBB\xBF") != std::string::npos &&
                      text[text.find_first_not_of(" \t\r\n\xEF\xBB\xBF")] == '{');
  if (jsonl) {
    size_t pos = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    for (int row = 1; pos < text.size(); ++row) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      const std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string at = path + ":" + std::to_string(row);
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        fail_input(at, "a JSON object with \"music\" and \"painting\"", "'" + line.substr(0, 60) + "'");
      auto field = [&](const char* k, bool required) -> std::string {
        if (!j.contains(k)) {
          if (required) fail_input(at, std::string("a \"") + k + "\" field", "none");
          return "";
        }
        if (j[k].is_string()) return j[k].get<std::string>();
        if (!required && j[k].is_number()) return j[k].dump();
        fail_input(at, std::string("\"") + k + "\" as a string", j[k].dump().substr(0, 40));
      };
      add(row, field("music", true), field("painting", true), field("id", false));
    }
  } else {
    std::vector<std::vector<std::string>> rows;
    std::string err;
    if (!parse_csv(text, rows, err)) fail_input(path, "CSV", err);
    if (rows.empty()) fail_input(path, "a header with music and painting columns", "an empty file");
    int music = -1, painting = -1, id = -1;
    for (size_t c = 0; c < rows[0].size(); ++c) {
      if (rows[0][c] == "music") music = int(c);
      if (rows[0][c] == "painting") painting = int(c);
      if (rows[0][c] == "id") id = int(c);
    }
    if (music < 0 || painting < 0)
      fail_input(path + ":1", "a header with music and painting columns (and optionally id)",
                 "'" + (rows[0].empty() ? std::string() : rows[0][0]) + (rows[0].size() > 1 ? ",..." : "") + "'");
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      if (row.size() == 1 && row[0].empty()) continue;  // a blank line
      auto get = [&](int c) { return c >= 0 && size_t(c) < row.size() ? row[size_t(c)] : std::string(); };
      add(int(r + 1), get(music), get(painting), get(id));
    }
  }
  if (out.empty()) fail_input(path, "at least one pair", "none");
  return out;
}

}  // namespace mpjudge
