// Malformed inputs: each file in tests/data/bad must give one Input error naming the file, what was
// expected and what was found (and never crash or hang).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/files.h"
#include "test_util.h"

using namespace mpjudge;

namespace {

struct Case {
  const char* file;
  bool music;
  const char* found;  // a phrase the message must contain
};

const Case kCases[] = {
    {"empty.wav", true, "empty file"},
    {"truncated.wav", true, "truncated"},
    {"truncated.flac", true, "truncated"},
    {"truncated.ogg", true, "truncated"},
    {"truncated.mp3", true, "truncated"},
    {"corrupt.ogg", true, "found"},
    {"first_page_only.ogg", true, "1 of them"},  // libsndfile leaked 5.7 KiB on it (see fuzz)
    {"corrupt.flac", true, "corrupt"},
    {"png_named.wav", true, "image (png)"},
    {"text_named.mp3", true, "text file"},
    {"song.mid", true, "MIDI"},
    {"silent.wav", true, "silence"},
    {"too_short.wav", true, "at least 1 s"},
    {"zero_frames.wav", true, "0 frames"},
    {"nan.wav", true, "NaN"},
    {"empty.png", false, "empty file"},
    {"truncated.png", false, "truncated"},
    {"truncated.jpg", false, "truncated"},
    {"corrupt.jpg", false, "corrupt"},
    {"huge.png", false, "100000x100000"},
    {"zero_size.png", false, "0x0"},
    {"animation.gif", false, "GIF"},
    {"html_named.png", false, "HTML"},
    {"wav_named.jpg", false, "audio (wav)"},
    {"random.jpg", false, "unrecognised"},
    {"does_not_exist.png", false, "no such file"},
};

}  // namespace

TEST(BadInput, EachFileGivesAClearInputError) {
  int n = 0;
  for (const Case& c : kCases) {
    std::string path = testutil::data(std::string("bad/") + c.file);
    try {
      if (c.music)
        describe_music(path);
      else
        describe_painting(path);
      ADD_FAILURE() << c.file << ": no error";
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::Input) << c.file << ": " << msg;
      EXPECT_EQ(msg.rfind(path, 0), 0u) << "message must start with the file: " << msg;
      EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
      EXPECT_NE(msg.find("found"), std::string::npos) << msg;
      EXPECT_NE(msg.find(c.found), std::string::npos) << c.file << ": '" << c.found << "' not in: " << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      ++n;
    }
  }
  EXPECT_GE(n, 15);
}

TEST(BadInput, DirectoryInsteadOfFile) {
  try {
    load_image(testutil::data("bad"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos);
  }
}

TEST(BadInput, UsageErrorsAreNotInputErrors) {
  AudioConfig c;
  c.sample_rate = 10;
  try {
    load_audio(testutil::data("chord_22k.flac"), c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
}

// Loads `path` in a child process: its peak RSS in MB, and whether it failed with an Input error
// naming a truncated file.
std::pair<long, bool> load_in_child(const std::string& path, const mpjudge::AudioConfig& cfg = {}) {
  pid_t pid = fork();
  if (pid == 0) {
    try {
      mpjudge::load_audio(path, cfg);
    } catch (const mpjudge::Error& e) {
      _exit(e.kind() == mpjudge::ErrorKind::Input && std::string(e.what()).find("truncated") != std::string::npos ? 0
                                                                                                                  : 2);
    }
    _exit(1);
  }
  int st = 0;
  rusage ru{};
  if (pid < 0 || wait4(pid, &st, 0, &ru) != pid) return {-1, false};
  return {ru.ru_maxrss / 1024, WIFEXITED(st) && WEXITSTATUS(st) == 0};
}

// Headers that claim an hour while the data holds 1.5 s: a clear Input error, and the decoder allocates
// what decodes, not what the header declares (peak RSS of a child process). The declared hour as mono
// float is 318 MB at 22.05 kHz, 691 MB at 48 kHz (before: 472 MB for the FLAC, 471 and 837 MB for the
// Oggs). Bound: 150 MB, of which the process itself is about 20.
TEST(BadInput, LyingLengthHeadersAreRefusedWithoutAllocatingThem) {
  auto bytes = mpjudge::read_file(testutil::data("chord_22k.flac"));
  ASSERT_GE(bytes.size(), 26u);
  ASSERT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "fLaC");
  const uint64_t hour = 22050ULL * 3600;  // total samples: 36 bits from the low nibble of byte 21
  bytes[21] = uint8_t((bytes[21] & 0xF0) | ((hour >> 32) & 0x0F));
  for (int k = 0; k < 4; ++k) bytes[size_t(22 + k)] = uint8_t(hour >> (24 - 8 * k));
  const std::string flac = testutil::tmp_dir("lying") + "/hour.flac";
  mpjudge::write_file_atomic(flac, bytes.data(), bytes.size());
  // The Oggs: chord_22k.ogg with its last page's granule position set to an hour (and, in the second,
  // the identification header's rate set to 48 kHz), page CRCs recomputed.
  for (const std::string& path :
       {flac, testutil::data("bad/lying_hour.ogg"), testutil::data("bad/lying_hour_48k.ogg")}) {
    // Whole, and the judge's middle 30 s (whose window the lying length would place half an hour in).
    mpjudge::AudioConfig middle;
    middle.middle_s = 30;
    for (const mpjudge::AudioConfig& cfg : {mpjudge::AudioConfig{}, middle}) {
      auto [mb, refused] = load_in_child(path, cfg);
      EXPECT_TRUE(refused) << path << ": expected an Input error naming a truncated file (middle_s " << cfg.middle_s
                           << ")";
      printf("%s claiming an hour (middle_s %.0f): child peak RSS %ld MB\n", path.c_str(), cfg.middle_s, mb);
      EXPECT_GT(mb, 0);
      EXPECT_LT(mb, 150) << path;
    }
  }
}

// A PCM WAV whose fmt chunk declares 7 bits per sample is refused, naming what it declares.
TEST(BadInput, WavWithSevenBitsPerSample) {
  auto bytes = mpjudge::read_file(testutil::data("tone440_stereo_44k.wav"));
  size_t fmt = 12;
  while (fmt + 8 < bytes.size() && std::string(bytes.begin() + long(fmt), bytes.begin() + long(fmt) + 4) != "fmt ")
    fmt += 8 + (bytes[fmt + 4] | bytes[fmt + 5] << 8 | bytes[fmt + 6] << 16 | size_t(bytes[fmt + 7]) << 24);
  ASSERT_LT(fmt + 24, bytes.size());
  bytes[fmt + 22] = 7, bytes[fmt + 23] = 0;
  try {
    mpjudge::decode_audio(bytes, "seven.wav");
    ADD_FAILURE() << "a 7-bit WAV was accepted";
  } catch (const mpjudge::Error& e) {
    EXPECT_EQ(e.kind(), mpjudge::ErrorKind::Input);
    EXPECT_NE(std::string(e.what()).find("7 bits per sample"), std::string::npos) << e.what();
  }
}
