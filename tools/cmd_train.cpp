// `mpjudge train` (see cmd_train.h and docs/training.md).
#include "cmd_train.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/json.h"

extern char** environ;

namespace mpjudge::cli {

namespace {

// One flag per TrainField: --NAME with '_' as '-'.
struct AddFlag {
  CLI::App* t;
  static std::string flag(const TrainField& f) {
    std::string n = std::string("--") + f.name;
    for (auto& ch : n)
      if (ch == '_') ch = '-';
    return n;
  }
  static void decorate(CLI::Option* o, const TrainField& f) {
    if (f.required)
      o->required();
    else
      o->capture_default_str();
    if (f.env) o->envname(f.env);
  }
  template <class T>
  void operator()(const TrainField& f, T& v) const {
    decorate(t->add_option(flag(f), v, f.help), f);
  }
  void operator()(const TrainField& f, bool& v) const { t->add_flag(flag(f), v, f.help); }
  void operator()(const TrainField& f, Variant& v) const {
    t->add_option_function<std::string>(
        flag(f),
        [&v](const std::string& name) {
          const std::optional<Variant> parsed = variant_from_name(name);
          if (!parsed)
            throw CLI::ValidationError("--variant",
                                       std::string("expected ") + variant_names() + ", found '" + name + "'");
          v = *parsed;
        },
        f.help);
  }
};

}  // namespace

CLI::App* add_train_command(CLI::App& app, TrainConfig& c, CommonOptions& opt) {
  auto* t = app.add_subcommand("train", "Train MPJudge: regression (sft), then preference optimisation (dpo)");
  visit_train_fields(c, AddFlag{t});
  add_output_options(t, opt);
  return t;
}

int run_train(TrainConfig& c, const CommonOptions& opt, int argc, char** argv) {
  if (opt.threads > 0) c.threads = opt.threads;
  std::vector<pid_t> children;
  std::vector<std::thread> monitors;
  std::atomic<bool> done{false};
  std::atomic<int> child_failed{0};
  if (c.nproc > 1) {
    if (c.world_size != 1 || c.rank != 0)
      fail_usage("train: use --nproc on one machine, or --rank/--world-size across machines");
    c.world_size = c.nproc;
    // Ranks 1..n-1: this executable with the same arguments, minus --nproc, plus their rank.
    for (int r = 1; r < c.nproc; ++r) {
      std::vector<std::string> args;
      for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--nproc" || a == "--quiet") {
          i += a == "--nproc";
          continue;
        }
        if (a.rfind("--nproc=", 0) == 0) continue;
        args.push_back(a);
      }
      for (const std::string& a : {std::string("--rank"), std::to_string(r), std::string("--world-size"),
                                   std::to_string(c.nproc), std::string("--quiet")})
        args.push_back(a);
      std::vector<char*> av;
      for (auto& a : args) av.push_back(a.data());
      av.push_back(nullptr);
      pid_t pid = 0;
      if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, av.data(), environ) != 0)
        fail_internal("train: cannot launch rank " + std::to_string(r));
      children.push_back(pid);
    }
    // A rank that dies takes the whole job down at once, instead of leaving the others waiting.
    for (size_t k = 0; k < children.size(); ++k)
      monitors.emplace_back([&, k]() {
        int st = 0;
        while (waitpid(children[k], &st, 0) < 0 && errno == EINTR) {
        }
        const int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        if (code != 0) {
          child_failed = code;
          if (!done) {
            std::fprintf(stderr, "mpjudge: error: train: rank %zu exited with status %d; stopping\n", k + 1, code);
            for (pid_t p : children) kill(p, SIGTERM);
            std::_Exit(kInternal);
          }
        }
      });
  }
  auto join = [&]() {
    for (auto& t : monitors) t.join();
    monitors.clear();
  };
  TrainResult r;
  try {
    r = train(c);
  } catch (...) {
    done = true;
    for (pid_t p : children) kill(p, SIGTERM);
    join();
    throw;
  }
  done = true;
  join();
  if (child_failed) fail_internal("train: a worker rank exited with status " + std::to_string(child_failed.load()));
  if (c.rank != 0) return kOk;
  Json out{{"model", r.model},
           {"steps", r.steps},
           {"seconds", json_number(r.seconds, 1)},
           {"feature_seconds", json_number(r.feature_seconds, 1)},
           {"val_srcc", json_number(r.val_srcc)},
           {"val_pref_acc", json_number(r.val_pref_acc)},
           {"run", c.out}};
  std::printf("%s\n", opt.json ? out.dump(2).c_str() : out.dump().c_str());
  return kOk;
}

}  // namespace mpjudge::cli
