// `mpjudge train`: flags for TrainConfig, and the local launcher for --nproc.
#pragma once

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "train/train.h"

namespace mpjudge::cli {

CLI::App* add_train_command(CLI::App& app, TrainConfig& cfg, CommonOptions& opt);
int run_train(TrainConfig& cfg, const CommonOptions& opt, int argc, char** argv);

}  // namespace mpjudge::cli
