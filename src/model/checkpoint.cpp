// Checkpoint I/O (see checkpoint.h). Layout:
//   "MPJCKPT\0" | u32 version | u64 header_len | header JSON | data | 32-byte SHA-256(all before it)
// header: {"arch", "config", "meta", "tensors": [{"name", "dtype": "f32"|"i64", "shape", "offset", "nbytes"}]}
#include "model/checkpoint.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <random>

#include "common/error.h"
#include "common/files.h"

namespace mpjudge {
namespace {

constexpr char kMagic[8] = {'M', 'P', 'J', 'C', 'K', 'P', 'T', '\0'};

[[noreturn]] void fail_ck(const std::string& path, const std::string& expected, const std::string& found) {
  throw Error(ErrorKind::Model, path + ": expected " + expected + ", found " + found);
}

}  // namespace

void load_state(torch::nn::Module& module, const Checkpoint& ck, const std::string& path) {
  torch::NoGradGuard no_grad;
  size_t used = 0;
  auto copy = [&](const std::string& name, torch::Tensor& dst) {
    auto it = ck.tensors.find(name);
    if (it == ck.tensors.end())
      throw Error(ErrorKind::Model, path + ": expected tensor " + name + " for this config, found none");
    if (it->second.sizes() != dst.sizes())
      throw Error(ErrorKind::Model, path + ": expected " + name + " of shape " + c10::str(dst.sizes()) + ", found " +
                                        c10::str(it->second.sizes()));
    dst.copy_(it->second.to(dst.scalar_type()));
    ++used;
  };
  for (auto& p : module.named_parameters()) copy(p.key(), p.value());
  for (auto& b : module.named_buffers()) copy(b.key(), b.value());
  if (used != ck.tensors.size()) {
    std::map<std::string, at::Tensor> mine = module_state(module);
    for (const auto& [name, t] : ck.tensors)
      if (!mine.count(name))
        throw Error(ErrorKind::Model, path + ": expected only the tensors of this config, found an extra one: " + name);
  }
}

std::map<std::string, at::Tensor> module_state(torch::nn::Module& module) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : module.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) out[b.key()] = b.value();
  return out;
}

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
  nlohmann::json header{
      {"arch", ck.arch}, {"config", ck.config}, {"meta", ck.meta}, {"tensors", nlohmann::json::array()}};
  std::vector<at::Tensor> order;
  uint64_t offset = 0;
  for (const auto& [name, t0] : ck.tensors) {
    at::Tensor t = t0.detach().cpu().contiguous();
    std::string dtype;
    if (t.scalar_type() == at::kFloat)
      dtype = "f32";
    else if (t.scalar_type() == at::kLong)
      dtype = "i64";
    else
      t = t.to(at::kFloat), dtype = "f32";
    uint64_t nbytes = uint64_t(t.numel()) * t.element_size();
    header["tensors"].push_back(
        {{"name", name}, {"dtype", dtype}, {"shape", t.sizes().vec()}, {"offset", offset}, {"nbytes", nbytes}});
    order.push_back(t);
    offset += nbytes;
  }
  std::string h = header.dump();
  std::string pre(kMagic, 8);
  uint32_t version = kCheckpointVersion;
  uint64_t hlen = h.size();
  pre.append(reinterpret_cast<const char*>(&version), 4);
  pre.append(reinterpret_cast<const char*>(&hlen), 8);
  pre += h;

  std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(std::random_device{}());
  FILE* f = fopen(tmp.c_str(), "wb");
  if (!f) throw Error(ErrorKind::Internal, path + ": cannot write a checkpoint (" + strerror(errno) + ")");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> sha(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  bool ok = fwrite(pre.data(), 1, pre.size(), f) == pre.size();
  EVP_DigestUpdate(sha.get(), pre.data(), pre.size());
  for (const auto& t : order) {
    size_t n = size_t(t.numel()) * t.element_size();
    ok = ok && fwrite(t.data_ptr(), 1, n, f) == n;
    EVP_DigestUpdate(sha.get(), t.data_ptr(), n);
  }
  unsigned char digest[32];
  unsigned int dlen = 0;
  EVP_DigestFinal_ex(sha.get(), digest, &dlen);
  ok = ok && fwrite(digest, 1, 32, f) == 32;
  ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    throw Error(ErrorKind::Internal,
                path + ": writing the checkpoint failed (" + strerror(errno) + "); nothing was replaced");
  }
}

