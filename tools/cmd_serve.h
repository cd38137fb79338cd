// `mpjudge serve` and `mpjudge annotate load|add-annotator|progress|export`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli_common.h"

namespace mpjudge::cli {

// Adds both commands; returns a runner that executes whichever was parsed (or nullptr-like false).
struct ServeCommands {
  CLI::App* serve = nullptr;
  CLI::App* annotate = nullptr;
  std::function<int()> run;  // call when serve or annotate was parsed
};
ServeCommands add_serve_commands(CLI::App& app, CommonOptions& opt);

}  // namespace mpjudge::cli
