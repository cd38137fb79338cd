// The argument/config layer shared by every mpjudge subcommand (and later the server's flags):
// common options, error reporting and the documented exit codes (docs/cli.md).
#pragma once

#include <mpjudge/mpjudge.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "common/json.h"

namespace mpjudge::cli {

// 5: a batch (`score --pairs`) in which some pairs failed; the results of the others were written.
// 130: interrupted (SIGINT/SIGTERM) before the results were complete; nothing was written.
enum ExitCode { kOk = 0, kInternal = 1, kUsage = 2, kInput = 3, kModel = 4, kSomeFailed = 5, kInterrupted = 130 };

// Options every subcommand that reads music/paintings understands.
struct CommonOptions {
  bool json = false;
  int threads = 0;
  AudioConfig audio;
  ImageConfig image;
};

void add_audio_options(CLI::App* app, CommonOptions& o);
void add_image_options(CLI::App* app, CommonOptions& o);
// --json, and --threads (torch's intra-op threads) unless the command runs no torch (threads = false).
void add_output_options(CLI::App* app, CommonOptions& o, bool threads = true);

// A subcommand and what runs it once parsed (each cmd_*.cpp registers its own).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Prints a result: JSON (indented) with --json, else "key: value" lines.
void emit(const Json& j, bool json);

// Runs `body`, turning mpjudge::Error and anything else into a one-line message on stderr and the
// documented exit code. Never lets an exception escape main.
int guarded(const std::function<int()>& body);

// The model used when --model is not given: $MPJUDGE_MODEL, else the shipped models/default.mpjc beside
// the executable's project folder (models/README.md says how it was trained). Error(Model) when none.
std::string model_or_default_path(const std::string& given);

}  // namespace mpjudge::cli
