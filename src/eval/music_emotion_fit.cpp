// See music_emotion_fit.h and docs/emotion.md.
#include "eval/music_emotion_fit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <regex>
#include <set>

#include "audio/music_emotion.h"
#include "common/error.h"
#include "common/files.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "corpus/panel.h"
#include "data/csv.h"
#include "data/mpd.h"
#include "model/checkpoint.h"
#include "model/inputs.h"

namespace mpjudge {
namespace {

struct Clip {
  std::string path, source, group;
  double valence = 0, arousal = 0;
  bool train_only = false;
  std::vector<double> features, embedding;
  double panel_v = 0, panel_a = 0;
};

// Excerpt groups: one per origin, except that vgmidi's "<piece>_Happy_0", "<piece>_Sad_1", "<piece>_2" are
// variations or phrases of one piece.
std::string group_of(const MpdMedia& m) {
  if (m.source != "vgmidi") return m.origin;
  static const std::regex tail("(_(Happy|Sad))?(_[0-9]+)?$");
  return std::regex_replace(m.origin, tail, "");
}

// Ridge regression on standardised columns: w = (X'X + lambda n I)^-1 X'y, intercept = mean(y).
struct Ridge {
  std::vector<double> mean, scale, w;
  double b = 0;
  double predict(const std::vector<double>& x) const {
    double y = b;
    for (size_t j = 0; j < x.size(); ++j) y += w[j] * (x[j] - mean[j]) / scale[j];
    return y;
  }
};

Ridge fit_ridge(const std::vector<const std::vector<double>*>& X, const std::vector<double>& y, double lambda) {
  const size_t n = X.size(), p = X[0]->size();
  Ridge r;
  r.mean.assign(p, 0), r.scale.assign(p, 0), r.w.assign(p, 0);
  for (const auto* x : X)
    for (size_t j = 0; j < p; ++j) r.mean[j] += (*x)[j] / double(n);
  for (const auto* x : X)
    for (size_t j = 0; j < p; ++j) r.scale[j] += std::pow((*x)[j] - r.mean[j], 2) / double(n);
  for (double& s : r.scale) s = s > 1e-12 ? std::sqrt(s) : 1.0;
  r.b = std::accumulate(y.begin(), y.end(), 0.0) / double(n);
  std::vector<double> A(p * p, 0.0), c(p, 0.0), z(p);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < p; ++j) z[j] = ((*X[i])[j] - r.mean[j]) / r.scale[j];
    for (size_t j = 0; j < p; ++j) {
      c[j] += z[j] * (y[i] - r.b);
      for (size_t k = 0; k <= j; ++k) A[j * p + k] += z[j] * z[k];
    }
  }
  for (size_t j = 0; j < p; ++j) A[j * p + j] += lambda * double(n);
  // Cholesky A = L L' (lower triangle in place), then two triangular solves.
  for (size_t j = 0; j < p; ++j) {
    double s = A[j * p + j];
    for (size_t k = 0; k < j; ++k) s -= A[j * p + k] * A[j * p + k];
    A[j * p + j] = std::sqrt(std::max(s, 1e-12));
    for (size_t i = j + 1; i < p; ++i) {
      double t = A[i * p + j];
      for (size_t k = 0; k < j; ++k) t -= A[i * p + k] * A[j * p + k];
      A[i * p + j] = t / A[j * p + j];
    }
  }
  for (size_t i = 0; i < p; ++i) {
    double t = c[i];
    for (size_t k = 0; k < i; ++k) t -= A[i * p + k] * z[k];
    z[i] = t / A[i * p + i];
  }
  for (size_t i = p; i-- > 0;) {
    double t = z[i];
    for (size_t k = i + 1; k < p; ++k) t -= A[k * p + i] * r.w[k];
    r.w[i] = t / A[i * p + i];
  }
  return r;
}

