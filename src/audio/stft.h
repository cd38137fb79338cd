// Short-time Fourier transform on FFTW, shared by the log-mel front-end and the music descriptors.
// Mirrors torch.stft(center=True, pad_mode="reflect", window=hann_window(win_length, periodic=True)).
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace mpjudge {

struct StftConfig {
  int n_fft = 2048;
  int win_length = 2048;  // <= n_fft; the window is zero-padded to n_fft, centred (as torch.stft)
  int hop_length = 512;
  bool center = true;  // reflect-pad n_fft/2 on both sides
  double power = 2.0;  // |X|^power
  bool normalized = false;
};

int stft_frame_count(size_t n_samples, const StftConfig& cfg);
// Makes FFTW's planner thread-safe (once per process); call before creating aubio objects.
void fftw_thread_safe();

// Calls consume(frame, row) for every frame with row = |X|^power over n_fft/2+1 bins. Frames are
// split into contiguous ranges over up to `threads` threads (0 = hardware concurrency, capped at 4);
// `consume` must be safe to call concurrently for different frames. `row` is valid during the call.
void stft_frames(const float* x, size_t n, const StftConfig& cfg, int threads,
                 const std::function<void(int frame, const float* row)>& consume);

// [n_frames, n_fft/2+1], row-major.
struct PowerSpec {
  int n_frames = 0;
  int n_bins = 0;
  std::vector<float> data;
};
PowerSpec stft_power(const float* x, size_t n, const StftConfig& cfg, int threads = 0);

}  // namespace mpjudge
