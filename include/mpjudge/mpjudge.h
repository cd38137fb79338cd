// mpjudge — judge how faithfully a painting reflects the music that inspired it.
// The one public header of the mpjudge library: configs with defaults, result structs, entry points.
// It pulls in no torch headers; the CLI (tools/mpjudge.cpp) and the server are thin clients of it.
//
// Usage:
//   #include <mpjudge/mpjudge.h>
//   mpjudge::AudioConfig ac;                       // 22050 Hz mono, whole file
//   mpjudge::MusicDescriptors md = mpjudge::describe_music("song.ogg", ac);
//   mpjudge::PaintingDescriptors pd = mpjudge::describe_painting("painting.jpg");
//   printf("%.1f BPM, %s %s; lightness %.1f\n", md.tempo_bpm, md.key.c_str(), md.mode.c_str(), pd.lightness);
//
// Every function throws mpjudge::Error (see ErrorKind) and nothing else escapes the library.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpjudge {

// ---- errors ------------------------------------------------------------------------------------
// Each kind maps to one documented CLI exit code (docs/cli.md).
enum class ErrorKind {
  Usage = 2,     // bad command line or config value
  Input = 3,     // a music/painting/data file is missing, unreadable, corrupt, unsupported or degenerate
  Model = 4,     // a model/checkpoint/weights file is missing, foreign, truncated or mismatched
  Internal = 1,  // a bug or an unexpected library failure
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string hint = "")
      : std::runtime_error(message), kind_(kind), hint_(std::move(hint)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& hint() const { return hint_; }
  int exit_code() const { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
  std::string hint_;
};

// ---- audio ---------------------------------------------------------------------------------------
// libsoxr recipes. Medium (16-bit, ~96 dB) already exceeds torchaudio's default resampling filter.
enum class ResampleQuality { Medium, High, VeryHigh };

// How a music file becomes mono float PCM.
struct AudioConfig {
  int sample_rate = 22050;  // output rate in Hz
  double offset_s = 0.0;    // start of the clip within the track
  double duration_s = 0.0;  // clip length; 0 = to the end
  // > 0: only the middle middle_s seconds of the track (all of it when shorter), the samples
  // cut(whole, window_starts(whole.duration_s(), middle_s, 1)[0], middle_s) would hold, decoding (where
  // the stream can seek) and resampling little more than the window. Not combined with offset_s/duration_s.
  double middle_s = 0.0;
  ResampleQuality quality = ResampleQuality::Medium;
  int threads = 0;               // decoding threads for long compressed clips; 0 = up to 4 cores
  double max_duration_s = 3600;  // longer inputs are refused (Input error), protecting memory
};

struct Pcm {
  int sample_rate = 0;
  std::vector<float> samples;  // mono, [-1, 1] nominal
  double duration_s() const { return sample_rate ? double(samples.size()) / sample_rate : 0.0; }
};

// Decodes WAV/FLAC/OGG/Opus (libsndfile) and MP3 (libmpg123), detected by content, not by extension;
// downmixes to mono and resamples. Throws Error(Input) naming `path` for missing/corrupt/unsupported data.
Pcm load_audio(const std::string& path, const AudioConfig& cfg = {});
// Same from bytes in memory (uploads, fuzzing); `name` is used in error messages.
Pcm decode_audio(const std::vector<uint8_t>& bytes, const std::string& name, const AudioConfig& cfg = {});

// Resamples mono PCM to `sample_rate` with libsoxr (a copy when the rate is already right). Throws
// Error(Usage) for a rate outside 1000..384000 Hz or a PCM without a rate.
Pcm resample(const Pcm& pcm, int sample_rate, ResampleQuality quality = ResampleQuality::Medium);

// A list of windows over a long track: `count` windows of `length_s`, evenly spaced from start to end
// (a single window when the track is shorter). Returns the windows' start times in seconds.
std::vector<double> window_starts(double track_s, double length_s, int count);
// Cuts [start_s, start_s + length_s) out of `pcm`, zero-padding past the end.
Pcm cut(const Pcm& pcm, double start_s, double length_s);

// Mirrors torchaudio.transforms.MelSpectrogram (+ AmplitudeToDB when log is set); same defaults
// where torchaudio has them, except sample_rate, n_fft and n_mels chosen for music at 22.05 kHz.
struct MelConfig {
  int sample_rate = 22050;
  int n_fft = 2048;
  int win_length = 0;    // 0 = n_fft
  int hop_length = 512;  // 0 = win_length / 2 (torchaudio's default); 512 as in librosa
  double f_min = 0.0;
  double f_max = 0.0;  // 0 = sample_rate / 2
  int n_mels = 128;
  double power = 2.0;         // 1 = magnitude, 2 = power
  bool center = true;         // reflect-pad n_fft/2 on both sides
  bool normalized = false;    // divide by sqrt(sum(window^2))
  bool slaney_norm = false;   // norm="slaney" (area-normalised filters); false = norm=None
  bool slaney_scale = false;  // mel_scale="slaney"; false = "htk"
  bool log = true;            // 10*log10(max(x, amin)) (AmplitudeToDB('power', top_db=None))
  double amin = 1e-10;
  int threads = 0;  // STFT threads; 0 = up to the hardware's cores (long clips only)
};

// [n_mels, n_frames], row-major: value(m, t) = data[m * n_frames + t].
struct Spectrogram {
  int n_mels = 0;
  int n_frames = 0;
  std::vector<float> data;
};

Spectrogram mel_spectrogram(const Pcm& pcm, const MelConfig& cfg = {});

// Version 2 (the default) has the tempo with a pulse-clarity confidence and a fallback, the key and mode
// from a harmonic chroma with a mode confidence, and valence/arousal from the music-emotion estimator.
// Version 1 is the descriptor set of 2026-11 (aubio tempo, plain chroma), kept because MPD-Open v1/v2
// labels and the checkpoints trained before were made from it: those read version 1 and nothing moves.
enum class DescriptorVersion { V1 = 1, V2 = 2 };

struct MusicDescriptors {
  int version = 2;
  double duration_s = 0;
  double tempo_bpm = 0;             // v2: see tempo_source; v1: aubio's beat tracker
  double tempo_confidence = 0;      // v2: pulse clarity 0..1 (>= kSteadyPulse: a steady beat); v1: aubio's
  std::string tempo_source;         // v2: "beat" (steady pulse) or "onsets" (no steady beat: the event rate)
  double onset_rate_hz = 0;         // aubio onsets per second
  std::string key;                  // "C", "C#", ... "B"
  std::string mode;                 // "major" or "minor"
  double key_strength = 0;          // Pearson r of the chroma with the best key profile
  double mode_confidence = 0;       // v2: 0 = major and minor fit equally (ambiguous) .. 1 = clear
  double loudness_lufs = 0;         // EBU R128 integrated loudness
  double loudness_range_lu = 0;     // EBU R128 loudness range (LRA): the dynamic range
  double spectral_centroid_hz = 0;  // energy-weighted mean over frames: timbral brightness
  double pitch_height = 0;          // MIDI note number of the median confident pitch (A4 = 69)
  double pitch_confidence = 0;      // share of frames with a confident pitch estimate
  double rms_db = 0;                // mean RMS level in dBFS
  double dynamic_range_db = 0;      // 95th minus 10th percentile of the short-term RMS level (dB)
  double valence = 0, arousal = 0;  // v2: the music-emotion estimator's -1..1 (listeners' scale)
  std::string emotion_model;        // v2: the estimator's version ("mpjudge-va-1 ..."); v1: empty
  // v2: version 1's tempo, mode and key strength of the same audio (aubio's beat tracker, the plain
  // chroma), which judges trained with them also read; v1: the main fields' values.
  double v1_tempo_bpm = 0, v1_key_strength = 0;
  bool v1_major = true;
};
// tempo_confidence from which a tempo counts as a steady beat (version 2; docs/descriptors.md).
constexpr double kSteadyPulse = 0.3;
// mode_confidence from which the mode counts as clear (version 2).
constexpr double kClearMode = 0.5;

// Computes descriptors of mono PCM. Throws Error(Input) for silent or too short (< 1 s) audio.
MusicDescriptors describe_pcm(const Pcm& pcm, const std::string& name = "<pcm>",
                              DescriptorVersion version = DescriptorVersion::V2);
MusicDescriptors describe_music(const std::string& path, const AudioConfig& cfg = {},
                                DescriptorVersion version = DescriptorVersion::V2);

// ---- image ---------------------------------------------------------------------------------------
enum class ResizePolicy {
  Stretch,     // resize to exactly width x height
  CenterCrop,  // scale the short side to fit, crop the centre
  Pad,         // scale the long side to fit, pad with `pad_value`
};

struct ImageConfig {
  int64_t max_pixels = 64LL * 1024 * 1024;  // decompression-bomb guard, checked on the header
  int max_side = 1024;                      // descriptors work on an image no larger than this
};

// 8-bit RGB, row-major interleaved: pixel (x, y) channel c = data[(y * width + x) * 3 + c].
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> data;
};

