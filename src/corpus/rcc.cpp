// Qt .rcc reader (see rcc.h). Layout: "qres", u32 version, u32 tree offset, u32 data offset,
// u32 names offset (+ u32 flags from version 3), all big-endian. Tree nodes are 14 bytes (version 1)
// or 22 bytes (version >= 2, with a modification time): u32 name offset, u16 flags, then either
// (u32 child count, u32 first child) for directories or (u16 country, u16 language, u32 data offset).
#include "corpus/rcc.h"

#include <zlib.h>

#include "common/error.h"
#include "common/files.h"

namespace mpjudge {
namespace {

constexpr uint16_t kCompressed = 1, kDirectory = 2, kCompressedZstd = 4;

}  // namespace

RccArchive::RccArchive(const std::string& path) : path_(path), bytes_(read_file(path)) {
  const auto& b = bytes_;
  auto need = [&](uint64_t off, uint64_t n) {
    if (off + n > b.size())
      fail_input(path_, "a Qt resource file (.rcc) with offsets inside the file",
                 "an offset past the end (" + std::to_string(off + n) + " > " + std::to_string(b.size()) + " bytes)");
  };
  auto u16 = [&](uint64_t off) {
    need(off, 2);
    return uint16_t(b[off] << 8 | b[off + 1]);
  };
  auto u32 = [&](uint64_t off) {
    need(off, 4);
    return uint32_t(b[off]) << 24 | uint32_t(b[off + 1]) << 16 | uint32_t(b[off + 2]) << 8 | uint32_t(b[off + 3]);
  };
  if (b.size() < 20 || std::string(b.begin(), b.begin() + 4) != "qres")
    fail_input(path_, "a Qt resource file (.rcc, starting with \"qres\")", describe_kind(sniff(b.data(), b.size())));
  const uint32_t version = u32(4), tree = u32(8), data = u32(12), names = u32(16);
  if (version < 1 || version > 3) fail_input(path_, "rcc format version 1..3", "version " + std::to_string(version));
  const uint64_t node = version >= 2 ? 22 : 14;
  auto name_at = [&](uint32_t off) {
    const uint16_t len = u16(uint64_t(names) + off);
    const uint64_t start = uint64_t(names) + off + 6;  // u16 length, u32 hash, UTF-16BE characters
    need(start, uint64_t(len) * 2);
    std::string s;
    for (uint16_t i = 0; i < len; ++i) {
      const uint16_t c = u16(start + 2ull * i);
      if (c < 0x80) {
        s += char(c);
      } else if (c < 0x800) {
        s += char(0xC0 | (c >> 6)), s += char(0x80 | (c & 0x3F));
      } else {
        s += char(0xE0 | (c >> 12)), s += char(0x80 | ((c >> 6) & 0x3F)), s += char(0x80 | (c & 0x3F));
      }
    }
    return s;
  };
  // Iterative walk with a visit budget: a damaged tree cannot loop forever.
  std::vector<std::pair<uint32_t, std::string>> stack{{0, ""}};
  size_t visits = 0;
  while (!stack.empty()) {
    auto [index, prefix] = stack.back();
    stack.pop_back();
    if (++visits > 1000000) fail_input(path_, "a finite resource tree", "a cycle or over a million nodes");
    const uint64_t p = uint64_t(tree) + uint64_t(index) * node;
    const uint32_t name_off = u32(p);
    const uint16_t flags = u16(p + 4);
    const std::string name = index == 0 ? "" : prefix + "/" + name_at(name_off);
    if (flags & kDirectory) {
      const uint32_t count = u32(p + 6), first = u32(p + 10);
      for (uint32_t c = 0; c < count; ++c) stack.push_back({first + c, name});
    } else {
      const uint64_t off = uint64_t(data) + u32(p + 10);
      Entry e;
      e.size = u32(off);
      e.offset = off + 4;
      e.flags = flags;
      need(e.offset, e.size);
      entries_[name] = e;
    }
  }
}

std::vector<std::string> RccArchive::list() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

std::vector<uint8_t> RccArchive::read(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail_input(path_, "a resource named " + name, "no such entry");
  const Entry& e = it->second;
  const uint8_t* p = bytes_.data() + e.offset;
  if (e.flags & kCompressedZstd) fail_input(path_ + ":" + name, "a zlib-compressed or stored resource", "zstd");
  if (!(e.flags & kCompressed)) return std::vector<uint8_t>(p, p + e.size);
  // qCompress: u32 big-endian uncompressed size, then a zlib stream.
  if (e.size < 4)
    fail_input(path_ + ":" + name, "a compressed resource", "a payload of " + std::to_string(e.size) + " bytes");
  const uLongf expect = uLongf(p[0]) << 24 | uLongf(p[1]) << 16 | uLongf(p[2]) << 8 | uLongf(p[3]);
  if (expect > (256u << 20))
    fail_input(path_ + ":" + name, "a resource under 256 MiB", std::to_string(expect) + " bytes");
  std::vector<uint8_t> out(expect);
  uLongf got = expect;
  if (uncompress(out.data(), &got, p + 4, e.size - 4) != Z_OK || got != expect)
    fail_input(path_ + ":" + name, "a valid zlib stream", "damaged compressed data");
  return out;
}

}  // namespace mpjudge
