// The arithmetic of a training step (train/optim.h): AdamW against torch::optim::AdamW over several steps,
// the SFT, ranking and DPO losses and the gradient clipping on values computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "train/optim.h"

using namespace mpjudge;

TEST(Optim, AdamWMatchesTorchOverTwentySteps) {
  torch::manual_seed(3);
  std::vector<torch::Tensor> ours{torch::randn({4, 3}), torch::randn({5})};
  std::vector<torch::Tensor> theirs;
  for (auto& p : ours) theirs.push_back(p.clone().set_requires_grad(true));
  std::vector<torch::Tensor> m, v;
  for (auto& p : ours) m.push_back(torch::zeros_like(p)), v.push_back(torch::zeros_like(p));
  const AdamWOptions o{2e-2, 0.9, 0.999, 1e-8, 0.05};
  torch::optim::AdamW ref(
      theirs, torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
  double max_diff = 0;
  for (int64_t t = 0; t < 20; ++t) {
    std::vector<torch::Tensor> grads;
    for (auto& p : ours) grads.push_back(torch::randn_like(p) + p);  // depends on the weights, as a loss would
    for (size_t k = 0; k < theirs.size(); ++k) theirs[k].mutable_grad() = grads[k].clone();
    adamw_step(ours, grads, m, v, t, o);
    ref.step();
    for (size_t k = 0; k < ours.size(); ++k)
      max_diff = std::max(max_diff, (ours[k] - theirs[k].detach()).abs().max().item<double>());
  }
  std::printf("AdamW vs torch::optim::AdamW, 20 steps: max |w_ours - w_torch| = %.3g\n", max_diff);
  EXPECT_LT(max_diff, 1e-6);
}

TEST(Optim, GradScaleIsAppliedBeforeTheMoments) {
  // With grad_scale 0.5, the first step's moments are those of half the gradient.
  std::vector<torch::Tensor> p{torch::zeros({1})}, m{torch::zeros({1})}, v{torch::zeros({1})};
  adamw_step(p, {torch::full({1}, 4.0)}, m, v, 0, {0.1, 0.9, 0.999, 1e-8, 0.0}, 0.5);
  EXPECT_NEAR(m[0].item<double>(), 0.1 * 2.0, 1e-7);
  EXPECT_NEAR(v[0].item<double>(), 0.001 * 4.0, 1e-7);
  EXPECT_NEAR(p[0].item<double>(), -0.1, 1e-6);  // bias-corrected: m/(1-0.9) / sqrt(v/(1-0.999)) = 1
}

TEST(Optim, LossesOnHandValues) {
  const torch::Tensor pred = torch::tensor({0.2, 0.7, 0.5}), target = torch::tensor({0.3, 0.4, 0.5});
  EXPECT_NEAR(regression_loss_sum(pred, target, "l1").item<double>(), 0.1 + 0.3 + 0.0, 1e-6);
  EXPECT_NEAR(regression_loss_sum(pred, target, "mse").item<double>(), 0.01 + 0.09, 1e-6);
  // Margin 0.05: the pairs (i, j) with target[j] - target[i] > 0.05 are (0,1), (0,2), (1,2). Their hinges
  // relu(0.05 - (pred[j] - pred[i])): 0.05 - 0.5 -> 0, 0.05 - 0.3 -> 0, 0.05 + 0.2 = 0.25. The mean over
  // the 3 pairs, times the batch of 3: 0.25.
  EXPECT_NEAR(rank_loss_sum(pred, target, 0.05).item<double>(), 0.25 / 3 * 3, 1e-6);
  EXPECT_NEAR(rank_loss_sum(torch::tensor({0.1, 0.2}), torch::tensor({0.5, 0.5}), 0.05).item<double>(), 0.0, 1e-9);
  // DPO: margin = (0.6 - 0.5) - (0.4 - 0.45) = 0.15; beta 20 -> -log sigmoid(3) = log(1 + e^-3).
  const double dpo =
      dpo_loss_sum(torch::tensor({0.6}), torch::tensor({0.4}), torch::tensor({0.5}), torch::tensor({0.45}), 20.0)
          .item<double>();
  EXPECT_NEAR(dpo, std::log1p(std::exp(-3.0)), 1e-5);
  // Chosen already far ahead: the loss vanishes; behind: it grows linearly in beta * margin.
  EXPECT_LT(dpo_loss_sum(torch::tensor({1.0}), torch::tensor({0.0}), torch::tensor({0.0}), torch::tensor({0.0}), 20.0)
                .item<double>(),
            1e-8);
}

TEST(Optim, ClipScaleBringsTheNormToTheLimit) {
  double norm = 0;
  const std::vector<torch::Tensor> g{torch::tensor({3.0}), torch::tensor({4.0})};  // norm 5
  EXPECT_NEAR(clip_scale(g, 1.0, &norm), 1.0 / (5.0 + 1e-6), 1e-9);
  EXPECT_NEAR(norm, 5.0, 1e-9);
  EXPECT_EQ(clip_scale(g, 10.0), 1.0);
  EXPECT_EQ(clip_scale(g, 0.0), 1.0);  // off
}
