// Folder size caps (see disk_cap.h).
#include "common/disk_cap.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

namespace fs = std::filesystem;

namespace mpjudge {
namespace {

struct Cap {
  int64_t max_bytes = 0;
  int64_t bytes = 0;
  bool counted = false;
};

std::mutex g_mu;
std::map<std::string, Cap> g_caps;  // by normalised folder path

std::string key_of(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// The capped folder that holds `dir` (itself or an ancestor), or end().
std::map<std::string, Cap>::iterator find_cap(const std::string& dir) {
  std::string k = key_of(dir);
  for (;;) {
    auto it = g_caps.find(k);
    if (it != g_caps.end()) return it;
    const size_t slash = k.rfind('/');
    if (slash == std::string::npos || slash == 0) return g_caps.end();
    k.resize(slash);
  }
}

// Counts the folder and, when it is over its cap, deletes the least recently used files (files being
// written, "*.tmp.*", are neither counted nor deleted), then empty subfolders.
void rescan(const std::string& dir, Cap& cap) {
  struct Entry {
    fs::file_time_type used;
    int64_t bytes;
    fs::path path;
  };
  std::vector<Entry> files;
  int64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e2;
    if (!it->is_regular_file(e2) || it->path().filename().string().find(".tmp.") != std::string::npos) continue;
    const int64_t n = int64_t(it->file_size(e2));
    if (e2) continue;
    files.push_back({it->last_write_time(e2), n, it->path()});
    total += n;
  }
  cap.counted = true;
  cap.bytes = total;
  if (total <= cap.max_bytes) return;
  std::sort(files.begin(), files.end(),
            [](const Entry& a, const Entry& b) { return a.used != b.used ? a.used < b.used : a.path < b.path; });
  const int64_t target = cap.max_bytes - cap.max_bytes / 10;
  for (const Entry& f : files) {
    if (cap.bytes <= target) break;
    std::error_code e2;
    if (fs::remove(f.path, e2)) {
      cap.bytes -= f.bytes;
      for (fs::path p = f.path.parent_path(); p.string().size() > dir.size(); p = p.parent_path())
        if (!fs::remove(p, e2)) break;  // only empty folders go
    }
  }
}

}  // namespace

void set_disk_cap(const std::string& dir, int64_t max_bytes) {
  std::lock_guard<std::mutex> lock(g_mu);
  const std::string k = key_of(dir);
  if (max_bytes <= 0) {
    g_caps.erase(k);
    return;
  }
  Cap& c = g_caps[k];
  c.max_bytes = max_bytes;
  c.counted = false;
}

void disk_cap_added(const std::string& dir, int64_t bytes) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = find_cap(dir);
  if (it == g_caps.end()) return;
  Cap& c = it->second;
  if (!c.counted)
    rescan(it->first, c);  // counts what was already there, this file included
  else
    c.bytes += bytes;
  if (c.bytes > c.max_bytes) rescan(it->first, c);
}

void touch_file(const std::string& path) { utimensat(AT_FDCWD, path.c_str(), nullptr, 0); }

}  // namespace mpjudge
