// `mpjudge serve`: the HTTP server (cpp-httplib) behind the web page and the annotation tool. A thin
// client of the library: it scores through Scorer and stores answers through AnnotationStore. API and
// status codes in docs/server.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mpjudge {

struct ServeOptions {
  std::string host = "127.0.0.1";
  // Host names this server answers to besides loopback ones (a proxy's public name, e.g. behind nginx:
  // docs/deploy.md). Requests naming another host get 403; so do POSTs from another origin.
  std::vector<std::string> allowed_hosts;
  int port = 8080;                        // 0 = any free port (the chosen one is printed)
  std::string model;                      // checkpoint (already resolved to the default by the CLI)
  std::string project;                    // annotation project folder; "" = no annotation endpoints
  std::string web_dir;                    // index.html, app.js, app.css
  std::string work_dir;                   // uploads (by content hash) and modulation-map PNGs
  std::string cache_dir;                  // feature cache (FeatureOptions::cache_dir)
  int workers = 0;                        // scoring workers, each with its own Scorer; 0 = hardware threads
  int queue = 16;                         // scoring requests that may wait for a worker; beyond that: 429
  int64_t max_upload_bytes = 64LL << 20;  // a whole request body, decoded (chunked, gzip); beyond that: 413
  int max_rank_paintings = 64;
  int max_connections = 512;       // open sockets; beyond: the longest-idle one is closed, or 503
  double request_timeout_s = 120;  // a whole request, from its first byte (headers: at most 10 s)
  double idle_timeout_s = 5;       // a connection waiting for its (next) request
  // Disk caps (bytes; 0 = no cap), least recently used first out: uploads/, maps/ and the feature cache.
  int64_t max_uploads_bytes = 2048LL << 20, max_maps_bytes = 512LL << 20, max_cache_bytes = 4096LL << 20;
};

// Loads the model(s) once, binds, calls on_ready(port) and serves until stop_flag is set (checked
// every 100 ms) or SIGINT/SIGTERM when install_signal_handlers. Throws Error on a bad option, model or
// web folder, or when the port is taken.
void serve(const ServeOptions& opt, const std::function<void(int port)>& on_ready,
           std::atomic<bool>* stop_flag = nullptr, bool install_signal_handlers = true);

}  // namespace mpjudge
