// JSON forms of results (see results_json.h).
#include "eval/results_json.h"

namespace mpjudge {

Json to_json(const Metrics& m) {
  return Json{{"srcc", json_number(m.srcc)}, {"plcc", json_number(m.plcc)}, {"krcc", json_number(m.krcc)},
              {"mae", json_number(m.mae)},   {"rmse", json_number(m.rmse)}, {"pref_acc", json_number(m.pref_acc)},
              {"n_pairs", m.n_pairs},        {"n_prefs", m.n_prefs}};
}

Json to_json(const EvalOutput& r, const std::string& model, const std::string& split) {
  Json out = to_json(r.report.point);
  Json ci = Json::object();
  for (const auto& [k, v] : r.report.ci95) ci[k] = {json_number(v.lo), json_number(v.hi)};
  out["ci95"] = ci;
  Json bm = Json::object(), bp = Json::object();
  for (const auto& [k, v] : r.report.by_music_source) bm[k] = to_json(v);
  for (const auto& [k, v] : r.report.by_painting_source) bp[k] = to_json(v);
  out["by_music_source"] = bm;
  out["by_painting_source"] = bp;
  out["human_ceiling"] = json_number(r.ceiling);
  out["model"] = model;
  out["split"] = split;
  return out;
}

Json to_json(const ReportSummary& rs) {
  Json runs = Json::array();
  for (size_t k = 0; k < rs.results.size(); ++k) {
    const auto& [name, r] = rs.results[k];
    Json run{
        {"name", name}, {"srcc", json_number(r.report.point.srcc)}, {"pref_acc", json_number(r.report.point.pref_acc)}};
    if (k > 0) {  // the first run's advantage over this one, paired bootstrap
      Json d = Json::object();
      for (const auto& [key, x] : rs.vs_first[k - 1])
        d[key] = {{"point", json_number(x.point)},
                  {"ci95", {json_number(x.ci95.lo), json_number(x.ci95.hi)}},
                  {"p", json_number(x.p_not_better)}};
      run["first_minus_this"] = d;
    }
    runs.push_back(run);
  }
  return Json{{"out", rs.out}, {"runs", runs}, {"gallery_images", rs.gallery_images}};
}

namespace {

Json counts_json(const std::map<std::string, MpdStats::Count>& by, bool r2) {
  Json j = Json::object();
  for (const auto& [k, c] : by) {
    j[k] = Json{{"clips", c.clips}, {"pairs", c.pairs}};
    if (r2) j[k]["emotion_only_r2"] = json_number(c.emotion_r2);
  }
  return j;
}

}  // namespace

Json to_json(const MpdStats& st) {
  Json hist = Json::array();
  for (int c : st.histogram) hist.push_back(c);
  Json raters;  // null when there are none
  for (const auto& [r, v] : st.rater_srcc) raters[r] = json_number(v);
  Json out{{"pairs", st.pairs},
           {"music_pieces", st.musics},
           {"paintings", st.paintings},
           {"raters", st.raters},
           {"ratings", st.ratings},
           {"preferences", st.preferences},
           {"score_histogram", hist},
           {"krippendorff_alpha_interval", json_number(st.alpha)},
           {"icc_2k", json_number(st.icc2k)},
           {"icc_21", json_number(st.icc21)},
           {"icc_complete_units", st.icc_units},
           {"rater_srcc_vs_others", raters},
           {"single_rater_ceiling", json_number(st.ceiling)}};
  if (st.emotion_r2)
    out["emotion_only"] = Json{{"pairs", st.emotion_pairs},
                               {"r2", json_number(st.emotion_r2)},
                               {"share_of_reliable_variance", json_number(st.emotion_share_of_reliable)},
                               {"srcc", json_number(st.emotion_srcc)}};
  out["music_by_kind"] = counts_json(st.music_by_kind, st.music_by_kind.size() > 1);
  out["music_by_source"] = counts_json(st.music_by_source, false);
  return out;
}

Json to_json(const CorpusBuildResult& r, const CorpusBuildOptions& opt) {
  const MpdStats st = mpd_stats(r.dataset);
  std::map<std::string, int> counts;
  for (const auto& [id, s] : r.dataset.split) counts[s]++;
  Json out{{"out", opt.out},
           {"corpus", corpus_version_name(r.version)},
           {"seed", opt.seed},
           {"debian_root", opt.debian_root},
           {"shared_data", opt.shared_data.empty() ? Json(nullptr) : Json(opt.shared_data)},
           {"music_clips", st.musics},
           {"paintings", st.paintings},
           {"pairs", st.pairs},
           {"preferences", st.preferences},
           {"music_by_source", r.music_by_source},
           {"paintings_by_source", r.paintings_by_source},
           {"split", counts},
           {"skipped", r.skipped.size()},
           {"music_by_kind", Json::object()},
           {"single_rater_ceiling", json_number(st.ceiling)},
           {"seconds", json_number(r.seconds, 1)}};
  for (const auto& [k, c] : st.music_by_kind) out["music_by_kind"][k] = Json{{"clips", c.clips}, {"pairs", c.pairs}};
  if (r.version >= 2)
    out["preference_check"] = {{"pairs", r.preference_check.pairs},
                               {"preference_agrees_with_latent", json_number(r.preference_check.preference_agrees)},
                               {"mean_score_agrees_with_latent", json_number(r.preference_check.mean_score_agrees)}};
  return out;
}

}  // namespace mpjudge