// Decodes JPEG/PNG/WebP/TIFF/BMP by content (OpenCV), applying the EXIF orientation. Refuses images
// whose header claims more than cfg.max_pixels before decoding them. Throws Error(Input) naming `path`.
RgbImage load_image(const std::string& path, const ImageConfig& cfg = {});
RgbImage decode_image(const std::vector<uint8_t>& bytes, const std::string& name, const ImageConfig& cfg = {});
// The paintings of a folder: its regular files whose content is an image (sniffed, as load_image does,
// not judged by the extension), sorted by name; hidden files are skipped. Throws Error(Input) for a
// missing folder or one without images.
std::vector<std::string> list_paintings(const std::string& folder);
// Resizes with area/cubic interpolation according to the policy.
RgbImage resize_image(const RgbImage& img, int width, int height, ResizePolicy policy, uint8_t pad_value = 0);

// Planar float image [3, H, W]: (x/255 - mean[c]) / std[c]. Default maps to [-1, 1], the paper's range.
struct TensorImage {
  int height = 0;
  int width = 0;
  std::vector<float> data;  // [3, H, W]
};
TensorImage normalise(const RgbImage& img, const float mean[3], const float std[3]);
TensorImage normalise_pm1(const RgbImage& img);

struct ColourEmotion {
  double happy = 0;  // pixel-share weighted BCP-37 ratings, scaled from -100..100 to -1..1
  double sad = 0;
  double angry = 0;
};

