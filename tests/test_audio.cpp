// Audio front-end: decoding of every supported container, downmix, resampling, clip selection, windows.
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "common/files.h"
#include "test_util.h"

using namespace mpjudge;
using testutil::data;

namespace {

// Frequency of the strongest periodic component, by counting upward zero crossings.
double zero_cross_freq(const Pcm& p) {
  int crossings = 0;
  for (size_t i = 1; i < p.samples.size(); ++i)
    if (p.samples[i - 1] < 0 && p.samples[i] >= 0) ++crossings;
  return crossings / p.duration_s();
}

double rms(const Pcm& p) {
  double s = 0;
  for (float v : p.samples) s += double(v) * v;
  return std::sqrt(s / double(p.samples.size()));
}

}  // namespace

TEST(Audio, WavStereo44kToMono22k) {
  Pcm p = load_audio(data("tone440_stereo_44k.wav"));
  EXPECT_EQ(p.sample_rate, 22050);
  EXPECT_NEAR(p.duration_s(), 1.0, 0.002);
  EXPECT_NEAR(zero_cross_freq(p), 440.0, 2.0);
  EXPECT_NEAR(rms(p), 0.5 / std::sqrt(2.0), 0.01);  // both channels equal: downmix keeps the level
}

TEST(Audio, NativeRateKeepsSamples) {
  AudioConfig c;
  c.sample_rate = 44100;
  Pcm p = load_audio(data("tone440_stereo_44k.wav"), c);
  EXPECT_EQ(p.samples.size(), 44100u);
}

TEST(Audio, AllContainersDecode) {
  for (const char* f : {"chord_22k.flac", "chord_22k.ogg", "chord_44k.mp3"}) {
    Pcm p = load_audio(data(f));
    EXPECT_EQ(p.sample_rate, 22050) << f;
    EXPECT_NEAR(p.duration_s(), 1.5, 0.08) << f;           // MP3 adds encoder delay/padding
    EXPECT_NEAR(rms(p), 0.2 * std::sqrt(1.5), 0.06) << f;  // three tones of amplitude 0.2
  }
}

TEST(Audio, FormatComesFromContentNotExtension) {
  std::string dir = testutil::tmp_dir("audio_ext");
  std::ifstream src(data("chord_22k.flac"), std::ios::binary);
  std::ofstream dst(dir + "/really_flac.mp3", std::ios::binary);
  dst << src.rdbuf();
  dst.close();
  Pcm p = load_audio(dir + "/really_flac.mp3");
  EXPECT_NEAR(p.duration_s(), 1.5, 0.01);
}

TEST(Audio, MemoryAndFileAgree) {
  auto bytes = read_file(data("chord_22k.ogg"));
  Pcm a = decode_audio(bytes, "mem.ogg"), b = load_audio(data("chord_22k.ogg"));
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (size_t i = 0; i < a.samples.size(); ++i) ASSERT_EQ(a.samples[i], b.samples[i]);
}

TEST(Audio, ClipSelection) {
  AudioConfig full;
  full.sample_rate = 44100;
  Pcm all = load_audio(data("tone440_stereo_44k.wav"), full);
  AudioConfig clip = full;
  clip.offset_s = 0.25;
  clip.duration_s = 0.5;
  Pcm part = load_audio(data("tone440_stereo_44k.wav"), clip);
  ASSERT_EQ(part.samples.size(), 22050u);
  for (size_t i = 0; i < part.samples.size(); ++i) ASSERT_EQ(part.samples[i], all.samples[11025 + i]);
  clip.offset_s = 5.0;
  try {
    load_audio(data("tone440_stereo_44k.wav"), clip);
    FAIL() << "offset past the end must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("offset"), std::string::npos) << e.what();
  }
}

