// MPD-Open: each correspondence term moves the panel's judgment in its documented direction; MIDI
// variations do what they say; the Qt resource reader handles real and damaged files; and a small
// corpus build (Debian media only) is valid, deterministic by seed, and never leaves a partial folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/files.h"
#include "corpus/midi.h"
#include "corpus/panel.h"
#include "corpus/rcc.h"
#include "data/mpd.h"
#include "test_util.h"

using namespace mpjudge;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string media_root() { return std::string(MPJUDGE_SOURCE_DIR) + "/deps/media"; }

// A two-note-per-beat C major scale on channel 0 plus a drum on channel 10, 480 ticks per quarter.
std::vector<uint8_t> c_major_midi() {
  std::vector<uint8_t> trk{0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20};  // 500000 us per quarter
  const int scale[] = {60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60, 60};
  for (int n : scale) {
    trk.insert(trk.end(), {0x00, 0x90, uint8_t(n), 0x60, 0x00, 0x99, 36, 0x60});
    trk.insert(trk.end(), {0x83, 0x60, 0x80, uint8_t(n), 0x40, 0x00, 0x89, 36, 0x40});  // 480 ticks later
  }
  trk.insert(trk.end(), {0x00, 0xFF, 0x2F, 0x00});
  std::vector<uint8_t> f{'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0, 'M', 'T', 'r', 'k'};
  const uint32_t n = uint32_t(trk.size());
  f.insert(f.end(), {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)});
  f.insert(f.end(), trk.begin(), trk.end());
  return f;
}

}  // namespace

TEST(Panel, EachTermMovesTheScoreInItsDocumentedDirection) {
  ReferencePanel panel;
  PanelMusic m;
  PanelPainting p;
  const auto base = panel_terms(m, p);
  struct Case {
    const char* term;
    std::function<void(PanelMusic&, PanelPainting&)> before, after;  // `after` is the more coherent pair
  };
  const std::vector<Case> cases{
      {"valence_match", [](auto& a, auto& b) { a.valence = 0.8, b.valence = -0.6; },
       [](auto& a, auto& b) { a.valence = 0.8, b.valence = 0.7; }},
      {"arousal_match", [](auto& a, auto& b) { a.arousal = -0.7, b.arousal = 0.8; },
       [](auto& a, auto& b) { a.arousal = -0.7, b.arousal = -0.6; }},
      // faster, major music with a lighter, yellower painting (Palmer et al. 2013)
      {"tempo_mode_light", [](auto& a, auto& b) { a.tempo_bpm = 150, a.major = true, b.lightness = 25, b.b = -25; },
       [](auto& a, auto& b) { a.tempo_bpm = 150, a.major = true, b.lightness = 80, b.b = 35; }},
      // slower, minor music with a darker, bluer painting
      {"tempo_mode_light", [](auto& a, auto& b) { a.tempo_bpm = 60, a.major = false, b.lightness = 80, b.b = 35; },
       [](auto& a, auto& b) { a.tempo_bpm = 60, a.major = false, b.lightness = 25, b.b = -25; }},
      // louder music with a redder, more saturated painting (Whiteford et al. 2018)
      {"loud_red_saturated", [](auto& a, auto& b) { a.loudness_lufs = -12, b.a = -10, b.chroma = 10; },
       [](auto& a, auto& b) { a.loudness_lufs = -12, b.a = 25, b.chroma = 45; }},
      // higher pitch with a lighter painting (Ward et al. 2006)
      {"pitch_lightness", [](auto& a, auto& b) { a.pitch_height = 84, b.lightness = 25; },
       [](auto& a, auto& b) { a.pitch_height = 84, b.lightness = 80; }},
      // dense onsets with dense edges (visual rhythm; not emotional)
      {"rhythm_edges", [](auto& a, auto& b) { a.onset_rate_hz = 7, b.edge_density = 0.02; },
       [](auto& a, auto& b) { a.onset_rate_hz = 7, b.edge_density = 0.18; }},
      // bright timbre with angular shapes (not emotional)
      {"brightness_angularity", [](auto& a, auto& b) { a.centroid_hz = 3200, b.angularity = 0.02; },
       [](auto& a, auto& b) { a.centroid_hz = 3200, b.angularity = 0.45; }},
  };
  const auto names = PanelTerms::names();
  for (const auto& c : cases) {
    PanelMusic m0 = m, m1 = m;
    PanelPainting p0 = p, p1 = p;
    c.before(m0, p0), c.after(m1, p1);
    const PanelTerms t0 = panel_terms(m0, p0), t1 = panel_terms(m1, p1);
    const size_t k = size_t(std::find(names.begin(), names.end(), c.term) - names.begin());
    ASSERT_LT(k, names.size());
    printf("%-22s term %+.3f -> %+.3f, latent %+.3f -> %+.3f\n", c.term, t0.vec()[k], t1.vec()[k], panel.latent(t0),
           panel.latent(t1));
    EXPECT_GT(t1.vec()[k], t0.vec()[k] + 0.3) << c.term;
    EXPECT_GT(panel.latent(t1), panel.latent(t0)) << c.term;
  }
  (void)base;
}

