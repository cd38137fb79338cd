// An on-disk cache of named float tensors (encoder outputs), one file per key under a folder.
// Writes are atomic (temp file + rename); a missing, truncated or foreign file is a miss, never an
// error, and is overwritten by the next put. Not a database: no locking beyond rename. A folder given a
// size cap (common/disk_cap.h; `serve --max-cache-mb`) loses its least recently read entries first.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

namespace mpjudge {

class FeatureCache {
 public:
  explicit FeatureCache(std::string dir);  // "" = default folder (see FeatureOptions::cache_dir)
  const std::string& dir() const { return dir_; }
  std::optional<std::map<std::string, at::Tensor>> get(const std::string& key) const;
  // As get, but an entry lacking any of `required` is a miss too (written by an older version).
  std::optional<std::map<std::string, at::Tensor>> get(const std::string& key,
                                                       const std::vector<std::string>& required) const;
  void put(const std::string& key, const std::map<std::string, at::Tensor>& tensors) const;  // best effort
  std::string path_for(const std::string& key) const;

 private:
  std::string dir_;
};

}  // namespace mpjudge
