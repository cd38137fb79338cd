// Whole-file reading and content sniffing shared by the audio and image front-ends.
// Sniffing looks at magic bytes only; decoding is the front-ends' job.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace mpjudge {

// The folder of the running executable (/proc/self/exe), "." when unknown.
std::string exe_dir();
// The folder of the binary holding this library's code: the executable for the CLI (linked statically),
// the extension module for Python. Shipped files (weights, the default model) are found from it.
std::string library_dir();
bool is_dir(const std::string& path);
// The feature cache folder: `dir` when given, else $MPJUDGE_CACHE, $XDG_CACHE_HOME/mpjudge, ~/.cache/mpjudge.
std::string resolve_cache_dir(const std::string& dir);

// Reads a whole file. Throws Error(Input): missing, a directory, unreadable, or larger than max_bytes.
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes = 1ULL << 31);

// A whole file in memory, read once (no zero-fill): what the decoders read from. Not a memory map: a
// file truncated while mapped raises SIGBUS in whoever reads it, and inputs are users' files. Same
// errors as read_file, plus Error(Input) when the file shrinks while it is read. An empty file gives
// data() == nullptr, size() == 0.
class MappedFile {
 public:
  MappedFile(const std::string& path, uint64_t max_bytes = 1ULL << 31);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

// Writes a whole file via a temp file in the same folder + fsync + rename: readers never see a partial
// file and a failure leaves the old one. Throws Error(Usage) when the folder is not writable,
// Error(Internal) when the write itself fails.
void write_file_atomic(const std::string& path, const void* data, size_t size);
inline void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

// A file written piece by piece that appears whole or not at all: it is written (and flushed line by
// line, so a reader can follow the temp file) to "<path>.partial.<pid>" and renamed over `path` by
// commit(). Destroyed without commit() (an error, an interrupt), it removes the temp file and leaves
// whatever was at `path`. Throws like write_file_atomic.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const std::string& text);
  void commit();
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_, tmp_;
  FILE* f_ = nullptr;
};

// What the first bytes say a file is: "wav", "flac", "ogg", "mp3", "aiff", "midi", "png", "jpeg",
// "webp", "tiff", "bmp", "gif", "pdf", "zip", "html", "text", "empty", or "" when unknown.
std::string sniff(const uint8_t* data, size_t size);
bool is_audio_kind(const std::string& kind);
bool is_image_kind(const std::string& kind);
// Human name for error messages: "a PNG image", "MIDI (symbolic music, not audio)", "an empty file" ...
std::string describe_kind(const std::string& kind);

}  // namespace mpjudge
