// Golden test: the `paper` network against an independent PyTorch implementation with the authors'
// parameter names (tests/golden/paper_reference.py, CTest fixture golden_paper_reference), loaded
// through the converter tools/convert_paper_checkpoint.py: outputs, modulation maps and every gradient.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/paper.h"
#include "test_util.h"

using namespace mpjudge;

namespace {

torch::Tensor read_f32(const std::string& path, const std::vector<int64_t>& shape) {
  return torch::tensor(testutil::read_f32(path)).view(shape);
}

double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1e-12, b.abs().max().item<double>());
}

}  // namespace

TEST(PaperGolden, OutputsAndGradientsMatchPyTorch) {
  const std::string dir = std::string(MPJUDGE_GOLDEN_DIR) + "/paper";
  std::ifstream mf(dir + "/paper_reference.json");
  ASSERT_TRUE(mf) << "run the golden_paper_reference test first (ctest -L golden)";
  nlohmann::json meta = nlohmann::json::parse(mf);
  const std::string ck_path = dir + "/paper_tiny.mpjc";
  PaperModel model = paper_from_checkpoint(load_checkpoint(ck_path), ck_path);
  model->eval();
  const auto& c = model->config;
  const int64_t N = (c.image_size / c.patch) * (c.image_size / c.patch);
  torch::Tensor img = read_f32(dir + "/image.f32", {2, 3, c.image_size, c.image_size});
  torch::Tensor mel = read_f32(dir + "/mel.f32", {2, 3, c.mel_size, c.mel_size});
  PaperOutput out = model->forward(img, mel);
  torch::Tensor score_ref = read_f32(dir + "/score.f32", {2});
  torch::Tensor maps_ref = read_f32(dir + "/maps.f32", {2, c.layers, N});
  double ds = rel(out.score, score_ref), dm = rel(torch::stack(out.maps, 1), maps_ref);
  printf("paper golden: score max diff %.3g relative, modulation maps %.3g relative\n", ds, dm);
  EXPECT_LE(ds, 1e-4);
  EXPECT_LE(dm, 1e-4);

  torch::Tensor target = torch::tensor(meta["target"].get<std::vector<float>>());
  torch::Tensor loss = (out.score - target).pow(2).mean();
  for (const auto& m : out.maps) loss = loss + 0.1 * m.mean();
  printf("paper golden: loss %.7f (PyTorch %.7f)\n", loss.item<double>(), meta["loss"].get<double>());
  EXPECT_NEAR(loss.item<double>(), meta["loss"].get<double>(), 1e-4 * std::abs(meta["loss"].get<double>()));
  loss.backward();
  double worst = 0;
  std::string worst_name;
  int checked = 0;
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(meta["grads"].contains(p.key())) << p.key();
    const auto& g = meta["grads"][p.key()];
    torch::Tensor ref = read_f32(dir + "/" + g["file"].get<std::string>(), g["shape"].get<std::vector<int64_t>>());
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    double d = rel(p.value().grad(), ref);
    if (d > worst) worst = d, worst_name = p.key();
    ++checked;
  }
  printf("paper golden: %d parameter gradients, worst max diff %.3g relative (%s)\n", checked, worst,
         worst_name.c_str());
  EXPECT_EQ(checked, int(meta["grads"].size()));
  EXPECT_LE(worst, 1e-4);
}

