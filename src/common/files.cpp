// Whole-file reading and magic-byte sniffing.
#include "common/files.h"

#include <atomic>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/error.h"

namespace mpjudge {

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) fail_input(path, "an existing file", "no such file");
  if (S_ISDIR(st.st_mode)) fail_input(path, "a file", "a directory");
  if (uint64_t(st.st_size) > max_bytes)
    fail_input(path, "at most " + std::to_string(max_bytes) + " bytes", std::to_string(st.st_size) + " bytes");
  std::unique_ptr<FILE, int (*)(FILE*)> f(fopen(path.c_str(), "rb"), fclose);
  if (!f) fail_input(path, "a readable file", std::string("open failed: ") + strerror(errno));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  if (!bytes.empty() && fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
    fail_input(path, "a readable file", "a read error");
  return bytes;
}

MappedFile::MappedFile(const std::string& path, uint64_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 && stat(path.c_str(), &st) != 0) fail_input(path, "an existing file", "no such file");
  if (fd < 0) fail_input(path, "a readable file", std::string("open failed: ") + strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (fstat(fd, &st) != 0) fail_input(path, "a readable file", std::string("stat failed: ") + strerror(errno));
  if (S_ISDIR(st.st_mode)) fail_input(path, "a file", "a directory");
  if (uint64_t(st.st_size) > max_bytes)
    fail_input(path, "at most " + std::to_string(max_bytes) + " bytes", std::to_string(st.st_size) + " bytes");
  size_ = size_t(st.st_size);
  if (size_ == 0) return;
  data_.reset(new uint8_t[size_]);  // uninitialised: read() fills it
  size_t got = 0;
  while (got < size_) {
    const ssize_t n = read(fd, data_.get() + got, size_ - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_input(path, "a readable file", std::string("read failed: ") + strerror(errno));
    if (n == 0)
      fail_input(path, "a file that stays whole while it is read",
                 std::to_string(got) + " of " + std::to_string(size_) + " bytes (it shrank)");
    got += size_t(n);
  }
}

MappedFile::~MappedFile() = default;

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  // Unique per process and call: several threads may write the same path at once (the server's uploads,
  // the feature cache); the last rename wins and every reader sees a whole file.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
  FILE* f = fopen(tmp.c_str(), "wb");
  if (!f) fail_usage(path + ": cannot write here (" + strerror(errno) + ")");
  bool ok = fwrite(data, 1, size, f) == size;
  ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    fail_internal(path + ": writing failed (" + strerror(errno) + "); nothing was replaced");
  }
}

AtomicFile::AtomicFile(const std::string& path) : path_(path), tmp_(path + ".partial." + std::to_string(getpid())) {
  f_ = fopen(tmp_.c_str(), "wb");
  if (!f_) fail_usage(path + ": cannot write here (" + strerror(errno) + ")");
}

AtomicFile::~AtomicFile() {
  if (f_) {
    fclose(f_);
    unlink(tmp_.c_str());
  }
}

void AtomicFile::write(const std::string& text) {
  if (!f_) fail_internal(path_ + ": written after commit");
  if (fwrite(text.data(), 1, text.size(), f_) != text.size() || fflush(f_) != 0)
    fail_internal(path_ + ": writing failed (" + strerror(errno) + "); nothing was replaced");
}

void AtomicFile::commit() {
  if (!f_) return;
  FILE* f = f_;
  f_ = nullptr;
  bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp_.c_str(), path_.c_str()) != 0) {
    unlink(tmp_.c_str());
    fail_internal(path_ + ": writing failed (" + strerror(errno) + "); nothing was replaced");
  }
}

static bool starts(const uint8_t* d, size_t n, const char* magic, size_t at = 0) {
  size_t m = strlen(magic);
  return n >= at + m && memcmp(d + at, magic, m) == 0;
}

// An MPEG audio frame header: 11 sync bits, a valid version, layer, bitrate and rate.
static bool mpeg_frame_at(const uint8_t* d, size_t n, size_t i) {
  if (i + 4 > n || d[i] != 0xFF || (d[i + 1] & 0xE0) != 0xE0) return false;
  int version = (d[i + 1] >> 3) & 3, layer = (d[i + 1] >> 1) & 3;
  int bitrate = d[i + 2] >> 4, rate = (d[i + 2] >> 2) & 3;
  return version != 1 && layer != 0 && bitrate != 0 && bitrate != 15 && rate != 3;
}