TEST(Midi, VariationsTransposeRetimeFlipModeAndChangeInstrument) {
  const auto bytes = c_major_midi();
  MidiFile f(bytes, "scale.mid");
  EXPECT_EQ(f.notes(), 24u);
  MidiKey k = f.key();
  EXPECT_EQ(k.tonic, 0);
  EXPECT_TRUE(k.major);
  // Unchanged rewrite: same events (running status expanded is fine; this file uses none).
  EXPECT_EQ(f.write(MidiVariation{}), bytes);
  MidiVariation up;
  up.transpose = 7;
  MidiKey ku = MidiFile(f.write(up), "up").key();
  EXPECT_EQ(ku.tonic, 7);
  EXPECT_TRUE(ku.major);
  MidiVariation flip;
  flip.flip_mode = true;
  MidiKey kf = MidiFile(f.write(flip), "flip").key();
  EXPECT_EQ(kf.tonic, 0);
  EXPECT_FALSE(kf.major) << "C major flipped should read C minor";
  MidiVariation fast;
  fast.tempo = 1.25, fast.program = 40;
  const auto out = f.write(fast);
  // Tempo meta: 500000 / 1.25 = 400000 us per quarter = 0x061A80.
  const std::vector<uint8_t> tempo{0xFF, 0x51, 0x03, 0x06, 0x1A, 0x80};
  EXPECT_NE(std::search(out.begin(), out.end(), tempo.begin(), tempo.end()), out.end());
  const std::vector<uint8_t> prog{0x00, 0xC0, 40};
  EXPECT_NE(std::search(out.begin(), out.end(), prog.begin(), prog.end()), out.end());
  EXPECT_EQ(fast.name(), "x1.25_p40");
  // Drums (channel 10) are never transposed.
  const auto t = f.write(up);
  const std::vector<uint8_t> drum{0x99, 36};
  EXPECT_NE(std::search(t.begin(), t.end(), drum.begin(), drum.end()), t.end());
  // Damaged files are input errors naming the file.
  std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + 40);
  try {
    MidiFile bad(cut, "cut.mid");
    FAIL() << "a truncated MIDI file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("cut.mid"), std::string::npos) << e.what();
  }
}

