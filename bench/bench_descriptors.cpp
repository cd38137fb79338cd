// Music descriptors against ground truth: MIDI pieces of known tempo and key rendered by fluidsynth with
// several soundfonts and instrument sets, each piece also transposed, sped up or slowed down, and (some)
// flipped between major and minor, so the truth is known by construction. Descriptor versions 1 and 2
// are measured on the same renders in one run.
//
//   bench_descriptors [--pieces N] [--seed S] [--threads T] [--renders DIR] [--json FILE]
//                     [--min-tempo-acc1 X] [--min-key-acc X] [--min-confident-precision X] FILE.mid...
//
// Truth: the tempo is the file's tempo meta event times the speed factor; pieces whose tempo changes by
// more than 2%, or whose notes are not on the beat grid (vgmidi's phrases are performances: under 90% of
// their note-ons on a sixteenth or triplet grid), are left out of the tempo figures. Pieces with a tempo
// truth are rendered at all three speeds, the others at one; the key is the Krumhansl-Kessler estimate on the
// score's duration-weighted pitch classes (pieces whose symbolic key strength is below 0.75 are left out
// of the key figures: their key is not clear on paper either), transposed and mode-flipped with the
// variation. Figures (Gouyon et al. 2006; MIREX): tempo Accuracy 1 (within 4%), Accuracy 2 (within 4% of
// the tempo or of 2x, 1/2x, 3x, 1/3x), the share of steady-beat claims (confidence >= kSteadyPulse) that
// are right, their coverage; key exact, the MIREX weighted score (fifth 0.5, relative 0.3, parallel
// 0.2), mode accuracy, and mode accuracy where the mode is called clear (version 2).
// The --min-* flags make it a check: exit 1 when version 2 falls below (tests/CMakeLists.txt).
#include <mpjudge/mpjudge.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/files.h"
#include "corpus/midi.h"

using namespace mpjudge;
namespace fs = std::filesystem;

