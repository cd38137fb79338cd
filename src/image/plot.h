// Minimal charts as PNG (OpenCV drawing, plot.cpp): the score histogram of `data stats` and the training
// curves. Not a plotting library.
#pragma once

#include <string>
#include <vector>

namespace mpjudge {

// Bars for `counts` with one label under each, a title, written atomically. Throws Error on I/O failure.
void write_bar_chart_png(const std::vector<int>& counts, const std::vector<std::string>& labels,
                         const std::string& title, const std::string& path);

struct ChartSeries {
  std::string name;
  std::vector<double> x, y;
};
// Lines (one colour per series, legend top right) over shared axes with tick values; non-finite points
// are skipped. For training curves. Written atomically.
void write_line_chart_png(const std::vector<ChartSeries>& series, const std::string& title, const std::string& x_label,
                          const std::string& path);

}  // namespace mpjudge