// Folds over groups, seeded.
std::vector<int> group_folds(const std::vector<std::string>& groups, int folds, uint64_t seed) {
  std::vector<std::string> uniq(groups.begin(), groups.end());
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  std::mt19937_64 rng(seed);
  std::shuffle(uniq.begin(), uniq.end(), rng);
  std::map<std::string, int> fold;
  for (size_t i = 0; i < uniq.size(); ++i) fold[uniq[i]] = int(i % size_t(folds));
  std::vector<int> out;
  for (const auto& g : groups) out.push_back(fold[g]);
  return out;
}

const double kLambdas[] = {0.01, 0.03, 0.1, 0.3, 1, 3, 10};

double pick_lambda(const std::vector<const std::vector<double>*>& X, const std::vector<double>& y,
                   const std::vector<std::string>& groups, uint64_t seed) {
  const std::vector<int> f = group_folds(groups, 3, seed + 17);
  double best = 1, best_sse = INFINITY;
  for (double lam : kLambdas) {
    double sse = 0;
    for (int k = 0; k < 3; ++k) {
      std::vector<const std::vector<double>*> tx;
      std::vector<double> ty;
      for (size_t i = 0; i < X.size(); ++i)
        if (f[i] != k) tx.push_back(X[i]), ty.push_back(y[i]);
      if (tx.size() < 3) continue;
      const Ridge r = fit_ridge(tx, ty, lam);
      for (size_t i = 0; i < X.size(); ++i)
        if (f[i] == k) sse += std::pow(r.predict(*X[i]) - y[i], 2);
    }
    if (sse < best_sse) best_sse = sse, best = lam;
  }
  return best;
}

// One ridge model per fold of a grouped CV, each fitted on the other folds (lambda picked by an inner grouped
// CV); fold[i] is the fold of row i.
struct FoldModels {
  std::vector<int> fold;
  std::vector<Ridge> models;
};
FoldModels fit_folds(const std::vector<const std::vector<double>*>& X, const std::vector<double>& y,
                     const std::vector<std::string>& groups, int folds, uint64_t seed) {
  FoldModels fm;
  fm.fold = group_folds(groups, folds, seed);
  for (int k = 0; k < folds; ++k) {
    std::vector<const std::vector<double>*> tx;
    std::vector<double> ty;
    std::vector<std::string> tg;
    for (size_t i = 0; i < X.size(); ++i)
      if (fm.fold[i] != k) tx.push_back(X[i]), ty.push_back(y[i]), tg.push_back(groups[i]);
    fm.models.push_back(fit_ridge(tx, ty, pick_lambda(tx, ty, tg, seed)));
  }
  return fm;
}

// Out-of-fold predictions of a ridge model for one target, clamped to the labels' -1..1.
std::vector<double> cross_predict(const std::vector<const std::vector<double>*>& X, const std::vector<double>& y,
                                  const std::vector<std::string>& groups, int folds, uint64_t seed) {
  const FoldModels fm = fit_folds(X, y, groups, folds, seed);
  std::vector<double> pred(X.size(), 0.0);
  for (size_t i = 0; i < X.size(); ++i) pred[i] = std::clamp(fm.models[size_t(fm.fold[i])].predict(*X[i]), -1.0, 1.0);
  return pred;
}

struct Fit {
  double r2 = 0, sign = 0, r = 0;
  int n = 0;
};
Fit fit_of(const std::vector<double>& truth, const std::vector<double>& pred) {
  Fit f;
  f.n = int(truth.size());
  if (truth.empty()) return f;
  double mt = 0, mp = 0;
  for (size_t i = 0; i < truth.size(); ++i) mt += truth[i] / f.n, mp += pred[i] / f.n;
  double sse = 0, sst = 0, sxy = 0, sxx = 0, syy = 0;
  int signs = 0, signed_n = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    sse += std::pow(truth[i] - pred[i], 2), sst += std::pow(truth[i] - mt, 2);
    sxy += (truth[i] - mt) * (pred[i] - mp), sxx += std::pow(truth[i] - mt, 2), syy += std::pow(pred[i] - mp, 2);
    if (truth[i] != 0) ++signed_n, signs += (truth[i] > 0) == (pred[i] > 0);
  }
  f.r2 = sst > 0 ? 1 - sse / sst : 0;
  f.r = sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0;
  f.sign = signed_n ? double(signs) / signed_n : 0;
  return f;
}

}  // namespace

