// The BCP-37 colour table of Palmer et al. (2013), for the painting descriptors' colour emotion.
#pragma once

namespace mpjudge {

// Lab and mean happy/sad/angry ratings (-100..100) of each colour.
struct Bcp37Colour {
  const char* name;
  double L, a, b, happy, sad, angry;
};
const Bcp37Colour* bcp37_colours();  // 37 entries
constexpr int kBcp37Count = 37;

}  // namespace mpjudge
