// Front-ends on the real paintings and music in ../shared/data (developers and CI have it; users don't,
// so these tests skip when it is absent). Checks ranges and a few known facts, not exact values.
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <cstdio>

#include "test_util.h"

using namespace mpjudge;
using testutil::shared;

namespace {

std::vector<std::string> list(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > ext.size() && n.compare(n.size() - ext.size(), ext.size(), ext) == 0) out.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(RealMedia, LibrosaClips) {
  if (!testutil::have_shared()) GTEST_SKIP() << "../shared/data not present";
  auto clips = list(shared("music/librosa"), ".ogg");
  ASSERT_GE(clips.size(), 8u);
  for (const auto& f : clips) {
    MusicDescriptors d = describe_music(f);
    printf("%-70s %6.1f BPM %-2s %-5s %6.1f LUFS centroid %6.0f Hz pitch %5.1f\n", f.substr(f.rfind('/') + 1).c_str(),
           d.tempo_bpm, d.key.c_str(), d.mode.c_str(), d.loudness_lufs, d.spectral_centroid_hz, d.pitch_height);
    EXPECT_GT(d.tempo_bpm, 40) << f;
    EXPECT_LT(d.tempo_bpm, 220) << f;
    EXPECT_GT(d.loudness_lufs, -40) << f;
    EXPECT_LT(d.loudness_lufs, 0) << f;
    EXPECT_GT(d.spectral_centroid_hz, 200) << f;
    EXPECT_LT(d.spectral_centroid_hz, 6000) << f;
    EXPECT_GT(d.pitch_height, 30) << f;
    EXPECT_LT(d.pitch_height, 100) << f;
    EXPECT_GT(d.duration_s, 1) << f;
    if (f.find("Sugar_Plum") != std::string::npos) {  // Tchaikovsky wrote it in E minor
      EXPECT_EQ(d.key, "E");
      EXPECT_EQ(d.mode, "minor");
    }
  }
}

TEST(RealMedia, PaintingsDecodeAndDescribe) {
  if (!testutil::have_shared()) GTEST_SKIP() << "../shared/data not present";
  auto paintings = list(shared("paintings/kandinsky512"), ".jpg");
  auto gcompris = list(shared("paintings/gcompris"), ".png");
  ASSERT_GE(paintings.size(), 250u);
  ASSERT_GE(gcompris.size(), 20u);
  paintings.insert(paintings.end(), gcompris.begin(), gcompris.end());
  for (const auto& f : paintings) {
    PaintingDescriptors d = describe_painting(f);
    ASSERT_GT(d.width, 0) << f;
    EXPECT_GE(d.lightness, 0) << f;
    EXPECT_LE(d.lightness, 100) << f;
    EXPECT_GE(d.angularity, 0) << f;
    EXPECT_LE(d.angularity, 1) << f;
    EXPECT_GE(d.edge_density, 0) << f;
    EXPECT_LT(d.edge_density, 0.6) << f;
    EXPECT_GE(d.emotion.happy, -1) << f;
    EXPECT_LE(d.emotion.happy, 1) << f;
  }
}

TEST(RealMedia, KnownContrastsBetweenPaintings) {
  if (!testutil::have_shared()) GTEST_SKIP() << "../shared/data not present";
  PaintingDescriptors starry = describe_painting(shared("paintings/classics/starry_night.jpg"));
  PaintingDescriptors mondrian = describe_painting(shared("paintings/classics/mondrian.jpg"));
  PaintingDescriptors scream = describe_painting(shared("paintings/classics/the_scream.jpg"));
  // Van Gogh's swirls against Mondrian's grid: curved vs straight edges; a blue night vs a white ground.
  EXPECT_GT(mondrian.angularity, starry.angularity + 0.1);
  EXPECT_LT(starry.b, 0.0);
  EXPECT_GT(mondrian.lightness, starry.lightness + 10);
  // Munch's red-orange sky against Van Gogh's blue night: redder, yellower, angrier colours.
  EXPECT_GT(scream.a, starry.a + 5);
  EXPECT_GT(scream.b, starry.b + 20);
  EXPECT_GT(scream.emotion.angry, starry.emotion.angry + 0.1);
}
