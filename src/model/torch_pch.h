// Precompiled header for every translation unit that uses libtorch (compiled once per target).
#pragma once
#include <torch/torch.h>
