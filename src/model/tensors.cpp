// Copies of front-end buffers as torch tensors (from_blob + clone: the tensor owns its memory).
#include "model/tensors.h"

namespace mpjudge {

at::Tensor to_tensor(const TensorImage& img) {
  return torch::from_blob(const_cast<float*>(img.data.data()), {1, 3, img.height, img.width}, torch::kFloat32).clone();
}

at::Tensor to_tensor(const Spectrogram& spec) {
  return torch::from_blob(const_cast<float*>(spec.data.data()), {1, spec.n_mels, spec.n_frames}, torch::kFloat32)
      .clone();
}

at::Tensor to_tensor(const Pcm& pcm) {
  return torch::from_blob(const_cast<float*>(pcm.samples.data()), {1, int64_t(pcm.samples.size())}, torch::kFloat32)
      .clone();
}

}  // namespace mpjudge
