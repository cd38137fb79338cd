// `mpjudge serve` and `mpjudge annotate ...`: flags only; the work is in src/serve and src/annotate.
#include "cmd_serve.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "annotate/store.h"
#include "common/files.h"
#include "serve/server.h"

namespace mpjudge::cli {

ServeCommands add_serve_commands(CLI::App& app, CommonOptions& opt) {
  struct State {
    ServeOptions so;
    double max_upload_mb = 64, max_uploads_mb = 2048, max_maps_mb = 512, max_cache_mb = 4096;
    std::string project, legacy_data, tasks, name, out;
    bool force = false;
  };
  auto st = std::make_shared<State>();
  ServeCommands c;
  c.serve = app.add_subcommand("serve", "HTTP server: the web page, the scoring API and the annotation tool");
  c.serve->add_option("--port", st->so.port, "TCP port (0 = any free port, printed)")->capture_default_str();
  c.serve->add_option("--host", st->so.host, "Address to listen on")->capture_default_str();
  c.serve->add_option("--allowed-host", st->so.allowed_hosts,
                      "A host name clients may use besides loopback (a proxy's public name; repeatable)");
  c.serve->add_option("--model", st->so.model, "Checkpoint (default: the shipped model)");
  c.serve->add_option("--project", st->so.project, "Annotation project folder (enables /v1/annotate)");
  // --data names a dataset everywhere else (train, eval); here it was the project. Kept, hidden, with a
  // warning, so that scripts written before keep working.
  c.serve->add_option("--data", st->legacy_data, "")->group("");
  c.serve->add_option("--workers", st->so.workers, "Scoring workers (0 = one per core)")->capture_default_str();
  c.serve->add_option("--queue", st->so.queue, "Scoring requests that may wait; more get 429")->capture_default_str();
  c.serve->add_option("--max-upload-mb", st->max_upload_mb, "Largest request body; larger gets 413")
      ->capture_default_str();
  c.serve->add_option("--max-rank", st->so.max_rank_paintings, "Most paintings per /v1/rank request")
      ->capture_default_str();
  c.serve
      ->add_option("--max-connections", st->so.max_connections,
                   "Open connections; beyond: the longest-idle one is closed, or 503")
      ->capture_default_str();
  c.serve
      ->add_option("--request-timeout", st->so.request_timeout_s,
                   "Seconds a request may take to arrive, body included (headers: 10)")
      ->capture_default_str();
  c.serve->add_option("--idle-timeout", st->so.idle_timeout_s, "Seconds a connection may wait for its next request")
      ->capture_default_str();
  c.serve
      ->add_option("--max-uploads-mb", st->max_uploads_mb,
                   "Disk cap of stored uploads, oldest used out first (0 = none)")
      ->capture_default_str();
  c.serve->add_option("--max-maps-mb", st->max_maps_mb, "Disk cap of stored map PNGs, oldest used out first (0 = none)")
      ->capture_default_str();
  c.serve
      ->add_option("--max-cache-mb", st->max_cache_mb,
                   "Disk cap of the feature cache, oldest used out first (0 = none)")
      ->capture_default_str();
  c.serve->add_option("--work-dir", st->so.work_dir, "Uploads and map PNGs (default: CACHE/serve)");
  c.serve->add_option("--cache-dir", st->so.cache_dir, "Feature cache folder");
  c.serve->add_option("--web-dir", st->so.web_dir, "Web page folder (default: web/ beside the build)");

  c.annotate = app.add_subcommand("annotate", "Annotation projects: load tasks, issue tokens, progress, export to MPD");
  c.annotate->require_subcommand(1);
  auto* load = c.annotate->add_subcommand("load", "Create a project (if needed) and add the tasks of a task file");
  auto* add = c.annotate->add_subcommand("add-annotator", "Issue a token for a new annotator (printed once)");
  auto* prog = c.annotate->add_subcommand("progress", "Answers per annotator");
  auto* exp = c.annotate->add_subcommand("export", "Write the answers as an MPD dataset (per-rater ratings)");
  for (auto* s : {load, add, prog, exp}) {
    s->add_option("--project", st->project, "Annotation project folder (required)");
    s->add_option("--data", st->legacy_data, "")->group("");
    add_output_options(s, opt, false);
  }
  load->add_option("--tasks", st->tasks, "Task file (JSON; docs/server.md, Annotation)")->required();
  add->add_option("--name", st->name, "Annotator name")->required();
  exp->add_option("--out", st->out, "Dataset folder to write")->required();
  exp->add_flag("--force", st->force, "Replace an existing folder");

  CLI::App* serve = c.serve;
  c.run = [st, serve, load, add, prog, exp, &opt]() -> int {
    using Json = nlohmann::json;
    if (!st->legacy_data.empty()) {
      fprintf(stderr,
              "mpjudge: warning: --data is deprecated here (it names a dataset in train and eval); use "
              "--project\n");
      if (st->project.empty()) st->project = st->legacy_data;
      if (st->so.project.empty()) st->so.project = st->legacy_data;
    }
    if (serve->parsed()) {
      ServeOptions so = st->so;
      so.model = model_or_default_path(so.model);
      so.max_upload_bytes = int64_t(st->max_upload_mb * 1024 * 1024);
      so.max_uploads_bytes = int64_t(st->max_uploads_mb * 1024 * 1024);
      so.max_maps_bytes = int64_t(st->max_maps_mb * 1024 * 1024);
      so.max_cache_bytes = int64_t(st->max_cache_mb * 1024 * 1024);
      if (so.workers <= 0) so.workers = std::max(1, int(std::thread::hardware_concurrency()));
      if (so.web_dir.empty()) so.web_dir = exe_dir() + "/../web";
      if (so.work_dir.empty()) so.work_dir = resolve_cache_dir(so.cache_dir) + "/serve";
      mpjudge::serve(so, [&](int port) {
        printf("mpjudge serve: listening on http://%s:%d (model %s, %d workers)\n", so.host.c_str(), port,
               so.model.c_str(), so.workers);
        fflush(stdout);
      });
      fprintf(stderr, "mpjudge serve: stopped\n");
      return kOk;
    }
    if (st->project.empty())
      throw Error(ErrorKind::Usage, "annotate: expected --project FOLDER, found none", "see `mpjudge annotate --help`");
    if (load->parsed()) {
      AnnotationStore store(st->project, true);
      size_t added = store.load_tasks(st->tasks);
      printf("%s\n", Json{{"project", st->project}, {"tasks_added", added}}.dump().c_str());
      return kOk;
    }
    AnnotationStore store(st->project);
    if (add->parsed()) {
      std::string token = store.add_annotator(st->name);
      printf("%s\n", Json{{"annotator", st->name}, {"token", token}}.dump().c_str());
      return kOk;
    }
    if (prog->parsed()) {
      Json list = Json::array();
      for (const auto& p : store.all_progress())
        list.push_back({{"annotator", p.name}, {"answered", p.answered}, {"total", p.total}});
      if (opt.json) {
        printf("%s\n", list.dump(2).c_str());
      } else {
        for (const auto& p : list)
          printf("%-20s %5lld / %lld\n", p["annotator"].get<std::string>().c_str(),
                 (long long)p["answered"].get<int64_t>(), (long long)p["total"].get<int64_t>());
      }
      return kOk;
    }
    if (exp->parsed()) {
      ExportSummary s = store.export_mpd(st->out, st->force);
      printf("%s\n", Json{{"out", st->out},
                          {"pairs", s.pairs},
                          {"ratings", s.ratings},
                          {"raters", s.raters},
                          {"preferences", s.preferences},
                          {"tied_comparisons_left_out", s.tied_comparisons},
                          {"media", s.media}}
                         .dump()
                         .c_str());
      return kOk;
    }
    return kUsage;
  };
  return c;
}

}  // namespace mpjudge::cli
