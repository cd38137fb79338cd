// RFC 4180 CSV (see csv.h).
#include "data/csv.h"

#include <cmath>
#include <cstdlib>

namespace mpjudge {

bool parse_double(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && std::isfinite(v);
}

bool parse_csv(const std::string& t, std::vector<std::vector<std::string>>& rows, std::string& error) {
  rows.clear();
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  int line = 1, quote_line = 0;
  // A UTF-8 byte-order mark (spreadsheets write one) is not part of the first field.
  const size_t start = t.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  for (size_t i = start; i < t.size(); ++i) {
    char c = t[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < t.size() && t[i + 1] == '"')
          field += '"', ++i;
        else
          quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty()) {
      quoted = true, any = true, quote_line = line;
    } else if (c == ',') {
      row.push_back(field), field.clear(), any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < t.size() && t[i + 1] == '\n') ++i;
      if (any || !field.empty()) row.push_back(field);
      if (!row.empty()) rows.push_back(row);
      row.clear(), field.clear(), any = false;
      ++line;
    } else {
      field += c, any = true;
    }
  }
  if (quoted) {
    error = "an unterminated quoted field starting on line " + std::to_string(quote_line);
    return false;
  }
  if (any || !field.empty()) row.push_back(field);
  if (!row.empty()) rows.push_back(row);
  return true;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace mpjudge