TEST(Audio, ResampleQualitiesAgree) {
  AudioConfig best, fast;
  best.quality = ResampleQuality::VeryHigh;
  fast.quality = ResampleQuality::Medium;
  Pcm a = load_audio(data("tone440_stereo_44k.wav"), best), b = load_audio(data("tone440_stereo_44k.wav"), fast);
  ASSERT_NEAR(double(a.samples.size()), double(b.samples.size()), 2);
  double diff = 0;
  for (size_t i = 1000; i < 20000; ++i) diff = std::max(diff, double(std::fabs(a.samples[i] - b.samples[i])));
  EXPECT_LT(diff, 0.01);
}

TEST(Audio, WindowsOverALongTrack) {
  auto w = window_starts(100, 10, 5);
  ASSERT_EQ(w.size(), 5u);
  EXPECT_DOUBLE_EQ(w[0], 0);
  EXPECT_DOUBLE_EQ(w[1], 22.5);
  EXPECT_DOUBLE_EQ(w[4], 90);
  EXPECT_EQ(window_starts(5, 10, 3), std::vector<double>{0.0});
  EXPECT_EQ(window_starts(30, 10, 1), std::vector<double>{10.0});
  Pcm p = testutil::sine(440, 1.0, 1000);
  Pcm c = cut(p, 0.5, 1.0);  // runs 0.5 s past the end: zero-padded
  ASSERT_EQ(c.samples.size(), 1000u);
  EXPECT_EQ(c.samples[10], p.samples[510]);
  EXPECT_EQ(c.samples[900], 0.0f);
  EXPECT_THROW(window_starts(10, 0, 3), Error);
}

TEST(Audio, MelPeaksAtTheToneBand) {
  Pcm p = testutil::sine(1000, 1.0, 22050);
  Spectrogram s = mel_spectrogram(p);
  ASSERT_EQ(s.n_mels, 128);
  ASSERT_EQ(s.n_frames, 1 + 22050 / 512);
  int t = s.n_frames / 2, best = 0;
  for (int m = 0; m < s.n_mels; ++m)
    if (s.data[size_t(m * s.n_frames + t)] > s.data[size_t(best * s.n_frames + t)]) best = m;
  // HTK mel of 1000 Hz is 1000; band centres are evenly spaced in mel up to mel(11025).
  double centre_mel = 2595.0 * std::log10(1 + 11025.0 / 700) * (best + 1) / 129.0;
  EXPECT_NEAR(centre_mel, 1000.0, 40.0);
  MelConfig wrong;
  wrong.sample_rate = 16000;
  EXPECT_THROW(mel_spectrogram(p, wrong), Error);
}

// Long compressed clips decode in parallel parts after sample-accurate seeks: bit-identical results.
TEST(Audio, ParallelDecodeIsBitIdentical) {
  std::string dir = testutil::tmp_dir("audio_parallel");
  for (int format : {SF_FORMAT_OGG | SF_FORMAT_VORBIS, SF_FORMAT_FLAC | SF_FORMAT_PCM_16}) {
    std::string path = dir + ((format & SF_FORMAT_OGG) ? "/long.ogg" : "/long.flac");
    SF_INFO info{};
    info.samplerate = 44100;
    info.channels = 2;
    info.format = format;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
    std::vector<float> buf(44100 * 2);
    for (int sec = 0; sec < 12; ++sec) {
      for (int i = 0; i < 44100; ++i) {
        double t = sec + i / 44100.0;
        buf[size_t(2 * i)] = float(0.3 * std::sin(2 * M_PI * (220 + 20 * sec) * t));
        buf[size_t(2 * i + 1)] = float(0.2 * std::sin(2 * M_PI * 330 * t) * std::sin(2 * M_PI * 0.5 * t));
      }
      sf_writef_float(f, buf.data(), 44100);
    }
    sf_close(f);
    for (double offset : {0.0, 1.37}) {
      AudioConfig one, two;
      one.threads = 1;
      two.threads = 2;
      one.offset_s = two.offset_s = offset;
      one.duration_s = two.duration_s = 9.0;
      Pcm a = load_audio(path, one), b = load_audio(path, two);
      ASSERT_EQ(a.samples.size(), b.samples.size()) << path;
      EXPECT_NEAR(a.duration_s(), 9.0, 0.001);
      for (size_t i = 0; i < a.samples.size(); ++i) ASSERT_EQ(a.samples[i], b.samples[i]) << path << " at " << i;
    }
  }
}

