// The arithmetic of one training step, on tensors: the SFT and DPO losses, global gradient-norm clipping
// and AdamW. Written out (not torch::optim) so the optimiser's whole state is plain tensors in the run's
// state checkpoint; tests check AdamW against torch::optim::AdamW and the losses on hand-computed values.
#pragma once

#include <string>
#include <vector>

#include "model/torch_pch.h"

namespace mpjudge {

// Sum over the batch of |pred - target| ("l1") or (pred - target)^2 ("mse").
torch::Tensor regression_loss_sum(const torch::Tensor& pred, const torch::Tensor& target, const std::string& loss);
// Pairwise margin ranking within a batch: for each ordered pair whose targets differ by more than `margin`,
// relu(margin - (pred_i - pred_j)); the mean over those pairs, times the batch size (so it sums like the
// regression term). 0 when no pair qualifies.
torch::Tensor rank_loss_sum(const torch::Tensor& pred, const torch::Tensor& target, double margin);
// DPO (Rafailov et al. 2023) on scores: -sum log sigmoid(beta * ((s_w - ref_w) - (s_l - ref_l))).
torch::Tensor dpo_loss_sum(const torch::Tensor& s_w, const torch::Tensor& s_l, const torch::Tensor& ref_w,
                           const torch::Tensor& ref_l, double beta);

// The factor that brings the global L2 norm of `grads` down to `clip` (1 when it is below, or clip <= 0),
// and that norm.
double clip_scale(const std::vector<torch::Tensor>& grads, double clip, double* norm = nullptr);

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
};
// One AdamW step (decoupled weight decay, bias-corrected moments; torch.optim.AdamW's arithmetic) at step
// t (0-based), in place on params, m and v. grads are scaled by `grad_scale` first (clipping).
void adamw_step(std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                std::vector<torch::Tensor>& m, std::vector<torch::Tensor>& v, int64_t t, const AdamWOptions& o,
                double grad_scale = 1.0);

}  // namespace mpjudge
