// Front-end results as torch tensors. The only bridge between the torch-free front-ends and the model;
// the front-ends never include torch, the model never opens files.
#pragma once

#include <mpjudge/mpjudge.h>

#include <ATen/core/Tensor.h>

namespace mpjudge {

at::Tensor to_tensor(const TensorImage& img);   // [1, 3, H, W] float32 (a copy)
at::Tensor to_tensor(const Spectrogram& spec);  // [1, n_mels, n_frames] float32 (a copy)
at::Tensor to_tensor(const Pcm& pcm);           // [1, n_samples] float32 (a copy)

}  // namespace mpjudge