// AudioConfig::middle_s decodes and resamples around the middle window only: the same samples as cutting
// the middle out of the whole track, for every container and rate pairing (2:1, 48k -> 22.05k, equal
// rates), tracks shorter than the window whole, an MP3 (decoded whole, resampled around the window).
TEST(Audio, MiddleWindowIsTheCutOfTheWholeTrack) {
  std::string dir = testutil::tmp_dir("audio_middle");
  struct Case {
    const char* name;
    int format, rate;
    double seconds;
  };
  const Case cases[] = {{"/a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 12.3},
                        {"/b.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 11.0},
                        {"/c.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 10.7},
                        {"/d.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 32000, 9.9},
                        {"/short.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 4.0}};
  std::vector<std::string> paths;
  for (const Case& c : cases) {
    const std::string path = dir + c.name;
    SF_INFO info{};
    info.samplerate = c.rate;
    info.channels = 2;
    info.format = c.format;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
    const int n = int(c.seconds * c.rate);
    std::vector<float> buf(size_t(2 * n));
    for (int i = 0; i < n; ++i) {  // a glide and a tremolo tone: every window differs
      double t = double(i) / c.rate;
      buf[size_t(2 * i)] = float(0.3 * std::sin(2 * M_PI * (200 + 30 * t) * t));
      buf[size_t(2 * i + 1)] = float(0.2 * std::sin(2 * M_PI * 330 * t) * std::sin(2 * M_PI * 0.7 * t));
    }
    sf_writef_float(f, buf.data(), n);
    sf_close(f);
    paths.push_back(path);
  }
  paths.push_back(data("chord_44k.mp3"));
  for (const std::string& path : paths) {
    const double window = path.find(".mp3") != std::string::npos ? 1.0 : 5.0;
    AudioConfig whole_cfg, middle_cfg;
    whole_cfg.threads = middle_cfg.threads = 1;
    middle_cfg.middle_s = window;
    const Pcm whole = load_audio(path, whole_cfg), middle = load_audio(path, middle_cfg);
    const Pcm want =
        whole.duration_s() > window ? cut(whole, window_starts(whole.duration_s(), window, 1)[0], window) : whole;
    ASSERT_EQ(middle.sample_rate, 22050);
    ASSERT_EQ(middle.samples.size(), want.samples.size()) << path;
    double diff = 0;
    for (size_t i = 0; i < want.samples.size(); ++i)
      diff = std::max(diff, double(std::fabs(middle.samples[i] - want.samples[i])));
    printf("%s: middle %.1f s of %.2f s, max diff against the cut of the whole track %.2g\n", path.c_str(), window,
           whole.duration_s(), diff);
    EXPECT_LT(diff, 1e-5) << path;
  }
  AudioConfig both;
  both.middle_s = 5;
  both.offset_s = 1;
  EXPECT_THROW(load_audio(paths[0], both), Error);
}

// Inputs are read into memory, not mapped: a file truncated after it was opened cannot crash the reader
// (with a memory map, touching the vanished pages raised SIGBUS).
TEST(Audio, AFileTruncatedAfterReadingIsStillWhole) {
  const std::string path = testutil::tmp_dir("truncate") + "/clip.wav";
  const auto bytes = mpjudge::read_file(testutil::data("tone440_stereo_44k.wav"));
  mpjudge::write_file_atomic(path, bytes.data(), bytes.size());
  mpjudge::MappedFile f(path);
  ASSERT_EQ(truncate(path.c_str(), 0), 0);
  uint64_t sum = 0;
  for (size_t i = 0; i < f.size(); ++i) sum += f.data()[i];
  uint64_t want = 0;
  for (uint8_t b : bytes) want += b;
  EXPECT_EQ(sum, want);
}
