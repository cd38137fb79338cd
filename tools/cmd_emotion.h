// `mpjudge emotion`: the music-emotion study (src/eval/music_emotion_fit.h, docs/emotion.md).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli_common.h"

namespace mpjudge::cli {

// Registers the subcommand; the returned function runs it once parsed.
std::pair<CLI::App*, std::function<int()>> add_emotion_command(CLI::App& app, CommonOptions& opt);

}  // namespace mpjudge::cli
