// Losses, clipping and AdamW (see optim.h).
#include "train/optim.h"

#include <cmath>

namespace mpjudge {

torch::Tensor regression_loss_sum(const torch::Tensor& pred, const torch::Tensor& target, const std::string& loss) {
  torch::Tensor diff = pred - target;
  return loss == "mse" ? diff.pow(2).sum() : diff.abs().sum();
}

torch::Tensor rank_loss_sum(const torch::Tensor& pred, const torch::Tensor& target, double margin) {
  torch::Tensor dy = target.unsqueeze(0) - target.unsqueeze(1), dp = pred.unsqueeze(0) - pred.unsqueeze(1);
  torch::Tensor mask = (dy > margin).to(torch::kFloat);
  torch::Tensor hinge = torch::relu(margin - dp) * mask;
  return hinge.sum() / mask.sum().clamp_min(1.0) * double(pred.size(0));
}

torch::Tensor dpo_loss_sum(const torch::Tensor& s_w, const torch::Tensor& s_l, const torch::Tensor& ref_w,
                           const torch::Tensor& ref_l, double beta) {
  return -torch::log_sigmoid(beta * ((s_w - ref_w) - (s_l - ref_l))).sum();
}

double clip_scale(const std::vector<torch::Tensor>& grads, double clip, double* norm) {
  double sq = 0;
  for (const auto& g : grads) sq += g.pow(2).sum().item<double>();
  const double n = std::sqrt(sq);
  if (norm) *norm = n;
  return clip > 0 && n > clip ? clip / (n + 1e-6) : 1.0;
}

void adamw_step(std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                std::vector<torch::Tensor>& m, std::vector<torch::Tensor>& v, int64_t t, const AdamWOptions& o,
                double grad_scale) {
  torch::NoGradGuard ng;
  const double bc1 = 1 - std::pow(o.beta1, double(t + 1)), bc2 = 1 - std::pow(o.beta2, double(t + 1));
  for (size_t k = 0; k < params.size(); ++k) {
    torch::Tensor g = grads[k] * grad_scale;
    m[k].mul_(o.beta1).add_(g, 1 - o.beta1);
    v[k].mul_(o.beta2).addcmul_(g, g, 1 - o.beta2);
    params[k].mul_(1 - o.lr * o.weight_decay);
    torch::Tensor denom = (v[k] / bc2).sqrt_().add_(o.eps);
    params[k].addcdiv_(m[k], denom, -o.lr / bc1);
  }
}

}  // namespace mpjudge
