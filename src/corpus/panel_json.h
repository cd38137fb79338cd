// The reference panel as data: its terms, base weights, rater model, GEMS coordinates and a set of
// reference samples (descriptors in, panel values out). `mpjudge corpus panel --json` prints it, and
// tools/panel_bound.py reads its weights from it and checks its own arithmetic against the samples,
// so the panel has one source of truth (src/corpus/panel.cpp).
#pragma once

#include "common/json.h"

namespace mpjudge {

Json panel_description(int samples = 64);

}  // namespace mpjudge
