// Short-time Fourier transform on FFTW, shared by the log-mel front-end and the music descriptors.
// Mirrors torch.stft(center=True, pad_mode="reflect", window=hann_window(win_length, periodic=True)).
#pragma once

#include <cstddef>
#include <vector>

namespace mpjudge {

struct StftConfig {
  int n_fft = 2048;
  int win_length = 2048;  // <= n_fft; the window is zero-padded to n_fft, centred (as torch.stft)
  int hop_length = 512;
  bool center = true;     // reflect-pad n_fft/2 on both sides
  double power = 2.0;     // |X|^power
  bool normalized = false;
};

// [n_frames, n_fft/2+1], row-major.
struct PowerSpec {
  int n_frames = 0;
  int n_bins = 0;
  std::vector<float> data;
};

// Frames run on up to `threads` threads (0 = hardware concurrency, capped at 4).
PowerSpec stft_power(const float* x, size_t n, const StftConfig& cfg, int threads = 0);

}  // namespace mpjudge
