// The HTML report (see report.h). Charts are hand-written SVG: a few rectangles, circles and lines, so
// the file stays self-contained and readable without a plotting library.
#include "eval/report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/files.h"
#include "data/mpd.h"

namespace mpjudge {
namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string fmt(double v, int digits = 3) {
  if (!std::isfinite(v)) return "–";
  char b[32];
  snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

// An interval bound: 3 decimals, or 4 when 3 would show a non-zero bound as 0.000 (so "beyond" and a
// bound printed as zero never meet).
std::string fmt_bound(double v) { return fmt(v, v != 0 && std::abs(v) < 0.0005 ? 4 : 3); }

std::string base64(const std::vector<uint8_t>& d) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  o.reserve((d.size() + 2) / 3 * 4);
  for (size_t i = 0; i < d.size(); i += 3) {
    uint32_t v = uint32_t(d[i]) << 16 | (i + 1 < d.size() ? uint32_t(d[i + 1]) << 8 : 0u) |
                 (i + 2 < d.size() ? uint32_t(d[i + 2]) : 0u);
    o += t[(v >> 18) & 63];
    o += t[(v >> 12) & 63];
    o += i + 1 < d.size() ? t[(v >> 6) & 63] : '=';
    o += i + 2 < d.size() ? t[v & 63] : '=';
  }
  return o;
}

// The point value of one of the charted metrics.
double metric_value(const Metrics& m, const std::string& key) {
  if (key == "srcc") return m.srcc;
  if (key == "plcc") return m.plcc;
  if (key == "pref_acc") return m.pref_acc;
  if (key == "krcc") return m.krcc;
  return m.mae;
}

const char* kColours[] = {"#0b5394", "#b45f06", "#38761d", "#990000", "#674ea7", "#7f6000", "#134f5c", "#a64d79"};
const char* colour(size_t k) { return kColours[k % (sizeof kColours / sizeof *kColours)]; }

// One metric across runs: a bar per run with its 95% interval as a whisker.
std::string bar_chart(const std::string& title, const std::string& key,
                      const std::vector<std::pair<std::string, EvalOutput>>& res, bool lower_is_better) {
  const double W = 420, H = 60 + 28.0 * double(res.size()), left = 150, right = 20, top = 30;
  double hi = 0;
  for (const auto& [name, r] : res) {
    auto it = r.report.ci95.find(key);
    double v = metric_value(r.report.point, key);
    hi = std::max({hi, std::isfinite(v) ? v : 0.0, it != r.report.ci95.end() ? it->second.hi : 0.0});
  }
  hi = hi <= 0 ? 1 : std::ceil(hi * 10 + 0.5) / 10;
  auto X = [&](double v) { return left + (W - left - right) * std::max(0.0, v) / hi; };
  std::ostringstream o;
  o << "<figure class=\"chart\"><svg role=\"img\" aria-label=\"" << esc(title) << "\" width=\"" << W << "\" height=\""
    << H << "\" viewBox=\"0 0 " << W << " " << H << "\">";
  o << "<text x=\"" << left << "\" y=\"18\" class=\"t\">" << esc(title) << (lower_is_better ? " (lower is better)" : "")
    << "</text>";
  for (int k = 0; k <= 5; ++k) {
    double v = hi * k / 5, x = X(v);
    o << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x << "\" y2=\"" << H - 22
      << "\" class=\"grid\"/><text x=\"" << x << "\" y=\"" << H - 8 << "\" class=\"tick\">" << fmt(v, 2) << "</text>";
  }
  for (size_t i = 0; i < res.size(); ++i) {
    const auto& r = res[i].second.report;
    double v = metric_value(r.point, key);
    double y = top + 6 + 28.0 * double(i);
    o << "<text x=\"" << left - 6 << "\" y=\"" << y + 14 << "\" class=\"lab\">" << esc(res[i].first) << "</text>";
    if (std::isfinite(v))
      o << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"" << X(v) - left << "\" height=\"18\" fill=\""
        << colour(i) << "\"><title>" << esc(res[i].first) << ": " << fmt(v) << "</title></rect>";
    auto it = r.ci95.find(key);
    if (it != r.ci95.end())
      o << "<line x1=\"" << X(it->second.lo) << "\" y1=\"" << y + 9 << "\" x2=\"" << X(it->second.hi) << "\" y2=\""
        << y + 9 << "\" class=\"ci\"/>";
  }
  o << "</svg></figure>";
  return o.str();
}

// Predicted score against the panel's mean score, one dot per pair.
std::string scatter(const std::string& name, const EvalOutput& r, size_t k) {
  const double S = 260, m = 34;
  auto P = [&](double v, bool y) { return y ? m / 2 + (S - 2 * m) * (1 - v) : m + (S - 2 * m) * v; };
  std::ostringstream o;
  o << "<figure class=\"chart\"><svg role=\"img\" aria-label=\"predicted versus mean opinion score: " << esc(name)
    << "\" width=\"" << S << "\" height=\"" << S << "\" viewBox=\"0 0 " << S << " " << S << "\">";
  o << "<rect x=\"" << m << "\" y=\"" << m / 2 << "\" width=\"" << S - 2 * m << "\" height=\"" << S - 2 * m
    << "\" class=\"frame\"/>";
  for (const auto& p : r.pairs)
    o << "<circle cx=\"" << fmt(P(std::clamp(p.pred, 0.0, 1.0), false), 1) << "\" cy=\""
      << fmt(P(std::clamp(p.mos, 0.0, 1.0), true), 1) << "\" r=\"1.6\" fill=\"" << colour(k) << "\" opacity=\".35\"/>";
  o << "<text x=\"" << S / 2 << "\" y=\"" << S - 4 << "\" class=\"tick\">predicted</text>";
  o << "<text x=\"10\" y=\"" << S / 2 << "\" class=\"tick\" transform=\"rotate(-90 10 " << S / 2
    << ")\">panel mean (MOS)</text>";
  o << "</svg><figcaption>" << esc(name) << ": SRCC " << fmt(r.report.point.srcc) << "</figcaption></figure>";
  return o.str();
}

// Calibration: pairs binned by predicted score (10 bins); mean MOS per bin against the bin's mean prediction.
std::string calibration(const std::vector<std::pair<std::string, EvalOutput>>& res) {
  const double S = 300, m = 36;
  auto P = [&](double v, bool y) { return y ? S - m - (S - 2 * m) * v : m + (S - 2 * m) * v; };
  std::ostringstream o;
  o << "<figure class=\"chart\"><svg role=\"img\" aria-label=\"calibration plot\" width=\"" << S + 150 << "\" height=\""
    << S << "\" viewBox=\"0 0 " << S + 150 << " " << S << "\">";
  o << "<rect x=\"" << m << "\" y=\"" << m << "\" width=\"" << S - 2 * m << "\" height=\"" << S - 2 * m
    << "\" class=\"frame\"/><line x1=\"" << P(0, false) << "\" y1=\"" << P(0, true) << "\" x2=\"" << P(1, false)
    << "\" y2=\"" << P(1, true) << "\" class=\"diag\"/>";
  for (size_t k = 0; k < res.size(); ++k) {
    std::vector<double> sp(10, 0), sm(10, 0), n(10, 0);
    for (const auto& p : res[k].second.pairs) {
      size_t b = size_t(std::clamp(int(p.pred * 10), 0, 9));
      sp[b] += p.pred, sm[b] += p.mos, n[b] += 1;
    }
    std::string pts;
    for (size_t b = 0; b < 10; ++b)
      if (n[b] >= 5) pts += fmt(P(sp[b] / n[b], false), 1) + "," + fmt(P(sm[b] / n[b], true), 1) + " ";
    o << "<polyline points=\"" << pts << "\" fill=\"none\" stroke=\"" << colour(k) << "\" stroke-width=\"2\"/>";
    o << "<text x=\"" << S + 4 << "\" y=\"" << m + 16.0 * double(k) << "\" style=\"fill:" << colour(k)
      << "\" class=\"leg\">" << esc(res[k].first) << "</text>";
  }
  o << "<text x=\"" << S / 2 << "\" y=\"" << S - 8 << "\" class=\"tick\">mean predicted (bins of 0.1)</text>";
  o << "<text x=\"12\" y=\"" << S / 2 << "\" class=\"tick\" transform=\"rotate(-90 12 " << S / 2
    << ")\">mean MOS</text></svg><figcaption>Calibration: a calibrated judge follows the diagonal (bins with at "
       "least 5 pairs).</figcaption></figure>";
  return o.str();
}

std::string ci_cell(double v, const EvalReport& r, const std::string& key) {
  auto it = r.ci95.find(key);
  std::string s = fmt(v);
  if (it != r.ci95.end()) s += " <span class=\"ci\">[" + fmt(it->second.lo) + ", " + fmt(it->second.hi) + "]</span>";
  return s;
}

}  // namespace

