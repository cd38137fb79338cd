// Music descriptors on audio rendered from MIDI with fluidsynth (Debian fluidsynth + timgm6mb-soundfont)
// at known tempo, key, mode, register and dynamics. Label "slow": each case renders a few seconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "test_util.h"

using namespace mpjudge;

namespace {

struct Note {
  int tick, channel, key, velocity, length;
};

void put_var(std::string& s, uint32_t v) {
  uint8_t buf[5];
  int n = 0;
  buf[n++] = v & 0x7F;
  while (v >>= 7) buf[n++] = uint8_t(0x80 | (v & 0x7F));
  while (n) s.push_back(char(buf[--n]));
}

// A format-0 MIDI file, 480 ticks per quarter note.
void write_midi(const std::string& path, double bpm, const std::vector<Note>& notes, int program = 0) {
  struct Ev {
    int tick;
    std::string bytes;
  };
  std::vector<Ev> ev;
  uint32_t us = uint32_t(60e6 / bpm);
  ev.push_back({0, std::string("\xFF\x51\x03", 3) + char(us >> 16) + char((us >> 8) & 0xFF) + char(us & 0xFF)});
  ev.push_back({0, std::string(1, char(0xC0)) + char(program)});
  for (const Note& n : notes) {
    ev.push_back({n.tick, std::string(1, char(0x90 | n.channel)) + char(n.key) + char(n.velocity)});
    ev.push_back({n.tick + n.length, std::string(1, char(0x80 | n.channel)) + char(n.key) + char(0)});
  }
  std::stable_sort(ev.begin(), ev.end(), [](const Ev& a, const Ev& b) { return a.tick < b.tick; });
  std::string track;
  int last = 0;
  for (const Ev& e : ev) {
    put_var(track, uint32_t(e.tick - last));
    track += e.bytes;
    last = e.tick;
  }
  put_var(track, 480);
  track += std::string("\xFF\x2F\x00", 3);
  std::ofstream f(path, std::ios::binary);
  f << std::string("MThd\0\0\0\x06\0\0\0\x01\x01\xE0", 14) << "MTrk";
  uint32_t len = uint32_t(track.size());
  f << char(len >> 24) << char((len >> 16) & 0xFF) << char((len >> 8) & 0xFF) << char(len & 0xFF) << track;
}

// Drums on channel 10 (kick/snare backbeat, eighth-note hats) and a piano chord on each beat.
std::vector<Note> groove(int beats) {
  std::vector<Note> v;
  const int chords[4][3] = {{60, 64, 67}, {57, 60, 64}, {53, 57, 60}, {55, 59, 62}};
  for (int b = 0; b < beats; ++b) {
    int t = b * 480;
    v.push_back({t, 9, b % 2 ? 38 : 36, 110, 120});
    v.push_back({t, 9, 42, 70, 60});
    v.push_back({t + 240, 9, 42, 60, 60});
    for (int k : chords[(b / 4) % 4]) v.push_back({t, 0, k, b % 4 == 0 ? 100 : 80, 400});
  }
  return v;
}

// A melody over tonic/dominant harmony in C major or C minor (the same contour, parallel modes).
std::vector<Note> tune(bool minor, int transpose, int velocity, bool bass = true) {
  const int major_scale[7] = {0, 2, 4, 5, 7, 9, 11}, minor_scale[7] = {0, 2, 3, 5, 7, 8, 10};
  const int* sc = minor ? minor_scale : major_scale;
  const int contour[16] = {0, 2, 4, 2, 0, 4, 3, 1, 0, 2, 4, 6, 4, 3, 1, 0};
  std::vector<Note> v;
  for (int rep = 0; rep < 4; ++rep)
    for (int i = 0; i < 16; ++i) {
      int t = (rep * 16 + i) * 480;
      int deg = contour[i];
      v.push_back({t, 0, 72 + sc[deg % 7] + transpose, velocity, 440});
      if (bass && i % 4 == 0) {  // tonic triad in the bass every bar
        for (int d : {0, 2, 4}) v.push_back({t, 0, 48 + sc[d] + transpose, velocity * 3 / 4, 1900});
      }
    }
  return v;
}

MusicDescriptors render_and_describe(const std::string& name, double bpm, const std::vector<Note>& notes) {
  std::string dir = testutil::tmp_dir("midi_" + name);
  write_midi(dir + "/x.mid", bpm, notes);
  testutil::render_midi(dir + "/x.mid", dir + "/x.wav");
  return describe_music(dir + "/x.wav");
}

}  // namespace

TEST(MusicDescriptors, TempoWithinFourPercent) {
  for (double bpm : {90.0, 120.0, 140.0}) {
    MusicDescriptors d = render_and_describe("tempo" + std::to_string(int(bpm)), bpm, groove(48));
    printf("rendered %.0f BPM -> estimated %.2f BPM (confidence %.2f), onset rate %.2f/s\n", bpm, d.tempo_bpm,
           d.tempo_confidence, d.onset_rate_hz);
    EXPECT_NEAR(d.tempo_bpm, bpm, 0.04 * bpm);
    EXPECT_GT(d.onset_rate_hz, bpm / 60 * 0.8);  // at least one onset per beat is found
  }
}

