// The tfjs reader, the feature cache and the feature API: parsing, dequantisation, damaged weights,
// basic-pitch on A4 (a sine and a fluidsynth piano), cache hits and misses, and the features CLI.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/encoders.h"
#include "model/feature_cache.h"
#include "model/tfjs.h"
#include "test_util.h"

using namespace mpjudge;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

template <typename F>
ErrorKind error_kind(F f, std::string* msg = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (msg) *msg = e.what();
    return e.kind();
  }
  return ErrorKind::Internal;  // "no error" shows up as a mismatch
}

}  // namespace

TEST(Tfjs, JsLiteralToJson) {
  auto j = nlohmann::json::parse(tfjs::js_literal_to_json(
      "{a:1,b:!0,c:!1,d:.5,e:-.25,f:8.5e-7,g:'it\\'s',h:\"x:y\",i:[null,void 0],j:{k:{l:2}}}"));
  EXPECT_EQ(j["a"], 1);
  EXPECT_EQ(j["b"], true);
  EXPECT_EQ(j["c"], false);
  EXPECT_DOUBLE_EQ(j["d"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["e"].get<double>(), -0.25);
  EXPECT_DOUBLE_EQ(j["f"].get<double>(), 8.5e-7);
  EXPECT_EQ(j["g"], "it's");
  EXPECT_EQ(j["h"], "x:y");
  EXPECT_TRUE(j["i"][1].is_null());
  EXPECT_EQ(j["j"]["k"]["l"], 2);
  bool is_string = false;
  EXPECT_EQ(tfjs::unwrap_umd_export("!function(){module.exports=e()}({1:[function(e,a,n){a.exports=\"QUJD\"}]})",
                                    "x.js", &is_string),
            "QUJD");
  EXPECT_TRUE(is_string);
  EXPECT_EQ(error_kind([] { tfjs::unwrap_umd_export("var x = 1;", "x.js"); }), ErrorKind::Model);
}

TEST(Tfjs, Base64AndDequantisation) {
  auto b = tfjs::base64_decode("AAECAw==", "t");
  ASSERT_EQ(b, (std::vector<uint8_t>{0, 1, 2, 3}));
  EXPECT_EQ(error_kind([] { tfjs::base64_decode("AA*A", "t"); }), ErrorKind::Model);
  // uint8 q*scale+min, uint16, float16 (1.0, -2.0, 0.5), float32, int32 in one manifest.
  auto manifest = nlohmann::json::parse(R"([{"paths":["s"],"weights":[
    {"name":"u8","shape":[2],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1}},
    {"name":"u16","shape":[1],"dtype":"float32","quantization":{"dtype":"uint16","scale":0.001,"min":0}},
    {"name":"f16","shape":[3],"dtype":"float32","quantization":{"dtype":"float16"}},
    {"name":"f32","shape":[1],"dtype":"float32"},
    {"name":"i32","shape":[1],"dtype":"int32"}]}])");
  std::vector<uint8_t> data{4, 10, 0xE8, 0x03, 0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38};
  float f = 2.5f;
  int32_t i = -7;
  data.insert(data.end(), reinterpret_cast<uint8_t*>(&f), reinterpret_cast<uint8_t*>(&f) + 4);
  data.insert(data.end(), reinterpret_cast<uint8_t*>(&i), reinterpret_cast<uint8_t*>(&i) + 4);
  auto w = tfjs::read_weights(manifest, data, "m.json");
  EXPECT_FLOAT_EQ(w["u8"][0].item<float>(), 1.0f);     // 4 * 0.5 - 1
  EXPECT_FLOAT_EQ(w["u8"][1].item<float>(), 4.0f);     // 10 * 0.5 - 1
  EXPECT_NEAR(w["u16"][0].item<float>(), 1.0f, 1e-6);  // 1000 * 0.001
  EXPECT_FLOAT_EQ(w["f16"][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(w["f16"][1].item<float>(), -2.0f);
  EXPECT_FLOAT_EQ(w["f16"][2].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(w["f32"][0].item<float>(), 2.5f);
  EXPECT_EQ(w["i32"][0].item<int32_t>(), -7);
  std::string msg;
  std::vector<uint8_t> truncated(data.begin(), data.end() - 3);
  EXPECT_EQ(error_kind([&] { tfjs::read_weights(manifest, truncated, "m.json"); }, &msg), ErrorKind::Model);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  std::vector<uint8_t> extra = data;
  extra.push_back(0);
  EXPECT_EQ(error_kind([&] { tfjs::read_weights(manifest, extra, "m.json"); }), ErrorKind::Model);
}

TEST(Tfjs, DamagedOrForeignModelFolders) {
  std::string dir = testutil::tmp_dir("tfjs_bad");
  std::string msg;
  EXPECT_EQ(error_kind([&] { tfjs::load_wrapped_layers_model(dir); }, &msg), ErrorKind::Model);
  EXPECT_NE(msg.find("model.min.js"), std::string::npos) << msg;
  write(dir + "/model.min.js", "<html>not a model</html>");
  EXPECT_EQ(error_kind([&] { tfjs::load_wrapped_layers_model(dir); }, &msg), ErrorKind::Model);
  write(dir + "/model.min.js",
        "a.exports={modelTopology:{},weightsManifest:[{paths:[\"group1\"],weights:[{name:\"w\",shape:[4],dtype:"
        "\"float32\"}]}]}");
  write(dir + "/group1.min.js", "a.exports=\"AAAA\"");  // 3 bytes where 16 are needed
  EXPECT_EQ(error_kind([&] { tfjs::load_wrapped_layers_model(dir); }, &msg), ErrorKind::Model);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_EQ(error_kind([&] { MobileNetV2 net(dir); }), ErrorKind::Model);
}

TEST(BasicPitch, SineA4LightsUpMidi69) {
  BasicPitch bp;
  torch::NoGradGuard no_grad;
  Pcm a4 = testutil::sine(440.0, 2.0, 22050, 0.5);
  auto o = bp.run(a4.samples.data(), a4.samples.size());
  EXPECT_EQ(o.note.size(0), int64_t(2.0 * 22050 * 86 / 22050));
  int64_t best = o.note.mean(0).argmax().item<int64_t>();
  printf("sine 440 Hz: strongest key MIDI %lld, mean posterior %.3f\n", (long long)(best + 21),
         o.note.mean(0)[best].item<float>());
  EXPECT_EQ(best + BasicPitch::kLowestMidi, 69);
}

TEST(BasicPitch, PianoA4LightsUpMidi69) {
  // A4 on the General MIDI piano, rendered by fluidsynth (2 s).
  std::string dir = testutil::tmp_dir("bp_piano");
  const unsigned char midi[] = {'M', 'T',  'h',  'd',  0,    0,   0, 6,    0,    0,    0,    1,
                                1,   0xE0, 'M',  'T',  'r',  'k', 0, 0,    0,    13,   0x00, 0x90,
                                69,  100,  0x8E, 0x00, 0x80, 69,  0, 0x00, 0xFF, 0x2F, 0x00};
  std::ofstream(dir + "/a4.mid", std::ios::binary).write(reinterpret_cast<const char*>(midi), sizeof midi);
  testutil::render_midi(dir + "/a4.mid", dir + "/a4.wav");
  MusicFeatures mf = music_features(dir + "/a4.wav", FeatureOptions{dir + "/cache", false, 0});
  size_t best = size_t(std::max_element(mf.note_activity.begin(), mf.note_activity.end()) - mf.note_activity.begin());
  printf("piano A4: strongest key MIDI %zu (activity %.3f), %d frames\n", best + 21, mf.note_activity[best], mf.frames);
  EXPECT_EQ(best + 21, 69u);
  EXPECT_EQ(mf.pooled.size(), 440u);
}

TEST(FeatureCache, RoundTripAndDamage) {
  std::string dir = testutil::tmp_dir("feature_cache");
  FeatureCache cache(dir);
  EXPECT_FALSE(cache.get("k").has_value());
  at::Tensor a = torch::arange(12, torch::kFloat32).reshape({3, 4});
  cache.put("k", {{"a", a}, {"b", torch::ones({2})}});
  auto hit = cache.get("k");
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(torch::equal(hit->at("a"), a));
  // A truncated file (a crash mid-write would leave only the temp file, but be safe) is a miss.
  std::string path = cache.path_for("k");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  write(path, bytes.substr(0, bytes.size() - 5));
  EXPECT_FALSE(cache.get("k").has_value());
  write(path, "garbage");
  EXPECT_FALSE(cache.get("k").has_value());
}

namespace {

// A cache entry: magic, count, then per tensor: name length, name, ndim, dims (no data unless given).
std::string cache_entry(uint32_t count, uint32_t name_len, const std::string& name, uint32_t ndim,
                        const std::vector<int64_t>& dims, const std::string& data = "") {
  std::string b = "MPJFEAT1";
  auto put = [&](const void* p, size_t n) { b.append(static_cast<const char*>(p), n); };
  put(&count, 4), put(&name_len, 4), b += name, put(&ndim, 4);
  for (int64_t d : dims) put(&d, 8);
  return b + data;
}

}  // namespace

// Hostile or damaged entries are misses: no exception, no crash, and no allocation of what a header
// claims (each read runs in a child process whose peak RSS is measured against the parent's).
TEST(FeatureCache, HostileEntriesAreMissesWithoutLargeAllocations) {
  std::string dir = testutil::tmp_dir("feature_cache_hostile");
  FeatureCache cache(dir);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"huge count", cache_entry(1u << 31, 1, "a", 1, {1})},
      {"huge name length", cache_entry(1, 0xFFFFFFF0u, "a", 1, {1})},
      {"name past the end", cache_entry(1, 200, "a", 1, {1})},
      {"huge ndim", cache_entry(1, 1, "a", 0xFFFFFFFFu, {})},
      {"negative dim", cache_entry(1, 1, "a", 2, {-4, 4})},
      {"dims whose product wraps", cache_entry(1, 1, "a", 8, std::vector<int64_t>(8, 1 << 24))},
      {"256 MB claimed, 16 bytes held", cache_entry(1, 1, "a", 2, {1 << 13, 1 << 13}, std::string(16, '\0'))},
      {"second tensor missing", cache_entry(2, 1, "a", 1, {2}, std::string(8, '\0'))},
  };
  long parent_kb = 0;
  {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    parent_kb = ru.ru_maxrss;
  }
  for (const auto& [what, bytes] : cases) {
    write(cache.path_for("k"), bytes);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        _exit(cache.get("k").has_value() ? 1 : 0);
      } catch (...) {
        _exit(2);
      }
    }
    int st = 0;
    rusage ru{};
    ASSERT_EQ(wait4(pid, &st, 0, &ru), pid);
    ASSERT_TRUE(WIFEXITED(st)) << what << ": the read crashed";
    EXPECT_EQ(WEXITSTATUS(st), 0) << what << (WEXITSTATUS(st) == 1 ? ": read as a hit" : ": threw");
    EXPECT_LT(ru.ru_maxrss - parent_kb, 64 * 1024) << what << ": " << ru.ru_maxrss / 1024 << " MB peak";
  }
}