namespace {

const char* kPitch[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

struct InstrumentSet {
  const char* name;
  std::vector<int> programs;
};
const InstrumentSet kSets[] = {{"piano", {0}}, {"strings", {48}}, {"band", {56, 26, 33, 65}}};

struct Case {
  std::string piece, soundfont, set;
  MidiVariation var;
  double tempo = 0;  // 0 = no single tempo
  int tonic = -1;    // -1 = key unclear on paper
  bool major = true;
  std::vector<uint8_t> midi;
};

struct Result {
  MusicDescriptors v1, v2;
  bool ok = false;
};

// The tempo meta events' BPM values (SMF default 120 when there is none).
std::vector<double> tempi(const std::vector<uint8_t>& b) {
  std::vector<double> out;
  for (size_t i = 0; i + 5 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0x51 && b[i + 2] == 0x03)
      out.push_back(60e6 / double(b[i + 3] << 16 | b[i + 4] << 8 | b[i + 5]));
  if (out.empty()) out.push_back(120);
  return out;
}

int pitch_class(const std::string& key) {
  for (int i = 0; i < 12; ++i)
    if (key == kPitch[i]) return i;
  return -1;
}

// MIREX key score.
double key_score(int tonic, bool major, int est, bool est_major) {
  if (est < 0) return 0;
  if (est == tonic && est_major == major) return 1;
  if (est_major == major && (est == (tonic + 7) % 12 || est == (tonic + 5) % 12)) return 0.5;
  if (major && !est_major && est == (tonic + 9) % 12) return 0.3;
  if (!major && est_major && est == (tonic + 3) % 12) return 0.3;
  if (est == tonic) return 0.2;
  return 0;
}

bool within(double est, double truth, double tol = 0.04) { return std::fabs(est - truth) <= tol * truth; }
bool within_octave(double est, double truth) {
  for (double f : {1.0, 2.0, 0.5, 3.0, 1.0 / 3.0})
    if (within(est, truth * f)) return true;
  return false;
}

struct Figures {
  int tempo_n = 0, acc1 = 0, acc2 = 0, doubled = 0, halved = 0, confident = 0, confident_right = 0;
  int key_n = 0, exact = 0, mode_right = 0, clear = 0, clear_right = 0;
  double mirex = 0;
};

Figures score(const std::vector<Case>& cases, const std::vector<Result>& res, bool v2) {
  Figures f;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (!res[i].ok) continue;
    const Case& c = cases[i];
    const MusicDescriptors& d = v2 ? res[i].v2 : res[i].v1;
    if (c.tempo > 0) {
      ++f.tempo_n;
      f.acc1 += within(d.tempo_bpm, c.tempo);
      f.acc2 += within_octave(d.tempo_bpm, c.tempo);
      f.doubled += within(d.tempo_bpm, 2 * c.tempo);
      f.halved += within(d.tempo_bpm, 0.5 * c.tempo);
      // Version 1 has no fallback: every tempo it gives is a claim.
      const bool claims = v2 ? d.tempo_source == "beat" : true;
      f.confident += claims;
      f.confident_right += claims && within(d.tempo_bpm, c.tempo);
    }
    if (c.tonic >= 0) {
      ++f.key_n;
      const int est = pitch_class(d.key);
      const bool est_major = d.mode == "major";
      f.exact += est == c.tonic && est_major == c.major;
      f.mirex += key_score(c.tonic, c.major, est, est_major);
      f.mode_right += est_major == c.major;
      const bool clear = v2 ? d.mode_confidence >= kClearMode : true;
      f.clear += clear;
      f.clear_right += clear && est_major == c.major;
    }
  }
  return f;
}

double share(int a, int b) { return b ? double(a) / b : 0.0; }

int render(const std::string& soundfont, const std::string& mid, const std::string& wav) {
  std::string cmd =
      "fluidsynth -ni -q -g 0.5 -r 22050 -F '" + wav + "' -T wav '" + soundfont + "' '" + mid + "' >/dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int pieces = 1000, threads = 2;
  unsigned seed = 1;
  std::string renders = "/tmp/mpjudge-descriptor-renders", json_out;
  double min_acc1 = -1, min_key = -1, min_precision = -1;
  std::vector<std::string> files, soundfonts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--pieces")
      pieces = std::stoi(next());
    else if (a == "--seed")
      seed = unsigned(std::stoul(next()));
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--renders")
      renders = next();
    else if (a == "--json")
      json_out = next();
    else if (a == "--soundfont")
      soundfonts.push_back(next());
    else if (a == "--min-tempo-acc1")
      min_acc1 = std::stod(next());
    else if (a == "--min-key-acc")
      min_key = std::stod(next());
    else if (a == "--min-confident-precision")
      min_precision = std::stod(next());
    else
      files.push_back(a);
  }
  if (soundfonts.empty())
    soundfonts = {"/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"};
  for (const auto& sf : soundfonts)
    if (!fs::exists(sf)) {
      std::fprintf(stderr, "soundfont %s not found (scripts/setup.sh --tests installs it)\n", sf.c_str());
      return 2;
    }
  std::sort(files.begin(), files.end());
  std::mt19937_64 rng(seed);
  std::shuffle(files.begin(), files.end(), rng);
  if (int(files.size()) > pieces) files.resize(size_t(pieces));
  std::sort(files.begin(), files.end());