struct PaintingDescriptors {
  int width = 0;
  int height = 0;
  double lightness = 0;      // mean L* (0..100)
  double chroma = 0;         // mean C*ab
  double a = 0;              // mean a* (green- .. red+)
  double b = 0;              // mean b* (blue- .. yellow+)
  double contrast = 0;       // standard deviation of L* (RMS contrast)
  double edge_density = 0;   // share of Canny edge pixels at a fixed working size: visual rhythm
  double angularity = 0;     // 0..1: concentration of edge orientations (straight edges, corners)
  double colourfulness = 0;  // Hasler & Suesstrunk (2003) M metric on sRGB
  ColourEmotion emotion;
};

PaintingDescriptors describe_image(const RgbImage& img);
PaintingDescriptors describe_painting(const std::string& path, const ImageConfig& cfg = {});

// sRGB (8-bit) -> CIELAB (D65, CIE 1976), exact formulas; exposed for tests and the corpus builder.
void srgb_to_lab(uint8_t r, uint8_t g, uint8_t b, double lab[3]);

// ---- pretrained encoders ----------------------------------------------------------------------
// Features from the pretrained networks ported from their npm packages (nsfwjs MobileNetV2 for
// paintings, Spotify basic-pitch for music). Weights come from deps/node_modules (scripts/setup.sh)
// or $MPJUDGE_WEIGHTS. Results are cached on disk keyed by the file's SHA-256 and the encoder version.
struct FeatureOptions {
  std::string cache_dir;  // "" = $MPJUDGE_CACHE, else $XDG_CACHE_HOME/mpjudge, else ~/.cache/mpjudge
  bool use_cache = true;
  int threads = 0;  // torch intra-op threads; 0 = leave as is
};

struct PaintingFeatures {
  std::string encoder;        // e.g. "nsfwjs-mobilenet_v2@4.4.0/p1"
  std::string sha256;         // of the file's bytes
  std::vector<float> pooled;  // 1280-d: mean of the final 7x7x1280 map
  std::vector<std::string> class_names;
  std::vector<float> class_probs;  // nsfwjs's 5 classes (Drawing, Hentai, Neutral, Porn, Sexy)
  bool from_cache = false;
};

struct MusicFeatures {
  std::string encoder;  // e.g. "basic-pitch@1.0.1/p1"
  std::string sha256;
  double duration_s = 0;
  int frames = 0;                    // posterior frames (~86.1 per second)
  std::vector<float> pooled;         // per-pitch means and maxima of note/onset posteriors + contour stats
  std::vector<float> note_activity;  // 88 pitches (MIDI 21..108): mean note posterior over the clip
  bool from_cache = false;
};

