// The 4-parameter logistic mapping of PLCC (logistic4_map) against scipy.optimize.curve_fit on the same
// data (tests/golden/logistic4_reference.py): the mapped predictions agree, and so does the PLCC.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "eval/metrics.h"
#include "test_util.h"

using namespace mpjudge;

TEST(MetricsGolden, Logistic4MatchesScipyCurveFit) {
  const std::string dir = std::string(MPJUDGE_GOLDEN_DIR) + "/logistic/";
  for (const char* name : {"sigmoid", "linear"}) {
    const std::vector<float> x = testutil::read_f32(dir + name + ".pred.f32"),
                             y = testutil::read_f32(dir + name + ".mos.f32"),
                             ref = testutil::read_f32(dir + name + ".mapped.f32");
    ASSERT_EQ(x.size(), ref.size()) << name;
    const std::vector<double> pred(x.begin(), x.end()), mos(y.begin(), y.end());
    const std::vector<double> ours = logistic4_map(pred, mos);
    double max_diff = 0;
    for (size_t i = 0; i < ours.size(); ++i) max_diff = std::max(max_diff, std::fabs(ours[i] - double(ref[i])));
    const double plcc = pearson(ours, mos), plcc_ref = pearson(std::vector<double>(ref.begin(), ref.end()), mos);
    std::printf("logistic4 %-8s vs scipy: max |mapped diff| %.3g, PLCC %.6f vs %.6f\n", name, max_diff, plcc, plcc_ref);
    EXPECT_LT(max_diff, 1e-3) << name;
    EXPECT_NEAR(plcc, plcc_ref, 1e-4) << name;
  }
}