TEST(PaperModel, FullPaperShapesMatchTheAuthorsLayout) {
  // The full-size network: parameter names and count as in model_adain.py's MyModel + Music.
  PaperModel m(PaperConfig::paper());
  int64_t params = 0;
  for (const auto& p : m->parameters()) params += p.numel();
  // visual: patch 3*16*16*1024+1024, pos 256*1024, 12 blocks x (4d^2+4d [attn] + 2d [LN] + 2(d^2+d) [AdaIN]
  // + 8d^2+5d [FFN]), head d+1; music: convs + BN + proj 512*1024+1024.
  const int64_t d = 1024;
  int64_t block = 4 * d * d + 4 * d + 2 * d + 2 * (d * d + d) + 8 * d * d + 5 * d;
  int64_t visual = 3 * 16 * 16 * d + d + 256 * d + 12 * block + d + 1;
  int64_t music = (3 * 16 * 64 + 64) + 2 * 64 + (64 * 16 * 128 + 128) + 2 * 128 + (128 * 16 * 256 + 256) + 2 * 256 +
                  (256 * 16 * 512 + 512) + 2 * 512 + 512 * d + d;
  EXPECT_EQ(params, visual + music);
  auto names = m->named_parameters().keys();
  for (const char* n :
       {"visual.blocks.11.cross_attn.in_proj_weight", "visual.blocks.0.adain2.scale.weight",
        "visual.blocks.3.ffn.2.bias", "visual.pos_embed", "music.encoder.9.weight", "music.proj.weight"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  // A round trip through the checkpoint format keeps every tensor.
  std::string dir = testutil::tmp_dir("paper_ck");
  PaperModel small(PaperConfig::paper_small());
  save_checkpoint(dir + "/s.mpjc", paper_to_checkpoint(small));
  PaperModel back = paper_from_checkpoint(load_checkpoint(dir + "/s.mpjc"), dir + "/s.mpjc");
  auto a = small->named_parameters(), b = back->named_parameters();
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
}

TEST(Checkpoint, WrongTruncatedCorruptForeign) {
  std::string dir = testutil::tmp_dir("ck_bad");
  Checkpoint ck;
  ck.arch = "paper";
  ck.config = PaperConfig{64, 16, 1, 32, 4, 64, {8}, 1e-5}.to_json();
  PaperModel m(PaperConfig::from_json(ck.config));
  ck = paper_to_checkpoint(m);
  save_checkpoint(dir + "/ok.mpjc", ck);
  std::ifstream in(dir + "/ok.mpjc", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto expect_model_error = [&](const std::string& name, const std::string& content, const std::string& phrase) {
    std::ofstream(dir + "/" + name, std::ios::binary) << content;
    try {
      load_checkpoint(dir + "/" + name);
      ADD_FAILURE() << name << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Model) << name;
      EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << name << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  expect_model_error("truncated.mpjc", bytes.substr(0, bytes.size() / 2), "truncated");
  std::string flipped = bytes;
  flipped[flipped.size() - 100] ^= 0x55;
  expect_model_error("corrupt.mpjc", flipped, "corrupt");
  std::string v2 = bytes;
  v2[8] = 2;
  expect_model_error("future.mpjc", v2, "version 2");
  expect_model_error("foreign.mpjc", "PK\x03\x04 a torch.save zip and some more bytes to pass the length check ....",
                     "torch.save");
  expect_model_error("empty.mpjc", "", "empty");
  // Hostile headers (a valid magic and version from `bytes`): refused before any allocation or copy.
  auto forge = [&](const std::string& header, size_t data_bytes) {
    std::string f = bytes.substr(0, 12);
    const uint64_t hlen = header.size();
    f.append(reinterpret_cast<const char*>(&hlen), 8);
    return f + header + std::string(data_bytes, '\0') + std::string(32, '\0');
  };
  expect_model_error("wrapped.mpjc",
                     forge(R"({"tensors": [{"name": "w", "dtype": "f32", "shape": [4], "offset": 18446744073709551608,)"
                           R"( "nbytes": 16}]})",
                           16),
                     "inside the data section");
  expect_model_error("huge_shape.mpjc",
                     forge(R"({"tensors": [{"name": "w", "dtype": "f32", "shape": [1000000000, 1000000000],)"
                           R"( "offset": 0, "nbytes": 16}]})",
                           16),
                     "a shape that matches");
  expect_model_error("no_tensors.mpjc", forge(R"({"arch": "paper"})", 0), "\"tensors\"");
  expect_model_error("bad_entry.mpjc", forge(R"({"tensors": [{"name": "w"}]})", 0), "malformed entry");
  auto sealed = [](std::string f) {  // with a valid checksum: what only the fields' checks can refuse
    unsigned char digest[32];
    SHA256(reinterpret_cast<const unsigned char*>(f.data()), f.size() - 32, digest);
    return f.replace(f.size() - 32, 32, reinterpret_cast<const char*>(digest), 32);
  };
  expect_model_error("arch_list.mpjc", sealed(forge(R"({"arch": [1], "tensors": []})", 0)), "\"arch\" is a string");
  expect_model_error("zero_by_huge.mpjc",
                     forge(R"({"tensors": [{"name": "w", "dtype": "f32", "shape": [0, 9223372036854775809],)"
                           R"( "offset": 0, "nbytes": 0}]})",
                           0),
                     "a shape that matches");
  std::string long_header = forge("{}", 0);
  const uint64_t huge = ~uint64_t(0) - 10;
  long_header.replace(12, 8, reinterpret_cast<const char*>(&huge), 8);
  expect_model_error("huge_header.mpjc", long_header, "truncated");
  // A valid checkpoint of another config: the network refuses it by name.
  Checkpoint other = ck;
  other.tensors.erase("visual.head.bias");
  save_checkpoint(dir + "/missing.mpjc", other);
  try {
    paper_from_checkpoint(load_checkpoint(dir + "/missing.mpjc"), dir + "/missing.mpjc");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("visual.head.bias"), std::string::npos) << e.what();
  }
  // save_checkpoint leaves no temp files behind.
  auto r = system(("ls " + dir + " | grep -c tmp > " + dir + "/count.txt").c_str());
  (void)r;
  std::ifstream cnt(dir + "/count.txt");
  int tmp_files = -1;
  cnt >> tmp_files;
  EXPECT_EQ(tmp_files, 0);
}