// Throws Error(Input) for bad media, Error(Model) when the weights are missing or damaged.
PaintingFeatures painting_features(const std::string& path, const FeatureOptions& opt = {});
MusicFeatures music_features(const std::string& path, const FeatureOptions& opt = {});

// SHA-256 of bytes, lower-case hex (OpenSSL).
std::string sha256_hex(const uint8_t* data, size_t size);

// ---- judging ------------------------------------------------------------------------------------
// A music clip to judge: a file (decoded by content), or mono PCM in memory at any rate (resampled), as
// generator pipelines hold it. In-memory media are cached by the hash of their samples like files are
// by the hash of their bytes. `name` stands for it in error messages.
struct MusicSource {
  MusicSource(std::string file) : path(std::move(file)), name(path) {}
  MusicSource(const char* file) : MusicSource(std::string(file)) {}
  MusicSource(Pcm samples, std::string label = "<pcm>")
      : pcm(std::make_shared<const Pcm>(std::move(samples))), name(std::move(label)) {}
  std::string path;                // empty for PCM in memory
  std::shared_ptr<const Pcm> pcm;  // null for a file
  std::string name;
};

// A painting to judge: a file (decoded by content) or 8-bit RGB pixels in memory.
struct PaintingSource {
  PaintingSource(std::string file) : path(std::move(file)), name(path) {}
  PaintingSource(const char* file) : PaintingSource(std::string(file)) {}
  PaintingSource(RgbImage pixels, std::string label = "<image>")
      : image(std::make_shared<const RgbImage>(std::move(pixels))), name(std::move(label)) {}
  std::string path;                       // empty for pixels in memory
  std::shared_ptr<const RgbImage> image;  // null for a file
  std::string name;
};

struct ModulationMap {
  std::string layer;  // the MAN block's position in the trunk, e.g. "block_12_add" (14x14)
  int height = 0, width = 0;
  std::vector<float> values;  // raw per-location modulation magnitudes, row-major
};

// Which model made a result: every result carries it, so a score can be traced and reproduced.
struct ModelInfo {
  std::string path;     // the checkpoint file
  std::string sha256;   // of the checkpoint file's bytes (what `sha256sum` prints)
  std::string version;  // the checkpoint's own version string ("unversioned" when it has none)
  std::string arch;     // "mpjudge", "mpjudge-<variant>" for a baseline, "mpjudge-ensemble", or "paper"
  // The scores the model gave on its own corpus's test split, sorted (stored in the checkpoint when it
  // is trained or bundled with a reference dataset; empty when it has none) and where they came from.
  std::vector<double> reference_scores;
  std::string reference;  // e.g. "MPD-Open v2 seed 1, split test, 412 pairs"
};

// Where `score` sits among the model's reference scores: the share below it plus half the share equal
// to it (within 1e-6: they are stored to 6 decimals), in percent (0..100). NaN when the model has no reference scores.
double score_percentile(const ModelInfo& model, double score);

struct ScoreResult {
  double score = 0;         // coherence in [0, 1]
  double percentile = NAN;  // score_percentile of the score (NaN without reference scores)
  std::string model;        // checkpoint path
  std::string model_sha256, model_version;
  std::string arch;  // "mpjudge", "mpjudge-<variant>" for a baseline, "mpjudge-ensemble", or "paper"
  std::vector<ModulationMap> maps;
  bool painting_from_cache = false, music_from_cache = false;
};

struct RankEntry {
  std::string painting;  // its file, or its PaintingSource name for pixels in memory
  double score = 0;
  size_t index = 0;  // its position in the list given to rank()
};

// A painting rank() skipped (RankOptions::skip_unreadable) or a pair score_pairs() could not score.
struct MediaFailure {
  size_t index = 0;
  std::string name;  // the file or the in-memory name
  ErrorKind kind = ErrorKind::Input;
  std::string error;
};

struct RankOptions {
  int top_k = 0;                 // <= 0 keeps all
  bool skip_unreadable = false;  // a painting that fails with Error(Input) is reported and left out
  // Called after each batch with (paintings done, total); long galleries show progress with it.
  std::function<void(size_t, size_t)> progress;
};

struct RankResult {
  std::vector<RankEntry> ranking;  // best first
  std::vector<MediaFailure> skipped;
};

// One pair of a batch (score_pairs) with an optional id that its result carries.
struct ScorePair {
  MusicSource music;
  PaintingSource painting;
  std::string id;
};