Checkpoint load_checkpoint(const std::string& path) {
  std::vector<uint8_t> b;
  try {
    b = read_file(path, 1ULL << 34);
  } catch (const Error& e) {
    throw Error(ErrorKind::Model, e.what());
  }
  if (b.size() < 20 + 32 || memcmp(b.data(), kMagic, 8) != 0) {
    std::string kind = sniff(b.data(), b.size());
    if (b.size() >= 2 && b[0] == 'P' && b[1] == 'K')
      kind = "a ZIP archive (a PyTorch torch.save file? convert it with tools/convert_paper_checkpoint.py)";
    else
      kind = describe_kind(kind);
    fail_ck(path, "an mpjudge checkpoint (magic MPJCKPT)",
            b.size() < 52 && kind.find("empty") == std::string::npos ? "a file too short to be one" : kind);
  }
  uint32_t version;
  uint64_t hlen;
  memcpy(&version, b.data() + 8, 4);
  memcpy(&hlen, b.data() + 12, 8);
  if (version != kCheckpointVersion)
    fail_ck(path, "checkpoint format version " + std::to_string(kCheckpointVersion),
            "version " + std::to_string(version) + " (written by another mpjudge release)");
  if (hlen > b.size() || 20 + hlen + 32 > b.size())  // the first test keeps the sum from wrapping
    fail_ck(path, "a complete checkpoint", "a truncated file (header runs past the end)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(b.begin() + 20, b.begin() + 20 + long(hlen));
  } catch (const nlohmann::json::exception&) {
    fail_ck(path, "a JSON checkpoint header", "unparseable bytes");
  }
  if (!header.is_object() || !header.contains("tensors") || !header["tensors"].is_array())
    fail_ck(path, "a header with a \"tensors\" list", "none");
  // Every tensor entry is checked before anything is allocated or copied: a hostile header must not
  // wrap offset + nbytes, point outside the data, or declare a shape larger than its bytes.
  uint64_t data_start = 20 + hlen, data_len = 0;
  const uint64_t room = b.size() - data_start - 32;
  for (const auto& t : header["tensors"]) {
    const bool ok_fields = t.is_object() && t.contains("name") && t["name"].is_string() && t.contains("offset") &&
                           t["offset"].is_number_unsigned() && t.contains("nbytes") &&
                           t["nbytes"].is_number_unsigned() && t.contains("shape") && t["shape"].is_array() &&
                           t.contains("dtype") && t["dtype"].is_string();
    if (!ok_fields) fail_ck(path, "tensor entries with name, dtype, shape, offset and nbytes", "a malformed entry");
    const std::string name = t["name"];
    const uint64_t off = t["offset"], nbytes = t["nbytes"];
    if (off > room || nbytes > room - off)
      fail_ck(path, "tensor " + name + " inside the data section (" + std::to_string(room) + " bytes)",
              "offset " + std::to_string(off) + " + " + std::to_string(nbytes) + " bytes");
    const std::string dtype = t["dtype"];
    if (dtype != "f32" && dtype != "i64") fail_ck(path, "dtype f32 or i64 for " + name, "'" + dtype + "'");
    uint64_t elems = 1;
    for (const auto& d : t["shape"]) {
      if (!d.is_number_unsigned()) fail_ck(path, "a shape of non-negative integers for " + name, d.dump());
      const uint64_t n = d.get<uint64_t>();
      if (n > (uint64_t(1) << 40) || (n != 0 && elems > nbytes / n))
        fail_ck(path, "a shape that matches " + std::to_string(nbytes) + " bytes for " + name, t["shape"].dump());
      elems *= n;
    }
    if (elems * (dtype == "i64" ? 8 : 4) != nbytes)
      fail_ck(path, "tensor sizes that match their shapes", "a mismatch for " + name);
    data_len = std::max<uint64_t>(data_len, off + nbytes);
  }
  if (data_start + data_len + 32 != b.size())
    fail_ck(path, std::to_string(data_start + data_len + 32) + " bytes",
            std::to_string(b.size()) + " bytes (truncated or padded)");
  unsigned char digest[32];
  SHA256(b.data(), size_t(data_start + data_len), digest);
  if (memcmp(digest, b.data() + data_start + data_len, 32) != 0)
    fail_ck(path, "a checksum that matches the contents", "a corrupt file");
  auto field = [&](const char* key, nlohmann::json::value_t type, nlohmann::json fallback) {
    if (!header.contains(key)) return fallback;
    const nlohmann::json& v = header[key];
    if (v.type() != type)
      fail_ck(path,
              std::string("a header whose \"") + key + "\" is " +
                  (type == nlohmann::json::value_t::string ? "a string" : "an object"),
              v.type_name());
    return v;
  };
  Checkpoint ck;
  ck.arch = field("arch", nlohmann::json::value_t::string, "").get<std::string>();
  ck.config = field("config", nlohmann::json::value_t::object, nlohmann::json::object());
  ck.meta = field("meta", nlohmann::json::value_t::object, nlohmann::json::object());
  for (const auto& t : header["tensors"]) {
    std::string dtype = t.at("dtype");
    auto shape = t.at("shape").get<std::vector<int64_t>>();
    at::Tensor x = torch::empty(shape, dtype == "i64" ? at::kLong : at::kFloat);
    uint64_t nbytes = t.at("nbytes"), off = t.at("offset");
    if (nbytes != uint64_t(x.numel()) * x.element_size())
      fail_ck(path, "tensor sizes that match their shapes", "a mismatch for " + t.at("name").get<std::string>());
    memcpy(x.data_ptr(), b.data() + data_start + off, nbytes);
    ck.tensors[t.at("name")] = x;
  }
  return ck;
}

}  // namespace mpjudge