TEST(Features, PaintingCachedByContent) {
  std::string dir = testutil::tmp_dir("features_painting");
  FeatureOptions fo{dir, true, 0};
  PaintingFeatures a = painting_features(testutil::data("painting_224_a.png"), fo);
  PaintingFeatures b = painting_features(testutil::data("painting_224_a.png"), fo);
  EXPECT_FALSE(a.from_cache);
  EXPECT_TRUE(b.from_cache);
  EXPECT_EQ(a.pooled, b.pooled);
  EXPECT_EQ(a.class_probs, b.class_probs);
  ASSERT_EQ(a.pooled.size(), 1280u);
  EXPECT_EQ(a.sha256.size(), 64u);
  PaintingFeatures c = painting_features(testutil::data("painting_224_b.png"), fo);
  EXPECT_FALSE(c.from_cache);
  EXPECT_NE(c.sha256, a.sha256);
  EXPECT_NE(c.pooled, a.pooled);
  double sum = 0;
  for (float p : a.class_probs) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_EQ(sha256_hex(reinterpret_cast<const uint8_t*>("abc"), 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Features, Cli) {
  std::string dir = testutil::tmp_dir("features_cli");
  setenv("MPJUDGE_CACHE", dir.c_str(), 1);
  auto r = testutil::run_cli("features --painting '" + testutil::data("gradient_32.png") + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["dim"], 1280);
  EXPECT_EQ(j["cached"], false);
  EXPECT_TRUE(j["classes"].contains("Drawing"));
  r = testutil::run_cli("features --painting '" + testutil::data("gradient_32.png") + "' --json");
  EXPECT_EQ(nlohmann::json::parse(r.out)["cached"], true);
  r = testutil::run_cli("features --music '" + testutil::data("pitch_3s_22k.wav") + "' --json --values");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["dim"], 440);
  EXPECT_EQ(j["values"].size(), 440u);
  EXPECT_EQ(j["frames"], 258);
  EXPECT_EQ(testutil::run_cli("features").exit_code, 2);
  EXPECT_EQ(testutil::run_cli("features --music a.wav --painting b.png").exit_code, 2);
  EXPECT_EQ(testutil::run_cli("features --painting '" + testutil::data("bad/truncated.png") + "'").exit_code, 3);
  r = testutil::run_cli("features --painting '" + testutil::data("gradient_32.png") + "' --no-cache");
  EXPECT_EQ(r.exit_code, 0);
  setenv("MPJUDGE_WEIGHTS", (dir + "/nowhere").c_str(), 1);
  r = testutil::run_cli("features --painting '" + testutil::data("painting_224_b.png") + "' --no-cache");
  EXPECT_EQ(r.exit_code, 4) << r.err;  // model error: the weights are missing
  unsetenv("MPJUDGE_WEIGHTS");
}
