// Malformed inputs: each file in tests/data/bad must give one Input error naming the file, what was
// expected and what was found (and never crash or hang).
#include <gtest/gtest.h>

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
