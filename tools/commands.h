// The mpjudge subcommands, each registered by its cmd_*.cpp: flags into its own options, and a function
// that runs it once parsed (cli_common.h's Command). main() only dispatches.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

#include "cli_common.h"

namespace mpjudge::cli {

std::vector<Command> add_media_commands(CLI::App& app, CommonOptions& opt);  // describe, features, info
std::vector<Command> add_judge_commands(CLI::App& app,
                                        CommonOptions& opt);  // score, rank, explain, init-model, ensemble
std::vector<Command> add_data_commands(CLI::App& app,
                                       CommonOptions& opt);  // data validate|stats|split|import-json|export-json
std::vector<Command> add_corpus_commands(CLI::App& app, CommonOptions& opt);  // corpus build|panel
std::vector<Command> add_eval_commands(CLI::App& app, CommonOptions& opt);    // eval, report

}  // namespace mpjudge::cli