std::string sniff(const uint8_t* d, size_t n) {
  if (n == 0) return "empty";
  if (starts(d, n, "RIFF") && starts(d, n, "WAVE", 8)) return "wav";
  if (starts(d, n, "RIFF") && starts(d, n, "WEBP", 8)) return "webp";
  if (starts(d, n, "RF64") || starts(d, n, "BW64")) return "wav";
  if (starts(d, n, "fLaC")) return "flac";
  if (starts(d, n, "OggS")) return "ogg";
  if (starts(d, n, "FORM") && (starts(d, n, "AIFF", 8) || starts(d, n, "AIFC", 8))) return "aiff";
  if (starts(d, n, "ID3")) return "mp3";
  if (mpeg_frame_at(d, n, 0)) return "mp3";
  if (starts(d, n, "MThd")) return "midi";
  if (starts(d, n, "\x89PNG\r\n\x1a\n")) return "png";
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "jpeg";
  if (n >= 4 && memcmp(d, "II*\0", 4) == 0) return "tiff";
  if (n >= 4 && memcmp(d, "MM\0*", 4) == 0) return "tiff";
  if (starts(d, n, "BM") && n >= 26) return "bmp";
  if (starts(d, n, "GIF87a") || starts(d, n, "GIF89a")) return "gif";
  if (starts(d, n, "%PDF")) return "pdf";
  if (starts(d, n, "PK\x03\x04")) return "zip";
  // Text-like: mostly printable in the first 512 bytes.
  size_t probe = n < 512 ? n : 512, printable = 0;
  for (size_t i = 0; i < probe; ++i)
    if (d[i] == '\n' || d[i] == '\r' || d[i] == '\t' || (d[i] >= 32 && d[i] < 127)) ++printable;
  if (printable == probe) {
    std::string head(reinterpret_cast<const char*>(d), probe);
    for (auto& c : head) c = char(tolower(c));
    if (head.find("<html") != std::string::npos || head.find("<!doctype") != std::string::npos) return "html";
    return "text";
  }
  return "";
}

bool is_audio_kind(const std::string& k) {
  return k == "wav" || k == "flac" || k == "ogg" || k == "mp3" || k == "aiff";
}
bool is_image_kind(const std::string& k) {
  return k == "png" || k == "jpeg" || k == "webp" || k == "tiff" || k == "bmp";
}

std::string describe_kind(const std::string& k) {
  if (k == "empty") return "an empty file (0 bytes)";
  if (k == "midi") return "MIDI (symbolic music, not audio: render it to WAV first, e.g. with fluidsynth)";
  if (k == "gif") return "a GIF image (unsupported: convert it to PNG)";
  if (k == "pdf") return "a PDF document";
  if (k == "zip") return "a ZIP archive";
  if (k == "html") return "an HTML document";
  if (k == "text") return "a text file";
  if (k.empty()) return "unrecognised binary data";
  if (is_audio_kind(k)) return "audio (" + k + ")";
  if (is_image_kind(k)) return "an image (" + k + ")";
  return k;
}

std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, size_t(n));
  return p.substr(0, p.rfind('/'));
}

std::string library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&library_dir), &info) == 0 || !info.dli_fname) return exe_dir();
  char buf[PATH_MAX];
  if (!realpath(info.dli_fname, buf)) return exe_dir();
  const std::string p(buf);
  return p.substr(0, p.rfind('/'));
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string resolve_cache_dir(const std::string& dir) {
  if (!dir.empty()) return dir;
  if (const char* e = getenv("MPJUDGE_CACHE")) return e;
  if (const char* x = getenv("XDG_CACHE_HOME")) return std::string(x) + "/mpjudge";
  if (const char* h = getenv("HOME")) return std::string(h) + "/.cache/mpjudge";
  return ".mpjudge-cache";
}

}  // namespace mpjudge
