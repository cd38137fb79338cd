// Minimal charts as PNG (OpenCV drawing): used by `data stats` for the score histogram. Not a plotting library.
#pragma once

#include <string>
#include <vector>

namespace mpjudge {

// Bars for `counts` with one label under each, a title, written atomically. Throws Error on I/O failure.
void write_bar_chart_png(const std::vector<int>& counts, const std::vector<std::string>& labels,
                         const std::string& title, const std::string& path);

}  // namespace mpjudge