TEST(Rcc, ReadsGcomprisResourcesAndRefusesDamagedOnes) {
  const std::string rcc = media_root() + "/usr/share/gcompris-qt/rcc/paintings.rcc";
  ASSERT_TRUE(fs::exists(rcc)) << "scripts/setup.sh unpacks gcompris-qt-data into deps/media";
  RccArchive a(rcc);
  size_t boards = 0, pieces = 0;
  for (const auto& n : a.list()) {
    boards += n.find("/resource/board/board") != std::string::npos;
    pieces += n.size() > 5 && n.substr(n.size() - 5) == ".webp";
  }
  EXPECT_EQ(boards, 22u);
  EXPECT_GT(pieces, 150u);
  const auto board = a.read("/gcompris/src/activities/paintings/resource/board/board7_0.qml");  // zlib-compressed
  const std::string text(board.begin(), board.end());
  EXPECT_NE(text.find("Great Wave"), std::string::npos);
  // Truncated copy: a clear input error naming the file.
  const std::string dir = testutil::tmp_dir("rcc");
  const auto bytes = read_file(rcc);
  write_file_atomic(dir + "/cut.rcc", bytes.data(), 4000);
  try {
    RccArchive bad(dir + "/cut.rcc");
    for (const auto& n : bad.list()) bad.read(n);
    FAIL() << "a truncated rcc was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("cut.rcc"), std::string::npos) << e.what();
  }
}

TEST(CorpusBuild, SmallBuildIsValidDeterministicAndAtomic) {
  const std::string dir = testutil::tmp_dir("corpus");
  const std::string common =
      " --clips 30 --paintings 30 --pairs 150 --preferences 20 --clip-seconds 6 --quiet"
      " --shared-data none --debian-root " +
      media_root();
  auto a = testutil::run_cli("corpus build --out " + dir + "/a --seed 3" + common + " --json");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto v = testutil::run_cli("data validate " + dir + "/a");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  auto b = testutil::run_cli("corpus build --out " + dir + "/b --seed 3" + common);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  for (const char* f : {"pairs.csv", "ratings.csv", "preferences.csv", "media.csv", "split.json"})
    EXPECT_EQ(slurp(dir + "/a/" + f), slurp(dir + "/b/" + f)) << f << " differs between two builds with seed 3";
  auto c = testutil::run_cli("corpus build --out " + dir + "/c --seed 4" + common);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(slurp(dir + "/a/pairs.csv"), slurp(dir + "/c/pairs.csv"));

  std::vector<MpdProblem> problems;
  MpdDataset d = read_mpd(dir + "/a", problems);
  ASSERT_TRUE(problems.empty());
  EXPECT_EQ(d.pairs.size(), 150u);
  EXPECT_EQ(d.preferences.size(), 20u);
  EXPECT_EQ(d.ratings.size(), 150u * 7);
  EXPECT_EQ(d.media.size(), 60u);
  // Variations of one original share a split (no near-duplicate leaks between train and test).
  std::map<std::string, std::string> origin_of, split_of_origin;
  for (const auto& m : d.media) origin_of[m.path] = m.kind + m.origin;
  size_t variants = 0;
  for (const auto& m : d.media) variants += m.variant != "orig";
  EXPECT_GT(variants, 0u);
  for (const auto& p : d.pairs) {
    const std::string s = d.split.at(p.id);
    if (s == "excluded") continue;
    for (const std::string& side : {origin_of.at(p.music), origin_of.at(p.painting)}) {
      auto [it, fresh] = split_of_origin.emplace(side, s);
      EXPECT_EQ(it->second, s) << side << " appears in " << it->second << " and " << s;
    }
  }
  MpdStats st = mpd_stats(d);
  ASSERT_TRUE(st.emotion_r2.has_value());
  printf("emotion-only R^2 %.3f (share of reliable variance %.3f), SRCC %.3f; ceiling %.3f\n", *st.emotion_r2,
         st.emotion_share_of_reliable.value_or(-1), st.emotion_srcc.value_or(-1), st.ceiling.value_or(-1));
  EXPECT_LT(*st.emotion_r2, 0.9);

  // An existing folder is kept unless --force; a failed build leaves nothing behind.
  auto again = testutil::run_cli("corpus build --out " + dir + "/a --seed 5" + common);
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_EQ(slurp(dir + "/a/pairs.csv"), slurp(dir + "/b/pairs.csv"));
  auto bad = testutil::run_cli("corpus build --out " + dir + "/d --seed 5 --pairs 100000" + common);
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("pairs"), std::string::npos) << bad.err;
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
  EXPECT_FALSE(fs::exists(dir + "/d"));
}