TEST(MusicDescriptors, MajorAndMinorRendersOfOneMelody) {
  MusicDescriptors maj = render_and_describe("major", 100, tune(false, 0, 90));
  MusicDescriptors min = render_and_describe("minor", 100, tune(true, 0, 90));
  printf("major render -> %s %s (r=%.2f); minor render -> %s %s (r=%.2f)\n", maj.key.c_str(), maj.mode.c_str(),
         maj.key_strength, min.key.c_str(), min.mode.c_str(), min.key_strength);
  EXPECT_EQ(maj.mode, "major");
  EXPECT_EQ(min.mode, "minor");
  EXPECT_EQ(maj.key, "C");
  EXPECT_EQ(min.key, "C");
}

TEST(MusicDescriptors, RegisterAndDynamics) {
  // A melody alone: the pitch tracker follows it, so an octave up reads 12 semitones higher.
  MusicDescriptors solo_low = render_and_describe("solo_low", 100, tune(false, 0, 90, false));
  MusicDescriptors solo_high = render_and_describe("solo_high", 100, tune(false, 12, 90, false));
  // With chords below it the register is a spectral estimate: it must still rise.
  MusicDescriptors low = render_and_describe("low", 100, tune(false, 0, 90));
  MusicDescriptors high = render_and_describe("high", 100, tune(false, 12, 90));
  MusicDescriptors soft = render_and_describe("soft", 100, tune(false, 0, 30));
  printf(
      "solo pitch height %.1f -> %.1f an octave up (confidence %.2f); with chords %.1f -> %.1f; centroid %.0f -> %.0f "
      "Hz; "
      "loudness %.1f (v90) vs %.1f LUFS (v30)\n",
      solo_low.pitch_height, solo_high.pitch_height, solo_low.pitch_confidence, low.pitch_height, high.pitch_height,
      low.spectral_centroid_hz, high.spectral_centroid_hz, low.loudness_lufs, soft.loudness_lufs);
  EXPECT_NEAR(solo_high.pitch_height - solo_low.pitch_height, 12.0, 1.0);
  EXPECT_NEAR(solo_low.pitch_height, 76.0, 4.0);  // the melody spans C5..B5 (72..83)
  EXPECT_GT(high.pitch_height, low.pitch_height + 3.0);
  EXPECT_GT(high.spectral_centroid_hz, low.spectral_centroid_hz);
  EXPECT_GT(low.loudness_lufs, soft.loudness_lufs + 4.0);
  EXPECT_GT(low.loudness_lufs, -40.0);
  EXPECT_LT(low.loudness_lufs, 0.0);
}

TEST(MusicDescriptors, SteadyBeatIsConfidentAndArrhythmicMusicFallsBack) {
  // A groove has a clear pulse; sparse notes at random times have none. Version 2 must say so, and then
  // report the event rate (tempo_source "onsets") instead of a tracker's guess.
  MusicDescriptors groove_d = render_and_describe("steady", 120, groove(48));
  std::vector<Note> sparse;
  uint32_t x = 12345;
  int t = 0;
  for (int i = 0; i < 48; ++i) {
    x = x * 1664525u + 1013904223u;
    t += 150 + int(x % 900);  // 0.15 .. 1.05 beats apart, no grid
    sparse.push_back({t, 0, 55 + int((x >> 8) % 20), 80, 700});
  }
  MusicDescriptors sparse_d = render_and_describe("sparse", 60, sparse);
  printf("groove: %.1f BPM, confidence %.2f (%s); sparse: %.1f BPM, confidence %.2f (%s), onsets %.2f/s\n",
         groove_d.tempo_bpm, groove_d.tempo_confidence, groove_d.tempo_source.c_str(), sparse_d.tempo_bpm,
         sparse_d.tempo_confidence, sparse_d.tempo_source.c_str(), sparse_d.onset_rate_hz);
  EXPECT_EQ(groove_d.tempo_source, "beat");
  EXPECT_GE(groove_d.tempo_confidence, kSteadyPulse);
  EXPECT_EQ(sparse_d.tempo_source, "onsets");
  EXPECT_LT(sparse_d.tempo_confidence, kSteadyPulse);
  EXPECT_GE(sparse_d.tempo_bpm, 40);
  EXPECT_LE(sparse_d.tempo_bpm, 160);
}

TEST(MusicDescriptors, VersionOneIsKeptForTheCorpusPanel) {
  // Version 1 (what MPD-Open's labels were made from) has no version-2 fields; version 2 has a mode
  // confidence and the music-emotion estimate with the estimator's version.
  std::string dir = testutil::tmp_dir("midi_versions");
  write_midi(dir + "/x.mid", 100, tune(false, 0, 90));
  testutil::render_midi(dir + "/x.mid", dir + "/x.wav");
  MusicDescriptors v1 = describe_music(dir + "/x.wav", {}, DescriptorVersion::V1);
  MusicDescriptors v2 = describe_music(dir + "/x.wav");
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v2.version, 2);
  EXPECT_TRUE(v1.tempo_source.empty());
  EXPECT_TRUE(v1.emotion_model.empty());
  EXPECT_EQ(v2.mode, "major");
  EXPECT_GE(v2.mode_confidence, kClearMode);
  EXPECT_NE(v2.emotion_model, "none") << "the build carries no fitted music-emotion weights";
  EXPECT_GE(v2.valence, -1.0);
  EXPECT_LE(v2.valence, 1.0);
  // The same samples give the same onset rate, loudness and spectrum in both versions.
  EXPECT_DOUBLE_EQ(v1.onset_rate_hz, v2.onset_rate_hz);
  EXPECT_DOUBLE_EQ(v1.loudness_lufs, v2.loudness_lufs);
  EXPECT_DOUBLE_EQ(v1.spectral_centroid_hz, v2.spectral_centroid_hz);
}
