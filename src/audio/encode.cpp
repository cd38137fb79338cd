// libsndfile encoder (see encode.h).
#include "audio/encode.h"

#include <sndfile.h>
#include <unistd.h>

#include <cstdio>

#include "common/error.h"

namespace mpjudge {

void write_audio(const std::string& path, const Pcm& pcm, AudioFormat format, double quality) {
  SF_INFO info{};
  info.samplerate = pcm.sample_rate;
  info.channels = 1;
  info.format = format == AudioFormat::Wav16  ? SF_FORMAT_WAV | SF_FORMAT_PCM_16
                : format == AudioFormat::Flac ? SF_FORMAT_FLAC | SF_FORMAT_PCM_16
                                              : SF_FORMAT_OGG | SF_FORMAT_VORBIS;
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
  if (!f) fail_usage(path + ": cannot write audio here (" + sf_strerror(nullptr) + ")");
  if (format == AudioFormat::OggVorbis) sf_command(f, SFC_SET_VBR_ENCODING_QUALITY, &quality, sizeof quality);
  int clip = 1;
  sf_command(f, SFC_SET_CLIPPING, nullptr, clip);
  const sf_count_t n = sf_count_t(pcm.samples.size());
  const sf_count_t wrote = n ? sf_writef_float(f, pcm.samples.data(), n) : 0;
  const int err = sf_close(f);
  if (wrote != n || err != 0) {
    std::remove(tmp.c_str());
    fail_internal(path + ": writing audio failed after " + std::to_string(wrote) + " of " + std::to_string(n) +
                  " samples");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail_internal(path + ": cannot rename the finished file into place");
  }
}

}  // namespace mpjudge