ReportRun parse_run_spec(const std::string& spec) {
  ReportRun r;
  auto eq = spec.find('=');
  std::string path = eq == std::string::npos ? spec : spec.substr(eq + 1);
  if (path.empty()) fail_usage("report: --runs expects NAME=PATH or PATH, found '" + spec + "'");
  r.model = is_dir(path) ? path + "/model.mpjc" : path;
  if (eq != std::string::npos) {
    r.name = spec.substr(0, eq);
  } else {
    // The run folder's name: the folder itself, or the one holding the checkpoint.
    std::string p = is_dir(path) ? path : std::filesystem::path(path).parent_path().string();
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    r.name = p.empty() ? path : std::filesystem::path(p).filename().string();
  }
  if (r.name.empty()) fail_usage("report: a run needs a name, found '" + spec + "'");
  return r;
}

ReportSummary write_report(const ReportOptions& opt) {
  if (opt.runs.empty()) fail_usage("report: expected at least one run (--runs NAME=PATH ...)");
  ReportSummary sum;
  sum.out = opt.out;
  for (const auto& run : opt.runs) {
    EvalOptions eo;
    eo.model = run.model, eo.data = opt.data, eo.split = opt.split, eo.bootstrap = opt.bootstrap, eo.seed = opt.seed;
    eo.features = opt.features, eo.feature_threads = opt.feature_threads;
    sum.results.emplace_back(run.name, evaluate_model(eo));
  }
  const auto& res = sum.results;
  for (size_t k = 1; k < res.size(); ++k)
    sum.vs_first.push_back(paired_difference(res[0].second.pairs, res[0].second.prefs, res[k].second.pairs,
                                             res[k].second.prefs, opt.bootstrap, opt.seed));
  std::ostringstream h;
  h << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mpjudge report: " << esc(opt.split)
    << " split</title><style>"
       "body{font:15px/1.45 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:1.5rem;max-width:80rem}"
       "table{border-collapse:collapse;margin:1rem 0}th,td{border-bottom:1px solid #ccc;padding:.25rem "
       ".7rem;text-align:right}"
       "th:first-child,td:first-child{text-align:left}.ci{color:#555;font-size:.85em}"
       ".charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{margin:0}svg text{font:11px system-ui,sans-serif;fill:#333}"
       "svg .t{font-weight:600;font-size:12px}svg .lab{text-anchor:end}svg .tick{text-anchor:middle}"
       "svg .grid{stroke:#e3e3e3}svg .ci{stroke:#111;stroke-width:2}svg .frame{fill:none;stroke:#999}"
       "svg .diag{stroke:#999;stroke-dasharray:4 "
       "3}.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:1rem}"
       ".gallery img{width:100%;display:block}.gallery figcaption{font-size:.85em}"
       "</style></head><body>";
  h << "<h1>mpjudge evaluation report</h1><p>Dataset <code>" << esc(opt.data) << "</code>, split <b>" << esc(opt.split)
    << "</b>. Intervals are bootstrap 95% (" << opt.bootstrap
    << " resamples of whole music pieces). PLCC is computed after the 4-parameter logistic mapping.</p>";
  // The table.
  h << "<h2>Comparison</h2><table id=\"comparison\"><thead><tr><th>model</th><th>SRCC</th><th>PLCC</th><th>KRCC</th>"
       "<th>MAE</th><th>RMSE</th><th>pref. acc.</th><th>pairs</th><th>prefs</th></tr></thead><tbody>";
  for (const auto& [name, r] : res) {
    const Metrics& m = r.report.point;
    h << "<tr><td>" << esc(name) << "</td><td>" << ci_cell(m.srcc, r.report, "srcc") << "</td><td>"
      << ci_cell(m.plcc, r.report, "plcc") << "</td><td>" << ci_cell(m.krcc, r.report, "krcc") << "</td><td>"
      << ci_cell(m.mae, r.report, "mae") << "</td><td>" << fmt(m.rmse) << "</td><td>"
      << ci_cell(m.pref_acc, r.report, "pref_acc") << "</td><td>" << m.n_pairs << "</td><td>" << m.n_prefs
      << "</td></tr>";
  }
  if (!res.empty() && res.front().second.ceiling)
    h << "<tr class=\"ceiling\"><td>single-rater ceiling (panel)</td><td>" << fmt(*res.front().second.ceiling)
      << "</td><td colspan=\"7\" style=\"text-align:left\">mean SRCC of each rater against the other raters, same "
         "pairs</td></tr>";
  h << "</tbody></table>";
  if (res.size() > 1) {
    // Paired differences: overlapping intervals in the table above do not mean "no difference", because
    // both judges are scored on the same pairs; these intervals are of the difference itself.
    h << "<h2>Paired differences against " << esc(res[0].first)
      << "</h2><p>Each round of the bootstrap resamples the same music pieces for both models; the interval is "
         "that of the difference. Positive = <b>"
      << esc(res[0].first)
      << "</b> is better (for MAE: lower). <i>beyond</i> = the whole interval is above zero.</p>"
         "<table id=\"paired\"><thead><tr><th>against</th><th>Δ SRCC</th><th>Δ pref. acc.</th><th>Δ MAE</th>"
         "</tr></thead><tbody>";
    auto cell = [](const std::map<std::string, PairedDifference>& d, const char* key) {
      auto it = d.find(key);
      if (it == d.end()) return std::string("–");
      const PairedDifference& x = it->second;
      return (x.point >= 0 ? "+" : "") + fmt(x.point) + " <span class=\"ci\">[" + fmt_bound(x.ci95.lo) + ", " +
             fmt_bound(x.ci95.hi) + "]</span>" + (x.ci95.lo > 0 ? " <b>beyond</b>" : "");
    };
    for (size_t k = 1; k < res.size(); ++k)
      h << "<tr><td>" << esc(res[k].first) << "</td><td>" << cell(sum.vs_first[k - 1], "srcc") << "</td><td>"
        << cell(sum.vs_first[k - 1], "pref_acc") << "</td><td>" << cell(sum.vs_first[k - 1], "mae") << "</td></tr>";
    h << "</tbody></table>";
  }
  h << "<h2>Metrics</h2><div class=\"charts\">" << bar_chart("SRCC", "srcc", res, false)
    << bar_chart("PLCC", "plcc", res, false) << bar_chart("preference accuracy", "pref_acc", res, false)
    << bar_chart("MAE", "mae", res, true) << "</div>";
  h << "<h2>Predicted vs panel mean</h2><div class=\"charts\">";
  for (size_t k = 0; k < res.size(); ++k) h << scatter(res[k].first, res[k].second, k);
  h << "</div><h2>Calibration</h2>" << calibration(res);

  // Gallery: the first run that has modulation maps; the songs with the most pairs; each song's best and
  // worst painting by that model's score.
  h << "<h2>Modulation maps: best and worst pairs</h2>";
  size_t with_maps = res.size();
  const std::string tmp = opt.out + ".maps.tmp.png";
  for (size_t k = 0; k < res.size() && with_maps == res.size(); ++k) {
    Scorer sc(opt.runs[k].model, opt.features);
    std::map<std::string, std::vector<const ScoredPair*>> by_song;
    for (const auto& p : res[k].second.pairs) by_song[p.music].push_back(&p);
    std::vector<std::pair<size_t, std::string>> songs;
    for (const auto& [m, v] : by_song) songs.push_back({v.size(), m});
    std::sort(songs.begin(), songs.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::ostringstream g;
    bool any = false;
    std::string block;  // the map shown: the first modulated block
    for (size_t s = 0; s < songs.size() && s < size_t(opt.gallery_songs); ++s) {
      auto v = by_song[songs[s].second];
      std::sort(v.begin(), v.end(), [](const ScoredPair* a, const ScoredPair* b) { return a->pred > b->pred; });
      for (const ScoredPair* p : {v.front(), v.back()}) {
        ScoreResult r = sc.score(opt.data + "/" + p->music, opt.data + "/" + p->painting);
        if (r.maps.empty()) break;
        block = r.maps.front().layer + " (" + std::to_string(r.maps.front().height) + "×" +
                std::to_string(r.maps.front().width) + ")";
        write_overlay_png(opt.data + "/" + p->painting, r.maps.front(), tmp, 0.55);
        std::vector<uint8_t> png = read_file(tmp, 64 << 20);
        unlink(tmp.c_str());
        g << "<figure><img alt=\"modulation map of " << esc(p->painting) << " for " << esc(p->music)
          << "\" src=\"data:image/png;base64," << base64(png) << "\"><figcaption><b>"
          << (p == v.front() ? "best" : "worst") << "</b> for " << esc(p->music) << "<br>" << esc(p->painting)
          << "<br>predicted " << fmt(p->pred) << ", panel " << fmt(p->mos) << "</figcaption></figure>";
        any = true;
        ++sum.gallery_images;
      }
    }
    if (any) {
      with_maps = k;
      h << "<p>Model <b>" << esc(res[k].first) << "</b>, first modulated block, " << esc(block)
        << ": brighter = the music changes the painting's features more there.</p>"
           "<div class=\"gallery\" id=\"gallery\">"
        << g.str() << "</div>";
    }
  }
  if (with_maps == res.size()) h << "<p>No run has modulation maps (only MPJudge models with MAN do).</p>";
  h << "<p class=\"ci\">Written by mpjudge " << version() << ".</p></body></html>\n";
  write_file_atomic(opt.out, h.str());
  return sum;
}

}  // namespace mpjudge
