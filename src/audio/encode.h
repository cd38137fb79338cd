// Writing PCM to disk with libsndfile (MPD-Open's rendered clips). Atomic: the file appears complete
// under its name or not at all.
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>

namespace mpjudge {

enum class AudioFormat { Wav16, Flac, OggVorbis };
// quality: Vorbis VBR quality 0..1 (ignored otherwise). Throws Error(Usage) when the folder is not
// writable, Error(Internal) when encoding fails.
void write_audio(const std::string& path, const Pcm& pcm, AudioFormat format, double quality = 0.4);

}  // namespace mpjudge
