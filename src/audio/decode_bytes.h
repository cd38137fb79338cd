// Decoding audio from bytes in memory (the audio front-end's entry for the model layer and the server).
#pragma once

#include <mpjudge/mpjudge.h>

namespace mpjudge {

// decode_audio over bytes the caller owns (a file read by MappedFile, an upload buffer): no copy.
Pcm decode_audio_bytes(const uint8_t* data, size_t size, const std::string& name, const AudioConfig& cfg);

// PCM handed over in memory, held to what a decoded file must be: a valid rate, samples, all finite, at
// most cfg.max_duration_s; then resampled to cfg.sample_rate. Error(Input) naming `name` otherwise.
Pcm conform_pcm(const Pcm& pcm, const std::string& name, const AudioConfig& cfg);

}  // namespace mpjudge
