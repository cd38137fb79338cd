// Reader for Qt binary resource files (.rcc, format versions 1-3), the container in which Debian's
// gcompris-qt-data ships its paintings, board files and recordings. Entries compressed with zlib
// (qCompress) are inflated; zstd entries are refused with a clear error.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mpjudge {

class RccArchive {
 public:
  // Throws Error(Input) naming `path` when it is not a readable rcc file.
  explicit RccArchive(const std::string& path);
  // Resource paths ("/gcompris/src/activities/...") in sorted order.
  std::vector<std::string> list() const;
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  // Throws Error(Input) for a missing entry or a damaged/unsupported payload.
  std::vector<uint8_t> read(const std::string& name) const;

 private:
  struct Entry {
    uint64_t offset = 0;  // of the payload (after its 4-byte length)
    uint32_t size = 0;
    uint16_t flags = 0;
  };
  std::string path_;
  std::vector<uint8_t> bytes_;
  std::map<std::string, Entry> entries_;
};

}  // namespace mpjudge
