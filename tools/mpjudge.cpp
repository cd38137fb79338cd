// mpjudge — the command-line tool. A thin client of the library: each subcommand's flags and its call
// live in a cmd_*.cpp (commands.h); main() registers them, parses, and runs the one that was given.
// Exit codes: docs/cli.md.
#include <mpjudge/mpjudge.h>

#include <chrono>
#include <cstdio>

#include "cli_common.h"
#include "cmd_emotion.h"
#include "cmd_serve.h"
#include "cmd_train.h"
#include "commands.h"
#include "common/trace.h"
#include "model/runtime.h"

using namespace mpjudge;

int main(int argc, char** argv) {
  tune_process_allocator();
  CLI::App app{"mpjudge: judge how faithfully a painting reflects the music that inspired it"};
  app.set_version_flag("--version", std::string("mpjudge ") + version());
  app.require_subcommand(1);
  cli::CommonOptions opt;

  std::vector<cli::Command> commands;
  for (auto add : {cli::add_media_commands, cli::add_judge_commands, cli::add_data_commands, cli::add_corpus_commands,
                   cli::add_eval_commands})
    for (auto& c : add(app, opt)) commands.push_back(std::move(c));
  TrainConfig train_cfg;
  CLI::App* train = cli::add_train_command(app, train_cfg, opt);
  commands.push_back({train, [&] { return cli::run_train(train_cfg, opt, argc, argv); }});
  cli::ServeCommands serve = cli::add_serve_commands(app, opt);
  commands.push_back({serve.serve, serve.run});
  commands.push_back({serve.annotate, serve.run});
  auto [emotion, run_emotion] = cli::add_emotion_command(app, opt);
  commands.push_back({emotion, run_emotion});

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // Every other parse error is a usage error in the house form (docs/cli.md), naming the subcommand's help.
    std::string sub;
    for (const CLI::App* a = &app; !a->get_subcommands().empty();)
      a = a->get_subcommands().front(), sub += " " + a->get_name();
    std::fprintf(stderr, "mpjudge: error: %s (hint: see `mpjudge%s --help`)\n", e.what(), sub.c_str());
    return cli::kUsage;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = cli::guarded([&]() -> int {
    if (opt.threads > 0)
      set_threads(opt.threads);
    else
      set_default_threads();  // one per physical core (docs/performance.md)
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
    return cli::kUsage;
  });
  if (trace::enabled()) {  // MPJUDGE_TRACE=1: where the command's time went (docs/performance.md)
    trace::add("command (all of the above, and the rest)",
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    trace::report(stderr);
  }
  return rc;
}
