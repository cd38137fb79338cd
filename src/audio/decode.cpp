// Audio decoding: bytes -> mono float PCM at the configured rate.
// libsndfile for WAV/FLAC/OGG(Vorbis/Opus)/AIFF, libmpg123 for MP3, libsamplerate for resampling.
// Formats are detected from content (common/files.h), never trusted from the file extension.
#include <mpg123.h>
#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>

#include "common/error.h"
#include "common/files.h"

namespace mpjudge {
namespace {

// ---- libsndfile from memory ----------------------------------------------------------------------
struct MemFile {
  const std::vector<uint8_t>* bytes;
  sf_count_t pos = 0;
};
sf_count_t mem_len(void* u) { return sf_count_t(static_cast<MemFile*>(u)->bytes->size()); }
sf_count_t mem_seek(sf_count_t off, int whence, void* u) {
  auto* m = static_cast<MemFile*>(u);
  sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : mem_len(u);
  sf_count_t p = base + off;
  if (p < 0) return -1;
  m->pos = std::min(p, mem_len(u));
  return m->pos;
}
sf_count_t mem_read(void* dst, sf_count_t n, void* u) {
  auto* m = static_cast<MemFile*>(u);
  sf_count_t left = mem_len(u) - m->pos, k = std::max<sf_count_t>(0, std::min(n, left));
  if (k) memcpy(dst, m->bytes->data() + m->pos, size_t(k));
  m->pos += k;
  return k;
}
sf_count_t mem_write(const void*, sf_count_t, void*) { return 0; }
sf_count_t mem_tell(void* u) { return static_cast<MemFile*>(u)->pos; }

struct Interleaved {
  int rate = 0, channels = 0;
  std::vector<float> samples;  // interleaved
  int64_t declared_frames = -1;
};

// libsndfile quietly shortens a WAV whose data chunk runs past the end of the file, and computes an
// Ogg stream's length from its last page; both hide a partial download. Check the containers here.
void check_container(const std::vector<uint8_t>& b, const std::string& name, const std::string& kind) {
  auto le32 = [&](size_t o) { return uint32_t(b[o]) | uint32_t(b[o + 1]) << 8 | uint32_t(b[o + 2]) << 16 | uint32_t(b[o + 3]) << 24; };
  if (kind == "wav" && b.size() >= 12 && memcmp(b.data(), "RIFF", 4) == 0) {
    size_t pos = 12;
    while (pos + 8 <= b.size()) {
      uint64_t len = le32(pos + 4);
      if (memcmp(b.data() + pos, "data", 4) == 0) {
        if (len != 0xFFFFFFFFu && pos + 8 + len > b.size())
          fail_input(name, "complete WAV audio", "a truncated file: the data chunk declares " + std::to_string(len) + " bytes, the file holds " + std::to_string(b.size() - pos - 8));
        return;
      }
      pos += 8 + len + (len & 1);
    }
    return;  // no data chunk: libsndfile reports it
  }
  if (kind == "ogg") {
    // The last page must be complete and carry the end-of-stream flag.
    size_t last = std::string::npos;
    for (size_t i = b.size() >= 4 ? b.size() - 4 : 0; i + 1 > 0; --i) {
      if (b[i] == 'O' && b[i + 1] == 'g' && b[i + 2] == 'g' && b[i + 3] == 'S') { last = i; break; }
      if (i == 0 || b.size() - i > (1u << 17)) break;
    }
    bool ok = false;
    if (last != std::string::npos && last + 27 <= b.size()) {
      size_t nseg = b[last + 26], body = 0;
      if (last + 27 + nseg <= b.size()) {
        for (size_t k = 0; k < nseg; ++k) body += b[last + 27 + k];
        ok = last + 27 + nseg + body == b.size() && (b[last + 5] & 0x04);
      }
    }
    if (!ok) fail_input(name, "complete Ogg audio (a final page with the end-of-stream flag)", "a truncated or damaged file");
  }
}

Interleaved decode_sndfile(const std::vector<uint8_t>& bytes, const std::string& name,
                           const std::string& kind, const AudioConfig& cfg) {
  MemFile mf{&bytes};
  SF_VIRTUAL_IO io{mem_len, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  SNDFILE* sf = sf_open_virtual(&io, SFM_READ, &info, &mf);
  if (!sf) fail_input(name, "decodable " + kind + " audio", std::string("corrupt data (libsndfile: ") + sf_strerror(nullptr) + ")");
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> guard(sf, sf_close);
  if (info.channels <= 0 || info.samplerate <= 0)
    fail_input(name, "a positive channel count and sample rate", std::to_string(info.channels) + " channels at " + std::to_string(info.samplerate) + " Hz");
  if (info.frames > int64_t(cfg.max_duration_s * info.samplerate) + info.samplerate)
    fail_input(name, "at most " + std::to_string(int(cfg.max_duration_s)) + " s of audio", std::to_string(info.frames / info.samplerate) + " s", "cut the track first or raise the limit");
  Interleaved out;
  out.rate = info.samplerate;
  out.channels = info.channels;
  out.declared_frames = info.frames;
  sf_command(sf, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
  const sf_count_t chunk = 65536;
  std::vector<float> buf(size_t(chunk * info.channels));
  for (;;) {
    sf_count_t got = sf_readf_float(sf, buf.data(), chunk);
    if (got <= 0) break;
    out.samples.insert(out.samples.end(), buf.begin(), buf.begin() + got * info.channels);
  }
  if (sf_error(sf) != SF_ERR_NO_ERROR)
    fail_input(name, "decodable " + kind + " audio", std::string("a decode error (libsndfile: ") + sf_strerror(sf) + ")");
  int64_t got_frames = int64_t(out.samples.size() / size_t(info.channels));
  // A header that promises more frames than the data holds is a truncated file (partial downloads).
  // Vorbis/Opus frame counts are computed from the stream itself, so this catches WAV/AIFF/FLAC.
  if (info.frames > 0 && info.frames != SF_COUNT_MAX && got_frames < info.frames - info.frames / 200 - 64)
    fail_input(name, "complete " + kind + " audio", "a truncated file: the header declares " + std::to_string(info.frames) + " frames, the data holds " + std::to_string(got_frames));
  return out;
}

// ---- libmpg123 from memory ----------------------------------------------------------------------
std::once_flag g_mpg123_once;

Interleaved decode_mp3(const std::vector<uint8_t>& bytes, const std::string& name, const AudioConfig& cfg) {
  std::call_once(g_mpg123_once, [] { mpg123_init(); });
  int err = 0;
  mpg123_handle* mh = mpg123_new(nullptr, &err);
  if (!mh) fail_internal("mpg123_new failed: " + std::string(mpg123_plain_strerror(err)));
  std::unique_ptr<mpg123_handle, void (*)(mpg123_handle*)> guard(mh, mpg123_delete);
  mpg123_param(mh, MPG123_ADD_FLAGS, MPG123_FORCE_FLOAT | MPG123_QUIET, 0.0);
  mpg123_param(mh, MPG123_RESYNC_LIMIT, 4096, 0.0);
  if (mpg123_open_feed(mh) != MPG123_OK) fail_internal("mpg123_open_feed failed");
  mpg123_set_filesize(mh, off_t(bytes.size()));
  Interleaved out;
  std::vector<unsigned char> buf(1 << 16);
  size_t fed = 0;
  const size_t feed_chunk = 1 << 16;
  bool done = false;
  while (!done) {
    size_t got = 0;
    int rc = mpg123_read(mh, buf.data(), buf.size(), &got);
    if (rc == MPG123_NEW_FORMAT) {
      long rate = 0;
      int ch = 0, enc = 0;
      mpg123_getformat(mh, &rate, &ch, &enc);
      if (out.rate && (out.rate != rate || out.channels != ch))
        fail_input(name, "one sample format throughout the MP3 stream", "a format change mid-stream");
      out.rate = int(rate);
      out.channels = ch;
    }
    if (got) {
      const float* f = reinterpret_cast<const float*>(buf.data());
      out.samples.insert(out.samples.end(), f, f + got / sizeof(float));
      if (out.rate && out.samples.size() / size_t(out.channels) > size_t((cfg.max_duration_s + 1) * out.rate))
        fail_input(name, "at most " + std::to_string(int(cfg.max_duration_s)) + " s of audio", "a longer MP3", "cut the track first or raise the limit");
    }
    if (rc == MPG123_NEED_MORE) {
      if (fed >= bytes.size()) break;
      size_t k = std::min(feed_chunk, bytes.size() - fed);
      mpg123_feed(mh, bytes.data() + fed, k);
      fed += k;
    } else if (rc == MPG123_DONE) {
      done = true;
    } else if (rc != MPG123_OK && rc != MPG123_NEW_FORMAT) {
      fail_input(name, "decodable MP3 audio", std::string("corrupt data (mpg123: ") + mpg123_strerror(mh) + ")");
    }
  }
  if (out.rate <= 0 || out.samples.empty())
    fail_input(name, "MPEG audio frames", "none that decode");
  off_t declared = mpg123_length(mh);  // exact from a Xing/Info tag, else an estimate
  out.declared_frames = declared;
  int64_t got_frames = int64_t(out.samples.size() / size_t(out.channels));
  if (declared > 0 && got_frames < int64_t(declared) * 97 / 100 - 2304)
    fail_input(name, "complete MP3 audio", "a truncated file: the stream declares " + std::to_string(int64_t(declared)) + " frames, the data holds " + std::to_string(got_frames));
  return out;
}

int src_type(ResampleQuality q) {
  switch (q) {
    case ResampleQuality::Best: return SRC_SINC_BEST_QUALITY;
    case ResampleQuality::Fastest: return SRC_SINC_FASTEST;
    default: return SRC_SINC_MEDIUM_QUALITY;
  }
}

}  // namespace

Pcm decode_audio(const std::vector<uint8_t>& bytes, const std::string& name, const AudioConfig& cfg) {
  if (cfg.sample_rate < 1000 || cfg.sample_rate > 384000)
    fail_usage("sample rate must be in 1000..384000 Hz, got " + std::to_string(cfg.sample_rate));
  if (cfg.offset_s < 0 || cfg.duration_s < 0)
    fail_usage("clip offset and duration must be >= 0");
  std::string kind = sniff(bytes.data(), bytes.size());
  if (!is_audio_kind(kind))
    fail_input(name, "audio (WAV, FLAC, OGG, MP3 or AIFF)", describe_kind(kind));
  check_container(bytes, name, kind);
  Interleaved in = kind == "mp3" ? decode_mp3(bytes, name, cfg) : decode_sndfile(bytes, name, kind, cfg);
  size_t frames = in.samples.size() / size_t(in.channels);
  if (frames == 0) fail_input(name, "audio samples", "a stream with 0 frames");

  // Clip selection happens before resampling, in source frames, so long tracks cost only their clip.
  size_t begin = size_t(std::llround(cfg.offset_s * in.rate));
  if (begin >= frames)
    fail_input(name, "a clip offset inside the track (" + std::to_string(double(frames) / in.rate) + " s long)",
               "offset " + std::to_string(cfg.offset_s) + " s");
  size_t end = cfg.duration_s > 0 ? std::min(frames, begin + size_t(std::llround(cfg.duration_s * in.rate))) : frames;

  std::vector<float> mono(end - begin);
  const float inv = 1.0f / float(in.channels);
  for (size_t i = begin; i < end; ++i) {
    float s = 0;
    for (int c = 0; c < in.channels; ++c) s += in.samples[i * size_t(in.channels) + size_t(c)];
    mono[i - begin] = s * inv;
  }
  for (size_t i = 0; i < mono.size(); ++i)
    if (!std::isfinite(mono[i]))
      fail_input(name, "finite sample values", "NaN or infinity at frame " + std::to_string(begin + i));

  Pcm out;
  out.sample_rate = cfg.sample_rate;
  if (in.rate == cfg.sample_rate) {
    out.samples = std::move(mono);
    return out;
  }
  double ratio = double(cfg.sample_rate) / in.rate;
  out.samples.resize(size_t(std::ceil(mono.size() * ratio)) + 16);
  SRC_DATA d{};
  d.data_in = mono.data();
  d.input_frames = long(mono.size());
  d.data_out = out.samples.data();
  d.output_frames = long(out.samples.size());
  d.src_ratio = ratio;
  int rc = src_simple(&d, src_type(cfg.quality), 1);
  if (rc != 0) fail_internal(std::string("libsamplerate: ") + src_strerror(rc));
  out.samples.resize(size_t(d.output_frames_gen));
  return out;
}

Pcm load_audio(const std::string& path, const AudioConfig& cfg) {
  return decode_audio(read_file(path, 1ULL << 31), path, cfg);
}

std::vector<double> window_starts(double track_s, double length_s, int count) {
  if (length_s <= 0 || count <= 0) fail_usage("window length and count must be positive");
  if (track_s <= length_s) return {0.0};
  if (count == 1) return {(track_s - length_s) / 2};  // the middle of the track
  std::vector<double> starts(static_cast<size_t>(count));
  double span = track_s - length_s;
  for (int i = 0; i < count; ++i) starts[size_t(i)] = span * i / (count - 1);
  return starts;
}

Pcm cut(const Pcm& pcm, double start_s, double length_s) {
  Pcm out;
  out.sample_rate = pcm.sample_rate;
  size_t n = size_t(std::llround(length_s * pcm.sample_rate));
  size_t b = size_t(std::llround(std::max(0.0, start_s) * pcm.sample_rate));
  out.samples.assign(n, 0.0f);
  for (size_t i = 0; i < n && b + i < pcm.samples.size(); ++i) out.samples[i] = pcm.samples[b + i];
  return out;
}

}  // namespace mpjudge
