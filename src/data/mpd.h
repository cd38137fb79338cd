// The MPD dataset format (docs/mpd-format.md): reading, validation with every problem reported by file
// and row, agreement statistics, leakage-free splits, and the authors' JSON list import/export.
// Torch-free: the training code reads datasets through this module.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/stats.h"

namespace mpjudge {

constexpr int kMpdVersion = 1;

struct MpdPair {
  std::string id, music, painting;  // media paths relative to the dataset root
  double score = 0;                 // aggregated coherence in [0, 1]
  std::string music_source, painting_source;
  int row = 0;  // 1-based data row in pairs.csv (header excluded)
};

struct MpdRating {
  std::string pair_id, rater;
  double rating = 0;  // on the dataset's rating scale
  int row = 0;
};

struct MpdPreference {
  std::string id, music, chosen, rejected;
  int n_raters = 0;
  double agreement = 0;  // share of raters who chose `chosen`, in [0.5, 1]
  int row = 0;
};

// Optional media table (media.csv): one row per music clip or painting. `origin` groups variations of
// one original (a re-rendered MIDI, a recoloured painting): splits keep a group together. valence and
// arousal in [-1, 1] (human labels or documented estimates, see va_from) feed the emotion baselines.
struct MpdMedia {
  std::string path, kind;  // kind: "music" | "painting"
  std::string source, origin, variant;
  std::optional<double> valence, arousal;
  std::string va_from;  // "human", "estimate", "human+variation", "listeners", ...
  int row = 0;
  std::string music_kind;  // music only: "recorded" | "rendered" (a MIDI render); empty when unknown
};

struct MpdDataset {
  std::string root;
  std::string name;
  int version = 0;
  double scale_min = 1, scale_max = 5;
  std::vector<MpdPair> pairs;
  std::vector<MpdRating> ratings;
  std::vector<MpdPreference> preferences;
  std::map<std::string, std::string> split;  // pair_id -> "train" | "val" | "test" | "test_style" |
                                             // "test_music" | "excluded"
  std::vector<MpdMedia> media;               // empty when the dataset has no media.csv
};

struct MpdProblem {
  std::string file;  // relative to the root
  int row = 0;       // 0 = the file as a whole
  std::string message;
  std::string str() const;  // "file:row: message"
};

// Reads what can be read; every problem goes into `problems` (never throws for dataset content).
MpdDataset read_mpd(const std::string& root, std::vector<MpdProblem>& problems);
// read_mpd for a dataset that must be clean: Error(Input) with its first problem (and how many more),
// hinting at `mpjudge data validate`.
MpdDataset read_mpd_checked(const std::string& root);
// read_mpd plus the checks that need the whole dataset: media exist and are the right kind, paths stay
// inside the root, duplicates, double ratings, score vs ratings, contradicting preferences, split ids.
std::vector<MpdProblem> validate_mpd(const std::string& root);

// Writes a dataset (mpd.json, pairs.csv, ratings.csv, preferences.csv, media.csv when present)
// atomically per file. Media are not copied. split.json is written by write_split.
void write_mpd(const MpdDataset& d, const std::string& root);

// The authors' JSON list: [{"image_path", "audio_path", "score"}].
MpdDataset import_authors_json(const std::string& json_file, const std::string& out_root);
void export_authors_json(const MpdDataset& d, const std::string& json_file);

// ---- agreement -----------------------------------------------------------------------------------
// units x raters with missing values as NaN.
double krippendorff_alpha_interval(const std::vector<std::vector<double>>& units);
// Two-way random effects, average of k raters (Shrout & Fleiss 1979), on complete units only.
std::optional<double> icc_2k(const std::vector<std::vector<double>>& units);
std::optional<double> icc_21(const std::vector<std::vector<double>>& units);

struct MpdStats {
  size_t pairs = 0, musics = 0, paintings = 0, raters = 0, ratings = 0, preferences = 0;
  std::vector<int> histogram;  // 10 bins over [0, 1]
  std::optional<double> alpha, icc2k, icc21;
  size_t icc_units = 0;
  std::map<std::string, double> rater_srcc;  // each rater vs the mean of the others
  std::optional<double> ceiling;             // mean of rater_srcc
  // With valence/arousal for both sides of every pair (media.csv): how much of the mean score an
  // emotion-only predictor explains (least squares on V/A of both sides, their products, distances and
  // squares): R^2, its share of the reliable variance (R^2 / ICC(2,k)), and its SRCC with the score.
  std::optional<double> emotion_r2, emotion_share_of_reliable, emotion_srcc;
  size_t emotion_pairs = 0;
  // Music by kind (media.csv music_kind: recorded / rendered) and by source: clips and scored pairs.
  struct Count {
    size_t clips = 0, pairs = 0;
    std::optional<double> emotion_r2;  // the emotion-only fit within these pairs (>= 50 of them)
  };
  std::map<std::string, Count> music_by_kind, music_by_source;
};
MpdStats mpd_stats(const MpdDataset& d);

// The split of each music piece and painting, from the split of its pairs (pairs that are "excluded" or
// have no split are left out), and the split a preference lies within: its music and both paintings in
// the same one ("" when not).
struct MediaSplitIndex {
  std::map<std::string, std::string> music, painting;
};
MediaSplitIndex split_of_media(const MpdDataset& d);
std::string preference_split(const MpdPreference& q, const MediaSplitIndex& index);

// ---- splits --------------------------------------------------------------------------------------
struct SplitOptions {
  uint64_t seed = 1;
  double val = 0.1, test = 0.1;               // shares of music pieces and of paintings
  std::string style_key = "painting_source";  // held out as test_style: "painting_source" | "music_source" | ""
  double style_share = 0.1;                   // share of style groups held out
  // Media of one group (media.csv `origin`, e.g. variations of one painting) always share a split.
  bool group_by_origin = true;
  // Held-out music: every clip of these music sources is test_music, paired with paintings that draw
  // test_music with test_music_share and appear nowhere else (the mirror of test_style).
  std::vector<std::string> test_music_sources;
  double test_music_share = 0.1;
  // Cut val/test quotas within each music source, so every source (e.g. each Emotify genre) is in
  // train, val and test: all sources, or only those in music_strata (the others share one stratum, cut
  // in the same seeded order as without strata).
  bool stratify_music_by_source = false;
  std::set<std::string> music_strata;
};
// Assigns every pair: music pieces and paintings each get a split; a pair keeps its split only when
// both agree (else "excluded"), so no music piece or painting appears in two splits. Deterministic by seed.
std::map<std::string, std::string> make_split(const MpdDataset& d, const SplitOptions& opt);
// The split make_split gives each music piece and painting (by media path).
struct MediaSplits {
  std::map<std::string, std::string> music, painting;
};
MediaSplits media_splits(const MpdDataset& d, const SplitOptions& opt);
// Writes root/split.json atomically (version, seed, method, options, counts, pairs).
void write_split(const std::string& root, const std::map<std::string, std::string>& split, const SplitOptions& opt,
                 const std::string& method = "");

}  // namespace mpjudge
