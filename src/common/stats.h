// Correlation coefficients of paired samples: Spearman (average ranks of ties), Pearson, Kendall's tau-b.
// NaN when undefined (fewer than 2 samples, a constant side). Shared by the dataset's agreement
// statistics and the evaluation metrics.
#pragma once

#include <vector>

namespace mpjudge {

std::vector<double> average_ranks(const std::vector<double>& v);  // 1-based; ties share their mean rank
double spearman(const std::vector<double>& a, const std::vector<double>& b);
double pearson(const std::vector<double>& a, const std::vector<double>& b);
double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b);  // O(n^2)

}  // namespace mpjudge