  std::vector<Case> cases;
  for (const auto& file : files) {
    const auto bytes = read_file(file);
    std::unique_ptr<MidiFile> midi;
    try {
      midi = std::make_unique<MidiFile>(bytes, file);
    } catch (const Error& e) {
      std::fprintf(stderr, "skipping %s: %s\n", file.c_str(), e.what());
      continue;
    }
    const auto t = tempi(bytes);
    const bool single = *std::max_element(t.begin(), t.end()) <= 1.02 * *std::min_element(t.begin(), t.end()) &&
                        midi->grid_share() >= 0.9;
    const MidiKey key = midi->key();
    // Each piece: one speed and one transposition drawn by seed, a mode flip for a third of the pieces,
    // rendered with every soundfont and instrument set.
    const double speeds[] = {0.75, 1.0, 1.33};
    const int pick = int(rng() % 3);
    for (int sp = 0; sp < 3; ++sp) {
      if (!single && sp != pick) continue;
      MidiVariation var;
      var.tempo = speeds[sp];
      var.transpose = int(rng() % 12) - 5;
      var.flip_mode = rng() % 3 == 0;
      for (const auto& sf : soundfonts)
        for (const auto& set : kSets) {
          Case c;
          c.piece = fs::path(file).stem().string();
          c.soundfont = fs::path(sf).stem().string();
          c.set = set.name;
          c.var = var;
          c.var.programs = set.programs;
          c.tempo = single ? t[0] * var.tempo : 0;
          if (key.strength >= 0.75) {
            c.tonic = ((key.tonic + var.transpose) % 12 + 12) % 12;
            c.major = var.flip_mode ? !key.major : key.major;
          }
          c.midi = midi->write(c.var);
          cases.push_back(std::move(c));
        }
    }
  }
  fs::create_directories(renders);
  std::vector<Result> res(cases.size());
  std::atomic<size_t> next_case{0};
  std::mutex log;
  auto worker = [&]() {
    for (size_t i; (i = next_case++) < cases.size();) {
      const Case& c = cases[i];
      const std::string stem = renders + "/" + c.piece + "__" + c.var.name() + "__" + c.soundfont;
      const std::string mid = stem + ".mid", wav = stem + ".wav";
      if (!fs::exists(wav)) {
        std::ofstream(mid, std::ios::binary).write(reinterpret_cast<const char*>(c.midi.data()), long(c.midi.size()));
        if (render(c.soundfont == fs::path(soundfonts[0]).stem().string() ? soundfonts[0] : soundfonts.back(), mid,
                   wav + ".tmp") != 0) {
          std::lock_guard<std::mutex> g(log);
          std::fprintf(stderr, "fluidsynth failed on %s\n", mid.c_str());
          continue;
        }
        fs::rename(wav + ".tmp", wav);
        fs::remove(mid);
      }
      try {
        Pcm pcm = load_audio(wav);
        size_t start = 0;
        while (start < pcm.samples.size() && std::fabs(pcm.samples[start]) < 1e-3f) ++start;
        const size_t want = size_t(30 * pcm.sample_rate);
        pcm.samples.erase(pcm.samples.begin(), pcm.samples.begin() + long(start));
        if (pcm.samples.size() > want) pcm.samples.resize(want);
        res[i].v1 = describe_pcm(pcm, wav, DescriptorVersion::V1);
        res[i].v2 = describe_pcm(pcm, wav, DescriptorVersion::V2);
        res[i].ok = true;
      } catch (const Error& e) {
        std::lock_guard<std::mutex> g(log);
        std::fprintf(stderr, "%s: %s\n", wav.c_str(), e.what());
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();

  const Figures f1 = score(cases, res, false), f2 = score(cases, res, true);
  std::printf("%zu pieces, %zu renders (%zu soundfonts x %zu instrument sets)\n\n", files.size(), cases.size(),
              soundfonts.size(), std::size(kSets));
  std::printf("| figure | version 1 (before) | version 2 (after) |\n|---|---|---|\n");
  auto row = [](const char* name, double a, double b) { std::printf("| %s | %.3f | %.3f |\n", name, a, b); };
  std::printf("| tempo renders | %d | %d |\n", f1.tempo_n, f2.tempo_n);
  row("tempo Accuracy 1 (within 4%)", share(f1.acc1, f1.tempo_n), share(f2.acc1, f2.tempo_n));
  row("tempo Accuracy 2 (octave errors allowed)", share(f1.acc2, f1.tempo_n), share(f2.acc2, f2.tempo_n));
  row("doubled", share(f1.doubled, f1.tempo_n), share(f2.doubled, f2.tempo_n));
  row("halved", share(f1.halved, f1.tempo_n), share(f2.halved, f2.tempo_n));
  row("steady-beat claims that are right", share(f1.confident_right, f1.confident),
      share(f2.confident_right, f2.confident));
  row("share of renders with a steady-beat claim", share(f1.confident, f1.tempo_n), share(f2.confident, f2.tempo_n));
  std::printf("| key renders | %d | %d |\n", f1.key_n, f2.key_n);
  row("key exact", share(f1.exact, f1.key_n), share(f2.exact, f2.key_n));
  row("key MIREX score", f1.key_n ? f1.mirex / f1.key_n : 0, f2.key_n ? f2.mirex / f2.key_n : 0);
  row("mode accuracy", share(f1.mode_right, f1.key_n), share(f2.mode_right, f2.key_n));
  row("mode accuracy where called clear", share(f1.clear_right, f1.clear), share(f2.clear_right, f2.clear));
  row("share called clear", share(f1.clear, f1.key_n), share(f2.clear, f2.key_n));

  // Per soundfont and instrument set (version 2), and the renders version 1 doubled or halved.
  std::map<std::string, std::pair<Figures, Figures>> by;
  for (const auto& sf : soundfonts)
    for (const auto& set : kSets) {
      const std::string k = fs::path(sf).stem().string() + " / " + set.name;
      std::vector<Case> sub;
      std::vector<Result> sres;
      for (size_t i = 0; i < cases.size(); ++i)
        if (cases[i].soundfont + " / " + cases[i].set == k) sub.push_back(cases[i]), sres.push_back(res[i]);
      by[k] = {score(sub, sres, false), score(sub, sres, true)};
    }
  std::printf("\n| soundfont / instruments | tempo acc1 v1 | v2 | key exact v1 | v2 |\n|---|---|---|---|---|\n");
  for (const auto& [k, p] : by)
    std::printf("| %s | %.3f | %.3f | %.3f | %.3f |\n", k.c_str(), share(p.first.acc1, p.first.tempo_n),
                share(p.second.acc1, p.second.tempo_n), share(p.first.exact, p.first.key_n),
                share(p.second.exact, p.second.key_n));
  std::printf("\nrenders where version 1 doubled or halved the tempo:\n");
  for (size_t i = 0; i < cases.size(); ++i)
    if (res[i].ok && cases[i].tempo > 0 &&
        (within(res[i].v1.tempo_bpm, 2 * cases[i].tempo) || within(res[i].v1.tempo_bpm, 0.5 * cases[i].tempo)))
      std::printf("  %s %s %s: truth %.1f, v1 %.1f, v2 %.1f (%s, confidence %.2f)\n", cases[i].piece.c_str(),
                  cases[i].soundfont.c_str(), cases[i].set.c_str(), cases[i].tempo, res[i].v1.tempo_bpm,
                  res[i].v2.tempo_bpm, res[i].v2.tempo_source.c_str(), res[i].v2.tempo_confidence);
  if (!json_out.empty()) {
    std::ofstream j(json_out);
    j << "[\n";
    for (size_t i = 0; i < cases.size(); ++i) {
      if (!res[i].ok) continue;
      const auto& c = cases[i];
      char buf[512];
      std::snprintf(
          buf, sizeof buf,
          "{\"piece\":\"%s\",\"soundfont\":\"%s\",\"set\":\"%s\",\"variation\":\"%s\",\"tempo\":%.2f,"
          "\"tonic\":%d,\"major\":%d,\"v1_tempo\":%.2f,\"v2_tempo\":%.2f,\"v2_conf\":%.3f,\"v2_source\":\"%s\","
          "\"v1_key\":\"%s %s\",\"v2_key\":\"%s %s\",\"v2_mode_conf\":%.3f}",
          c.piece.c_str(), c.soundfont.c_str(), c.set.c_str(), c.var.name().c_str(), c.tempo, c.tonic, int(c.major),
          res[i].v1.tempo_bpm, res[i].v2.tempo_bpm, res[i].v2.tempo_confidence, res[i].v2.tempo_source.c_str(),
          res[i].v1.key.c_str(), res[i].v1.mode.c_str(), res[i].v2.key.c_str(), res[i].v2.mode.c_str(),
          res[i].v2.mode_confidence);
      j << buf << (i + 1 < cases.size() ? ",\n" : "\n");
    }
    j << "]\n";
  }
  bool fail = false;
  auto check = [&](const char* what, double got, double min) {
    if (min >= 0 && got < min) std::printf("FAIL: %s %.3f below %.3f\n", what, got, min), fail = true;
  };
  check("version 2 tempo Accuracy 1", share(f2.acc1, f2.tempo_n), min_acc1);
  check("version 2 key exact", share(f2.exact, f2.key_n), min_key);
  check("version 2 steady-beat claims right", share(f2.confident_right, f2.confident), min_precision);
  return fail ? 1 : 0;
}