nlohmann::json music_emotion_study(const EmotionStudyOptions& opt) {
  const MpdDataset d = read_mpd_checked(opt.data);
  // Music in train pairs only (the final fit must not see val/test music: the judge reads the estimate).
  std::map<std::string, std::set<std::string>> splits_of;
  for (const auto& p : d.pairs) {
    auto it = d.split.find(p.id);
    splits_of[p.music].insert(it == d.split.end() ? "" : it->second);
  }
  std::vector<Clip> clips;
  for (const auto& m : d.media) {
    if (m.kind != "music" || !m.valence || !m.arousal || (m.va_from != "listeners" && m.va_from != "human")) continue;
    Clip c;
    c.path = m.path, c.source = m.source, c.group = group_of(m);
    c.valence = *m.valence, c.arousal = *m.arousal;
    const auto& s = splits_of[m.path];
    c.train_only = s.size() == 1 && *s.begin() == "train";
    clips.push_back(std::move(c));
  }
  if (clips.size() < size_t(2 * opt.folds))
    fail_input(opt.data + "/media.csv",
               "at least " + std::to_string(2 * opt.folds) +
                   " music rows with human valence/arousal (va_from listeners or human)",
               std::to_string(clips.size()));
  // --write-cross-fit also estimates the unlabelled train clips of a labelled clip's excerpt group (vgmidi's
  // Happy/Sad variations): their audio is that clip's, so the full fit has heard them too.
  std::vector<Clip> kin;
  if (!opt.write_cross_fit.empty()) {
    std::set<std::string> fit_groups;
    for (const auto& c : clips)
      if (c.train_only) fit_groups.insert(c.group);
    std::set<std::string> labelled;
    for (const auto& c : clips) labelled.insert(c.path);
    for (const auto& m : d.media) {
      if (m.kind != "music" || labelled.count(m.path) || !fit_groups.count(group_of(m))) continue;
      const auto& s = splits_of[m.path];
      if (s.size() != 1 || *s.begin() != "train") continue;
      Clip c;
      c.path = m.path, c.source = m.source, c.group = group_of(m), c.train_only = true;
      kin.push_back(std::move(c));
    }
  }
  {
    std::vector<Clip*> all;
    for (auto& c : clips) all.push_back(&c);
    for (auto& c : kin) all.push_back(&c);
    Progress bar("emotion: features", all.size(), opt.quiet);
    parallel_for(all.size(), opt.threads, [&](size_t i, int) {
      AudioConfig ac;
      ac.threads = 1;
      const std::string file = (std::filesystem::path(opt.data) / all[i]->path).string();
      Pcm pcm = load_audio(file, ac);
      if (pcm.duration_s() > ModelInputs::kClipSeconds)  // what the judge hears: the middle 30 s
        pcm.samples = std::vector<float>(
            pcm.samples.begin() + long((pcm.samples.size() - size_t(ModelInputs::kClipSeconds * pcm.sample_rate)) / 2),
            pcm.samples.begin() + long((pcm.samples.size() + size_t(ModelInputs::kClipSeconds * pcm.sample_rate)) / 2));
      describe_pcm_features(pcm, file, DescriptorVersion::V2, &all[i]->features);
      const PanelMusic pm = panel_music(describe_pcm(pcm, file, DescriptorVersion::V1));
      all[i]->panel_v = pm.valence, all[i]->panel_a = pm.arousal;
      bar.tick();
    });
  }
  if (!opt.model.empty()) {
    torch::NoGradGuard no_grad;
    const Checkpoint ck = load_checkpoint(opt.model);
    if (ck.arch != "mpjudge" && ck.arch != "mpjudge-ensemble")
      throw Error(ErrorKind::Model, opt.model +
                                        ": expected a default-architecture checkpoint (its music encoder is "
                                        "read out), found arch " +
                                        ck.arch);
    MPJudgeEnsemble net = mpjudge_ensemble_from_checkpoint(ck, opt.model, shared_mobilenet());
    net.eval();
    FeatureOptions fo;
    fo.cache_dir = opt.cache_dir;
    ModelInputs in(fo, net.config());
    Progress bar("emotion: music encoder", clips.size(), opt.quiet);
    for (auto& c : clips) {
      torch::Tensor e =
          net.members.front()->music->forward(in.music((std::filesystem::path(opt.data) / c.path).string()));
      e = e.reshape({-1}).to(torch::kDouble).contiguous();
      c.embedding.assign(e.data_ptr<double>(), e.data_ptr<double>() + e.numel());
      bar.tick();
    }
  }

  std::vector<const std::vector<double>*> X, E;
  std::vector<double> yv, ya;
  std::vector<std::string> groups;
  for (const auto& c : clips) {
    X.push_back(&c.features), E.push_back(&c.embedding), yv.push_back(c.valence), ya.push_back(c.arousal);
    groups.push_back(c.group);
  }
  struct Method {
    std::string name;
    std::vector<double> v, a;
  };
  std::vector<Method> methods;
  methods.push_back({"estimator (ridge, grouped CV)", cross_predict(X, yv, groups, opt.folds, opt.seed),
                     cross_predict(X, ya, groups, opt.folds, opt.seed)});
  Method panel{"panel formula (descriptors v1)", {}, {}};
  for (const auto& c : clips) panel.v.push_back(c.panel_v), panel.a.push_back(c.panel_a);
  methods.push_back(panel);
  if (!opt.model.empty())
    methods.push_back({"music encoder read-out (ridge, grouped CV)", cross_predict(E, yv, groups, opt.folds, opt.seed),
                       cross_predict(E, ya, groups, opt.folds, opt.seed)});

  std::map<std::string, std::vector<size_t>> subsets;
  for (size_t i = 0; i < clips.size(); ++i) {
    subsets["all"].push_back(i);
    subsets[clips[i].source].push_back(i);
    if (clips[i].source.rfind("emotify", 0) == 0) subsets["emotify (all genres)"].push_back(i);
  }
  nlohmann::json out = {{"clips", clips.size()},
                        {"folds", opt.folds},
                        {"seed", opt.seed},
                        {"groups", std::set<std::string>(groups.begin(), groups.end()).size()}};
  if (opt.tables)
    std::printf("%zu labelled clips in %zu excerpt groups, %d-fold CV grouped by excerpt\n\n", clips.size(),
                size_t(out["groups"]), opt.folds);
  if (opt.tables)
    std::printf(
        "| subset | n | method | valence R^2 | valence sign acc | valence r | arousal R^2 | arousal sign acc | arousal "
        "r |\n");
  if (opt.tables) std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& [name, idx] : subsets)
    for (const auto& m : methods) {
      std::vector<double> tv, ta, pv, pa;
      for (size_t i : idx) tv.push_back(yv[i]), ta.push_back(ya[i]), pv.push_back(m.v[i]), pa.push_back(m.a[i]);
      const Fit fv = fit_of(tv, pv), fa = fit_of(ta, pa);
      if (opt.tables)
        std::printf("| %s | %d | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", name.c_str(), fv.n, m.name.c_str(),
                    fv.r2, fv.sign, fv.r, fa.r2, fa.sign, fa.r);
      out["subsets"][name][m.name] = {{"n", fv.n},
                                      {"valence", {{"r2", fv.r2}, {"sign_acc", fv.sign}, {"r", fv.r}}},
                                      {"arousal", {{"r2", fa.r2}, {"sign_acc", fa.sign}, {"r", fa.r}}}};
    }

  // The shipped estimator's training set: the labelled clips of train pairs only.
  std::vector<const std::vector<double>*> tx;
  std::vector<double> tv, ta;
  std::vector<std::string> tg;
  std::vector<const Clip*> tc;
  for (size_t i = 0; i < clips.size(); ++i)
    if (clips[i].train_only)
      tx.push_back(X[i]), tv.push_back(yv[i]), ta.push_back(ya[i]), tg.push_back(groups[i]), tc.push_back(&clips[i]);
  if ((!opt.write_weights.empty() || !opt.write_cross_fit.empty()) && tx.size() < size_t(std::max(10, 2 * opt.folds)))
    fail_input(opt.data + "/split.json",
               "at least " + std::to_string(std::max(10, 2 * opt.folds)) + " labelled clips only in train pairs",
               std::to_string(tx.size()));

  if (!opt.write_cross_fit.empty()) {
    // Each train clip estimated by the fold model that did not see its excerpt group.
    const FoldModels fv = fit_folds(tx, tv, tg, opt.folds, opt.seed), fa = fit_folds(tx, ta, tg, opt.folds, opt.seed);
    std::map<std::string, int> fold_of_group;
    for (size_t i = 0; i < tg.size(); ++i) fold_of_group[tg[i]] = fv.fold[i];
    std::string csv = "music,valence,arousal,fold\n";
    auto row = [&](const Clip& c) {
      const int k = fold_of_group.at(c.group);
      char line[64];
      std::snprintf(line, sizeof line, ",%.6f,%.6f,%d\n",
                    std::clamp(fv.models[size_t(k)].predict(c.features), -1.0, 1.0),
                    std::clamp(fa.models[size_t(k)].predict(c.features), -1.0, 1.0), k);
      csv += csv_field(c.path) + line;
    };
    for (const Clip* c : tc) row(*c);
    for (const Clip& c : kin) row(c);
    write_file_atomic(opt.write_cross_fit, csv.data(), csv.size());
    out["cross_fit"] = {{"file", opt.write_cross_fit},
                        {"clips", tc.size() + kin.size()},
                        {"labelled", tc.size()},
                        {"variations", kin.size()},
                        {"folds", opt.folds}};
    if (opt.tables)
      std::printf("\nwrote %s: out-of-fold estimates of %zu train clips (%zu labelled, %zu of their excerpt groups)\n",
                  opt.write_cross_fit.c_str(), tc.size() + kin.size(), tc.size(), kin.size());
  }

  if (!opt.write_weights.empty()) {
    const double lv = pick_lambda(tx, tv, tg, opt.seed), la = pick_lambda(tx, ta, tg, opt.seed);
    const Ridge rv = fit_ridge(tx, tv, lv), ra = fit_ridge(tx, ta, la);
    LinearEmotionModel m;
    char ver[200];
    std::snprintf(ver, sizeof ver, "mpjudge-va-1 (ridge on %zu audio features, %zu train clips of %s)", rv.mean.size(),
                  tx.size(), d.name.c_str());
    m.version = ver;
    m.mean = rv.mean, m.scale = rv.scale, m.w_valence = rv.w, m.b_valence = rv.b;
    // Both targets share the standardisation (the same X): fold arousal's weights onto it.
    m.w_arousal = ra.w, m.b_arousal = ra.b;
    char prov[200];
    std::snprintf(prov, sizeof prov, "lambda valence %g, arousal %g; seed %llu.", lv, la, (unsigned long long)opt.seed);
    const std::string inc = emotion_model_inc(m, prov);
    write_file_atomic(opt.write_weights, inc.data(), inc.size());
    out["weights"] = {{"file", opt.write_weights},
                      {"train_clips", tx.size()},
                      {"lambda_valence", lv},
                      {"lambda_arousal", la},
                      {"version", m.version}};
    if (opt.tables) std::printf("\nwrote %s: %s\n", opt.write_weights.c_str(), m.version.c_str());
  }
  return out;
}

}  // namespace mpjudge
