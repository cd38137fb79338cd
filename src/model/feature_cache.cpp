// On-disk feature cache (see feature_cache.h). File layout, little-endian:
//   "MPJFEAT1" | u32 count | count x { u32 name_len | name | u32 ndim | i64 dims[ndim] | f32 data[] }
#include "model/feature_cache.h"

#include <torch/types.h>

#include "common/disk_cap.h"
#include "common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

namespace mpjudge {
namespace {

constexpr char kMagic[8] = {'M', 'P', 'J', 'F', 'E', 'A', 'T', '1'};

void mkdirs(const std::string& path) {
  for (size_t p = 1; p <= path.size(); ++p)
    if (p == path.size() || path[p] == '/') mkdir(path.substr(0, p).c_str(), 0755);
}

}  // namespace

FeatureCache::FeatureCache(std::string dir) : dir_(resolve_cache_dir(dir)) {}

std::string FeatureCache::path_for(const std::string& key) const {
  std::string safe = key;
  for (char& c : safe)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) c = '_';
  return dir_ + "/" + safe + ".feat";
}

// Every length and shape is checked against what is left of the file before anything is allocated: a
// damaged or hostile entry is a miss, never a crash or a large allocation.
std::optional<std::map<std::string, at::Tensor>> FeatureCache::get(const std::string& key) const {
  const std::string path = path_for(key);
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return std::nullopt;
  int64_t left = int64_t(f.tellg());
  f.seekg(0);
  auto take = [&](void* dst, int64_t n) {
    if (n < 0 || n > left || !f.read(static_cast<char*>(dst), std::streamsize(n))) return false;
    left -= n;
    return true;
  };
  char magic[8];
  uint32_t count = 0;
  if (!take(magic, 8) || memcmp(magic, kMagic, 8) != 0 || !take(&count, 4) || count > 64) return std::nullopt;
  std::map<std::string, at::Tensor> out;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len = 0, ndim = 0;
    if (!take(&len, 4) || len > 256) return std::nullopt;
    std::string name(len, '\0');
    if (!take(name.data(), len) || !take(&ndim, 4) || ndim > 8) return std::nullopt;
    std::vector<int64_t> dims(ndim);
    if (!take(dims.data(), int64_t(8 * ndim))) return std::nullopt;
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d < 0 || d > (1 << 24)) return std::nullopt;
      n *= d;
      if (n > (1 << 26) || 4 * n > left) return std::nullopt;  // more data than the file holds
    }
    at::Tensor t = torch::empty(dims, torch::kFloat32);
    if (!take(t.data_ptr(), 4 * n)) return std::nullopt;
    out[name] = t;
  }
  touch_file(path);  // used now: the last to go under a disk cap
  return out;
}

std::optional<std::map<std::string, at::Tensor>> FeatureCache::get(const std::string& key,
                                                                   const std::vector<std::string>& required) const {
  auto hit = get(key);
  if (!hit) return hit;
  for (const auto& name : required)
    if (!hit->count(name)) return std::nullopt;
  return hit;
}

void FeatureCache::put(const std::string& key, const std::map<std::string, at::Tensor>& tensors) const {
  mkdirs(dir_);
  const std::string final_path = path_for(key);
  std::string tmp = final_path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(std::random_device{}());
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) return;  // an unwritable cache folder only costs speed
    f.write(kMagic, 8);
    uint32_t count = uint32_t(tensors.size());
    f.write(reinterpret_cast<const char*>(&count), 4);
    for (const auto& [name, t0] : tensors) {
      at::Tensor t = t0.to(torch::kFloat32).contiguous();
      uint32_t len = uint32_t(name.size()), ndim = uint32_t(t.dim());
      f.write(reinterpret_cast<const char*>(&len), 4);
      f.write(name.data(), len);
      f.write(reinterpret_cast<const char*>(&ndim), 4);
      for (int64_t d : t.sizes()) f.write(reinterpret_cast<const char*>(&d), 8);
      f.write(static_cast<const char*>(t.data_ptr()), std::streamsize(4 * t.numel()));
    }
    f.flush();
    if (!f) {
      f.close();
      unlink(tmp.c_str());
      return;
    }
  }
  struct stat st {};
  if (rename(tmp.c_str(), final_path.c_str()) != 0)
    unlink(tmp.c_str());
  else if (stat(final_path.c_str(), &st) == 0)
    disk_cap_added(dir_, int64_t(st.st_size));
}

}  // namespace mpjudge
