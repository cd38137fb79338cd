// A small RFC 4180 CSV reader/writer (quoted fields, doubled quotes, CRLF) for the MPD tables.
#pragma once

#include <string>
#include <vector>

namespace mpjudge {

// Parses text into rows of fields. Returns false and sets `error` (with the line) on an unterminated quote.
bool parse_csv(const std::string& text, std::vector<std::vector<std::string>>& rows, std::string& error);
std::string csv_field(const std::string& s);  // quotes when needed
// A numeric field: the whole of s is a finite number (no empty field, no trailing text).
bool parse_double(const std::string& s, double& v);

}  // namespace mpjudge