struct PairScore {
  size_t index = 0;  // position in the batch
  std::string id;
  bool ok = false;
  ScoreResult result;    // when ok
  MediaFailure failure;  // when not
};

// Mean, median, a bootstrap 95% interval of the mean (pairs resampled with replacement, seeded) and
// percentiles of a set of scores: the judge as a metric over a set (a generator's outputs, a gallery).
struct ScoreSummary {
  size_t n = 0;
  double mean = NAN, median = NAN, sd = NAN;
  double ci95_lo = NAN, ci95_hi = NAN;
  std::vector<std::pair<int, double>> percentiles;  // (5, p5), (10, ..), (25, ..), (75, ..), (90, ..), (95, ..)
};
ScoreSummary summarise_scores(const std::vector<double>& scores, int bootstrap = 1000, uint64_t seed = 1);

// The model used when none is named: $MPJUDGE_MODEL, else the shipped models/default.mpjc of this
// installation (beside the build folder holding the CLI or the Python module, or share/mpjudge/).
// Throws Error(Model) with a hint when there is none.
std::string default_model_path();

// Loads a checkpoint once and scores music-painting pairs with it. Painting trunk features and music
// inputs are cached on disk by content hash (FeatureOptions), so ranking a gallery for a second song
// only runs the MAN blocks and the head. Not thread-safe: one Scorer per thread.
class Scorer {
 public:
  // Throws Error(Model) for a missing, foreign or mismatched checkpoint or missing encoder weights.
  explicit Scorer(const std::string& model_path, const FeatureOptions& opt = {});
  ~Scorer();
  Scorer(const Scorer&) = delete;
  Scorer& operator=(const Scorer&) = delete;
  // Throws Error(Input) for unreadable media.
  ScoreResult score(const MusicSource& music, const PaintingSource& painting);
  // Scores every painting against one song, best first; top_k <= 0 keeps all.
  std::vector<RankEntry> rank(const std::string& music, const std::vector<std::string>& paintings, int top_k = 0);
  RankResult rank(const MusicSource& music, const std::vector<PaintingSource>& paintings, const RankOptions& opt);
  // Scores a batch with the model loaded once; `each` is called for every pair in order, as soon as it
  // is scored. A pair whose media fail (Error(Input)) is reported in its PairScore and the rest go on;
  // other errors (the model, the disk) are thrown. Maps are left out unless `with_maps`.
  void score_pairs(const std::vector<ScorePair>& pairs, const std::function<void(const PairScore&)>& each,
                   bool with_maps = false);
  const std::string& model_path() const;
  const ModelInfo& model() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes an untrained checkpoint of the default architecture (MAN blocks start as the identity, or
// with small random modulation when random_man is set). Returns a JSON summary. Deterministic by seed.
std::string write_initial_model(const std::string& out, uint64_t seed, bool random_man);

// Writes one checkpoint (arch "mpjudge-ensemble") that averages the scores and maps of trained default-
// architecture checkpoints (at least 2; same variant, MAN layers and input sizes). Returns a JSON summary.
// Throws Error(Model) for a member of another architecture or shape, Error(Usage) for fewer than 2.
std::string write_ensemble_model(const std::string& out, const std::vector<std::string>& members);

// Writes a copy of checkpoint `model` to `out` (atomically; `out` may be `model`) that carries a version
// string (when `version` is not empty) and the reference scores of ModelInfo: the scores it gives on
// `split` of the MPD dataset `data` (when `data` is not empty). The tensors are copied unchanged.
// Returns a JSON summary. Throws Error(Usage) when neither is given or the split has no pairs.
std::string write_model_reference(const std::string& model, const std::string& out, const std::string& data,
                                  const std::string& split, const std::string& version,
                                  const FeatureOptions& features = {});

// Writes the modulation map as a colour-mapped overlay over the painting (upsampled, min-max
// normalised, alpha-blended) to a PNG, atomically. max_side > 0 caps the PNG's long side (the painting
// is scaled down first, keeping its aspect): maps are 14x14 or 7x7, so detail beyond that is the
// painting's alone. Throws Error(Input) for an unreadable painting.
void write_overlay_png(const std::string& painting, const ModulationMap& map, const std::string& out_png,
                       double alpha = 0.55, int max_side = 0);

// ---- misc ----------------------------------------------------------------------------------------
const char* version();

}  // namespace mpjudge
