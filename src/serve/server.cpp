// The HTTP server (see server.h, docs/server.md). Connections are served by httplib's thread pool;
// scoring runs on a bounded pool of Scorers (one per worker, loaded once). A request that finds
// workers + queue requests already admitted gets 429 at once instead of waiting.
#include "serve/server.h"

#include <httplib.h>
#include <malloc.h>
#include <mpjudge/mpjudge.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "annotate/store.h"
#include "common/disk_cap.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json.h"
#include "serve/connections.h"

namespace fs = std::filesystem;

namespace mpjudge {
namespace {

using Clock = std::chrono::steady_clock;

struct HttpError {
  int status;
  std::string message;
};

void send_json(httplib::Response& res, int status, const nlohmann::json& j) {
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", {{"status", status}, {"message", message}}}});
}

// ---- request bodies ----------------------------------------------------------------------------------
// Bodies are read through httplib's content reader, which hands over what the client sent after
// de-chunking and decompression (gzip, brotli): the limit is counted on those decoded bytes as they
// arrive, so a chunked or compressed body is refused when it passes the limit, not after it is in memory.
// A refused body is left unread and its connection closed after the answer.

using Form = std::multimap<std::string, httplib::MultipartFormData>;

std::string mib(int64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.1f MiB", double(bytes) / (1 << 20));
  return b;
}

[[noreturn]] void refuse_body(httplib::Response& res, int status, const std::string& message) {
  GuardedServer::close_after_response(res);
  throw HttpError{status, message};
}

Form read_form(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader, int64_t limit,
               size_t max_fields) {
  if (!req.is_multipart_form_data()) {
    const std::string type = req.get_header_value("Content-Type");
    refuse_body(res, 415,
                "expected a multipart/form-data body, found " + (type.empty() ? "no Content-Type" : "'" + type + "'"));
  }
  Form form;
  httplib::MultipartFormData* field = nullptr;
  int64_t total = 0;
  std::string too_large;
  const bool ok = reader(
      [&](const httplib::MultipartFormData& header) {
        if (form.size() >= max_fields) {
          too_large = "expected at most " + std::to_string(max_fields) + " form fields, found more";
          return false;
        }
        total += int64_t(header.name.size() + header.filename.size() + header.content_type.size()) + 128;
        field = &form.emplace(header.name, header)->second;
        return true;
      },
      [&](const char* data, size_t n) {
        total += int64_t(n);
        if (total > limit) {
          too_large =
              "request body too large: expected at most " + mib(limit) + " (decoded; --max-upload-mb), found more";
          return false;
        }
        if (field) field->content.append(data, n);
        return true;
      });
  if (!too_large.empty()) refuse_body(res, 413, too_large);
  if (!ok)
    refuse_body(res, 400,
                "the request body could not be read: truncated or malformed multipart/form-data, an unknown "
                "Content-Encoding, or sent slower than the server's request timeout");
  return form;
}

std::string read_body(httplib::Response& res, const httplib::ContentReader& reader, int64_t limit) {
  std::string body;
  bool too_large = false;
  const bool ok = reader([&](const char* data, size_t n) {
    if (int64_t(body.size() + n) > limit) return !(too_large = true);
    body.append(data, n);
    return true;
  });
  if (too_large)
    refuse_body(res, 413, "request body too large: expected at most " + std::to_string(limit) + " bytes, found more");
  if (!ok) refuse_body(res, 400, "the request body could not be read (truncated, or an unknown Content-Encoding)");
  return body;
}

constexpr int64_t kJsonBodyLimit = 64 << 10;  // annotation answers and logins

// ---- metrics (Prometheus text format) ----------------------------------------------------------------

class Metrics {
 public:
  static constexpr double kBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  void record(const std::string& route, int status, double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    counts_[{route, status}]++;
    auto& h = hist_[route];
    h.resize(std::size(kBuckets) + 1);
    for (size_t b = 0; b < std::size(kBuckets); ++b)
      if (seconds <= kBuckets[b]) h[b]++;
    h.back()++;
    sums_[route] += seconds;
  }
  std::string render(int in_flight, int capacity, uint64_t rejected, const ConnectionStats& conn) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::ostringstream o;
    o << "# HELP mpjudge_requests_total Requests by route and status.\n# TYPE mpjudge_requests_total counter\n";
    for (const auto& [k, n] : counts_)
      o << "mpjudge_requests_total{route=\"" << k.first << "\",status=\"" << k.second << "\"} " << n << "\n";
    o << "# HELP mpjudge_request_duration_seconds Request latency by route.\n"
         "# TYPE mpjudge_request_duration_seconds histogram\n";
    for (const auto& [route, h] : hist_) {
      for (size_t b = 0; b < std::size(kBuckets); ++b)
        o << "mpjudge_request_duration_seconds_bucket{route=\"" << route << "\",le=\"" << kBuckets[b] << "\"} " << h[b]
          << "\n";
      o << "mpjudge_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} " << h.back() << "\n";
      o << "mpjudge_request_duration_seconds_sum{route=\"" << route << "\"} " << sums_.at(route) << "\n";
      o << "mpjudge_request_duration_seconds_count{route=\"" << route << "\"} " << h.back() << "\n";
    }
    auto metric = [&o](const char* name, const char* type, const char* help, auto value) {
      o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
        << name << " " << value << "\n";
    };
    metric("mpjudge_scoring_in_flight", "gauge", "Scoring requests admitted (running or queued).", in_flight);
    metric("mpjudge_scoring_capacity", "gauge", "Workers plus queue slots.", capacity);
    metric("mpjudge_rejected_total", "counter", "Scoring requests refused with 429.", rejected);
    metric("mpjudge_connections_open", "gauge", "Open client connections (idle ones included).", conn.open);
    metric("mpjudge_connections_idle", "gauge", "Connections waiting for their next request.", conn.idle);
    metric("mpjudge_connections_refused_total", "counter", "Connections answered 503 at the --max-connections cap.",
           conn.refused);
    metric("mpjudge_connections_evicted_total", "counter", "Idle connections closed to admit a new one.", conn.evicted);
    metric("mpjudge_connection_timeouts_total", "counter", "Reads and writes that ran past their deadline.",
           conn.timed_out);
    long pages = 0, rss = 0;
    if (std::ifstream statm("/proc/self/statm"); statm >> pages >> rss)
      metric("process_resident_memory_bytes", "gauge", "Resident memory.", rss * sysconf(_SC_PAGESIZE));
    return o.str();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> counts_;
  std::map<std::string, std::vector<uint64_t>> hist_;
  std::map<std::string, double> sums_;
};

// ---- the bounded scoring pool ------------------------------------------------------------------------

class ScorerPool {
 public:
  ScorerPool(const std::string& model, const FeatureOptions& fo, int workers, int queue) : capacity_(workers + queue) {
    for (int i = 0; i < workers; ++i) scorers_.push_back(std::make_unique<Scorer>(model, fo));
    for (auto& s : scorers_) free_.push_back(s.get());
  }
  class Lease {
   public:
    Lease(ScorerPool* p, Scorer* s) : p_(p), s_(s) {}
    Lease(Lease&& o) noexcept : p_(o.p_), s_(o.s_) { o.p_ = nullptr; }
    ~Lease() {
      if (p_) p_->release(s_);
    }
    Scorer& operator*() { return *s_; }
    Scorer* operator->() { return s_; }

   private:
    ScorerPool* p_;
    Scorer* s_;
  };
  // nullopt when workers + queue requests are already admitted (the caller answers 429).
  std::optional<Lease> acquire() {
    if (admitted_.fetch_add(1) >= capacity_) {
      admitted_.fetch_sub(1);
      rejected_++;
      return std::nullopt;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    Scorer* s = free_.back();
    free_.pop_back();
    return Lease(this, s);
  }
  void count_rejected() { rejected_++; }
  int in_flight() const { return admitted_.load(); }
  int capacity() const { return capacity_; }
  uint64_t rejected() const { return rejected_.load(); }

 private:
  void release(Scorer* s) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(s);
    }
    admitted_.fetch_sub(1);
    cv_.notify_one();
  }
  int capacity_;
  std::vector<std::unique_ptr<Scorer>> scorers_;
  std::vector<Scorer*> free_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> admitted_{0};
  std::atomic<uint64_t> rejected_{0};
};

// ---- the server --------------------------------------------------------------------------------------

std::atomic<bool> g_signal_stop{false};
extern "C" void on_signal(int) { g_signal_stop = true; }

const std::map<std::string, std::string> kWebFiles = {
    {"index.html", "text/html; charset=utf-8"},
    {"app.js", "text/javascript; charset=utf-8"},
    {"app.css", "text/css; charset=utf-8"},
};

constexpr int kMapSide = 1024;  // long side of the served modulation-map PNGs

struct Server {
  ServeOptions opt;
  std::unique_ptr<ScorerPool> pool;
  std::unique_ptr<AnnotationStore> store;
  Metrics metrics;
  std::map<std::string, std::string> web;  // file -> content, read once
  std::mutex desc_mu;
  std::map<std::string, nlohmann::json> desc_cache;  // sha256 -> descriptors (bounded)
  GuardedServer* connections = nullptr;

  // The kind of an upload ("wav", "png", ...); refuses an empty one or one not of the field's kind.
  static std::string upload_kind(const httplib::MultipartFormData& f, bool music) {
    if (f.content.empty()) throw HttpError{400, "field '" + f.name + "': expected a file, found an empty upload"};
    const std::string kind = sniff(reinterpret_cast<const uint8_t*>(f.content.data()), f.content.size());
    if (music ? !is_audio_kind(kind) : !is_image_kind(kind))
      throw HttpError{415, "field '" + f.name + "' (" + (f.filename.empty() ? "upload" : f.filename) + "): expected " +
                               (music ? "audio (WAV, FLAC, Ogg, MP3, AIFF)" : "an image (PNG, JPEG, WebP, BMP, TIFF)") +
                               ", found " + describe_kind(kind)};
    return kind;
  }

  // Saves an upload under work/uploads/<sha256>.<kind>, its kind as upload_kind found it (callers check
  // every field first, so a refused request stores nothing).
  std::pair<std::string, std::string> save_upload(const httplib::MultipartFormData& f, const std::string& kind) {
    const auto* p = reinterpret_cast<const uint8_t*>(f.content.data());
    const std::string sha = sha256_hex(p, f.content.size());
    const std::string path = opt.work_dir + "/uploads/" + sha + "." + kind;
    if (fs::exists(path)) {
      touch_file(path);
    } else {
      write_file_atomic(path, f.content.data(), f.content.size());
      disk_cap_added(opt.work_dir + "/uploads", int64_t(f.content.size()));
    }
    return {path, sha};
  }

  nlohmann::json descriptors(const std::string& path, const std::string& sha, bool music) {
    {
      std::lock_guard<std::mutex> lock(desc_mu);
      auto it = desc_cache.find(sha);
      if (it != desc_cache.end()) return it->second;
    }
    nlohmann::json j = music ? to_json(describe_music(path)) : to_json(describe_painting(path));
    std::lock_guard<std::mutex> lock(desc_mu);
    if (desc_cache.size() >= 1024) desc_cache.erase(desc_cache.begin());
    desc_cache[sha] = j;
    return j;
  }

  static const httplib::MultipartFormData& need_file(const Form& form, const std::string& field) {
    auto it = form.find(field);
    if (it == form.end())
      throw HttpError{400, "expected a multipart/form-data field '" + field + "', found " +
                               (form.empty() ? std::string("no file fields") : "none by that name")};
    return it->second;
  }

  // Requests are checked and queued before their uploads are stored: a refused request (400, 413, 429)
  // leaves nothing on disk.
  void score(const Form& form, httplib::Response& res) {
    const auto& music_field = need_file(form, "music");
    const auto& painting_field = need_file(form, "painting");
    auto lease = pool->acquire();
    if (!lease) throw HttpError{429, "the scoring queue is full; retry shortly"};
    const std::string music_kind = upload_kind(music_field, true), painting_kind = upload_kind(painting_field, false);
    auto [music, msha] = save_upload(music_field, music_kind);
    auto [painting, psha] = save_upload(painting_field, painting_kind);
    ScoreResult r = (*lease)->score(music, painting);
    const std::string key = msha + psha + opt.model;  // the maps of this pair under this model
    const std::string id = sha256_hex(reinterpret_cast<const uint8_t*>(key.data()), key.size()).substr(0, 32);
    nlohmann::json maps = nlohmann::json::array();
    std::string maps_error;  // a map that cannot be written (a full disk) costs its URL, not the score
    for (size_t k = 0; k < r.maps.size(); ++k) {
      const std::string png = opt.work_dir + "/maps/" + id + "/" + std::to_string(k) + ".png";
      bool have_png = fs::exists(png);
      if (have_png) touch_file(png);
      if (!have_png) {
        try {
          fs::create_directories(fs::path(png).parent_path());
          // The pure heat map (the page blends it), at most kMapSide px: a 4096 px painting gave 4.9 MB of maps.
          write_overlay_png(painting, r.maps[k], png, 1.0, kMapSide);
          have_png = true;
          disk_cap_added(opt.work_dir + "/maps", int64_t(fs::file_size(png)));
        } catch (const std::exception& e) {
          std::fprintf(stderr, "mpjudge serve: /v1/score: map %zu not written: %s\n", k, e.what());
          maps_error = "the modulation maps could not be stored on the server (" + redact(e.what()) + ")";
        }
      }
      float lo = r.maps[k].values.empty() ? 0 : *std::min_element(r.maps[k].values.begin(), r.maps[k].values.end());
      float hi = r.maps[k].values.empty() ? 0 : *std::max_element(r.maps[k].values.begin(), r.maps[k].values.end());
      maps.push_back({{"block", k},
                      {"layer", r.maps[k].layer},
                      {"width", r.maps[k].width},
                      {"height", r.maps[k].height},
                      {"min", lo},
                      {"max", hi},
                      {"url", have_png ? nlohmann::json("/v1/maps/" + id + "/" + std::to_string(k) + ".png")
                                       : nlohmann::json(nullptr)}});
    }
    nlohmann::json out{{"score", r.score},
                       {"percentile", std::isfinite(r.percentile) ? nlohmann::json(r.percentile) : nlohmann::json()},
                       {"model", fs::path(r.model).filename().string()},
                       {"model_sha256", r.model_sha256},
                       {"model_version", r.model_version},
                       {"percentile_reference", (*lease)->model().reference},
                       {"music", {{"sha256", msha}, {"descriptors", descriptors(music, msha, true)}}},
                       {"painting", {{"sha256", psha}, {"descriptors", descriptors(painting, psha, false)}}},
                       {"maps", maps}};
    if (!maps_error.empty()) out["warnings"] = {maps_error};
    send_json(res, 200, out);
  }

  void rank(const Form& form, httplib::Response& res) {
    const auto& music_field = need_file(form, "music");
    const size_t n_paintings = form.count("painting");
    if (n_paintings == 0) throw HttpError{400, "expected one or more 'painting' fields, found none"};
    if (int(n_paintings) > opt.max_rank_paintings)
      throw HttpError{413, "expected at most " + std::to_string(opt.max_rank_paintings) + " paintings, found " +
                               std::to_string(n_paintings)};
    auto lease = pool->acquire();
    if (!lease) throw HttpError{429, "the scoring queue is full; retry shortly"};
    const std::string music_kind = upload_kind(music_field, true);
    auto range = form.equal_range("painting");
    std::vector<std::string> painting_kinds;
    for (auto it = range.first; it != range.second; ++it) painting_kinds.push_back(upload_kind(it->second, false));
    auto [music, msha] = save_upload(music_field, music_kind);
    std::vector<std::string> paths;
    std::map<std::string, std::string> names;
    size_t k = 0;
    for (auto it = range.first; it != range.second; ++it) {
      auto [p, sha] = save_upload(it->second, painting_kinds[k++]);
      paths.push_back(p);
      names[p] = it->second.filename.empty() ? sha : it->second.filename;
    }
    nlohmann::json ranking = nlohmann::json::array();
    const ModelInfo& model = (*lease)->model();
    for (const auto& e : (*lease)->rank(music, paths)) {
      const double pct = score_percentile(model, e.score);
      ranking.push_back({{"painting", names[e.painting]},
                         {"sha256", fs::path(e.painting).stem().string()},
                         {"score", e.score},
                         {"percentile", std::isfinite(pct) ? nlohmann::json(pct) : nlohmann::json()}});
    }
    send_json(res, 200,
              {{"music", {{"sha256", msha}}},
               {"model_sha256", model.sha256},
               {"model_version", model.version},
               {"ranking", ranking}});
  }

  // ---- annotation ----
  Annotator auth(const httplib::Request& req) {
    if (!store) throw HttpError{404, "annotation is not enabled on this server (start it with --project DIR)"};
    std::string h = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (h.rfind(prefix, 0) != 0) throw HttpError{401, "expected an 'Authorization: Bearer TOKEN' header, found none"};
    auto a = store->authenticate(h.substr(prefix.size()));
    if (!a) throw HttpError{401, "unknown token"};
    return *a;
  }

  static nlohmann::json task_json(const AnnotationTask& t) {
    auto url = [](const std::string& p) { return "/v1/annotate/media?path=" + httplib::detail::encode_query_param(p); };
    nlohmann::json j{{"id", t.id}, {"kind", t.kind}, {"music", {{"path", t.music}, {"url", url(t.music)}}}};
    if (t.kind == "rate") {
      j["painting"] = {{"path", t.painting}, {"url", url(t.painting)}};
    } else {
      j["a"] = {{"path", t.painting}, {"url", url(t.painting)}};
      j["b"] = {{"path", t.painting_b}, {"url", url(t.painting_b)}};
    }
    return j;
  }

  nlohmann::json progress_json(int64_t id) {
    AnnotatorProgress p = store->progress(id);
    return {{"annotator", p.name}, {"answered", p.answered}, {"total", p.total}};
  }

  // "" when the request may proceed, else why it is refused (see the pre-routing handler).
  std::string foreign_request(const httplib::Request& req) const {
    auto lower = [](std::string x) {
      for (char& c : x) c = char(std::tolower(static_cast<unsigned char>(c)));
      return x;
    };
    const std::string host = lower(req.get_header_value("Host"));
    auto name_of = [](const std::string& h) {  // "[::1]:8080" -> "[::1]", "localhost:8080" -> "localhost"
      const size_t colon = h.rfind(':');
      return colon != std::string::npos && h.find(']', colon) == std::string::npos ? h.substr(0, colon) : h;
    };
    const bool loopback_bind = opt.host == "127.0.0.1" || opt.host == "localhost" || opt.host == "::1";
    const std::string name = name_of(host);
    const bool allowed = std::find(opt.allowed_hosts.begin(), opt.allowed_hosts.end(), name) != opt.allowed_hosts.end();
    if (loopback_bind && !host.empty() && !allowed && name != "127.0.0.1" && name != "localhost" && name != "[::1]")
      return "Host '" + host +
             "' is not this server (it listens on loopback only; a proxy's public name needs "
             "--allowed-host)";
    if (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS") return "";
    const std::string origin = lower(req.get_header_value("Origin"));
    if (!origin.empty() && origin != "http://" + host && origin != "https://" + host)
      return "a request from the page at '" + origin + "' to " + (host.empty() ? "this server" : host) +
             ": other sites' pages may not use this server";
    return "";
  }

  // Error bodies go to clients: the server's own folders become labels (the log keeps the full text).
  std::string redact(std::string msg) const {
    std::vector<std::pair<std::string, std::string>> dirs;
    for (const auto& [dir, label] : {std::pair{opt.work_dir, "<work>"}, std::pair{opt.project, "<project>"},
                                     std::pair{opt.cache_dir, "<cache>"}, std::pair{opt.model, "<model>"}}) {
      if (dir.empty()) continue;
      std::error_code ec;
      for (const std::string& form : {dir, fs::absolute(dir, ec).string(), fs::weakly_canonical(dir, ec).string()})
        if (form.size() > 1) dirs.push_back({form, label});
    }
    std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (const auto& [form, label] : dirs)
      for (size_t at = msg.find(form); at != std::string::npos; at = msg.find(form, at + label.size()))
        msg.replace(at, form.size(), label);
    return msg;
  }

  // Runs a handler, turning its errors into JSON error bodies, and records the request.
  template <class F>
  void guarded(const std::string& route, httplib::Response& res, F&& body) {
    const auto t0 = Clock::now();
    try {
      body();
    } catch (const HttpError& e) {
      send_error(res, e.status, e.message);
    } catch (const Error& e) {
      // Input problems the upload checks did not catch (a corrupt file of a known kind) are the
      // client's; a model or internal failure is ours.
      const int status = e.kind() == ErrorKind::Input || e.kind() == ErrorKind::Usage ? 400 : 500;
      if (status == 500) std::fprintf(stderr, "mpjudge serve: %s: %s\n", route.c_str(), e.what());
      send_error(res, status, redact(e.what()));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mpjudge serve: %s: internal error: %s\n", route.c_str(), e.what());
      send_error(res, 500, "internal error: " + redact(e.what()));
    }
    metrics.record(route, res.status, std::chrono::duration<double>(Clock::now() - t0).count());
  }

  // The POST routes and their body limits; any other POST (or PUT, PATCH, DELETE) is refused before
  // its body is read, since httplib would read it whole, chunked or compressed, into memory.
  int64_t body_limit(const std::string& path) const {
    if (path == "/v1/score" || path == "/v1/rank") return opt.max_upload_bytes;
    if (path == "/v1/annotate/login" || path == "/v1/annotate/answer") return kJsonBodyLimit;
    return -1;
  }

  // A metrics label for a path: a route of this server or "other" (clients choose paths; labels must
  // stay few).
  static std::string route_label(const std::string& path) {
    static const std::set<std::string> routes = {"/healthz",
                                                 "/metrics",
                                                 "/v1/score",
                                                 "/v1/rank",
                                                 "/",
                                                 "/app.js",
                                                 "/app.css",
                                                 "/v1/annotate/login",
                                                 "/v1/annotate/next",
                                                 "/v1/annotate/answers",
                                                 "/v1/annotate/answer",
                                                 "/v1/annotate/media"};
    if (path.rfind("/v1/maps/", 0) == 0) return "/v1/maps";
    return routes.count(path) ? path : "other";
  }

  // Checks a request once its headers are in, before any of its body is read: 0 to proceed, else the
  // status of the error already written to res (and the connection is closed after it).
  int admit(const httplib::Request& req, httplib::Response& res) {
    auto refuse = [&](int status, const std::string& message) {
      send_error(res, status, message);
      GuardedServer::close_after_response(res);
      metrics.record(route_label(req.path), status, 0);
      return status;
    };
    if (const std::string why = foreign_request(req); !why.empty()) return refuse(403, why);
    if (req.method != "GET" && req.method != "HEAD" && req.method != "POST" && req.method != "OPTIONS")
      return refuse(405, "method " + req.method + " is not used by this server (GET and POST are)");
    if (req.method != "POST") return 0;
    const int64_t limit = body_limit(req.path);
    if (limit < 0) return refuse(404, "no such endpoint: POST " + req.path);
    if (req.has_header("Content-Length")) {
      const std::string v = req.get_header_value("Content-Length");
      uint64_t n = 0;
      bool digits = !v.empty() && v.size() <= 19;
      for (char c : v) digits = digits && c >= '0' && c <= '9';
      if (!digits) return refuse(400, "expected a decimal Content-Length, found '" + v.substr(0, 40) + "'");
      n = std::stoull(v);
      if (n > uint64_t(limit))
        return refuse(413, "request body too large: expected at most " + mib(limit) +
                               " (--max-upload-mb), found a "
                               "declared Content-Length of " +
                               mib(int64_t(n)));
    }
    if ((req.path == "/v1/score" || req.path == "/v1/rank") && pool->in_flight() >= pool->capacity()) {
      pool->count_rejected();
      return refuse(429, "the scoring queue is full; retry shortly");
    }
    GuardedServer::body_phase();
    return 0;
  }

  void route(GuardedServer& svr) {
    auto wrap = [this](const std::string& route, auto body) {
      return [this, route, body](const httplib::Request& req, httplib::Response& res) {
        guarded(route, res, [&] { body(req, res); });
      };
    };
    // POST routes read their own bodies (see read_form and read_body).
    auto post = [this, &svr](const std::string& route, auto body) {
      svr.Post(route, [this, route, body](const httplib::Request& req, httplib::Response& res,
                                          const httplib::ContentReader& reader) {
        // A request with neither Content-Length nor chunked framing has no body (RFC 9112 6.3); httplib
        // would read one until the client closes, so it is not asked to.
        const bool framed = req.has_header("Content-Length") ||
                            req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
        bool read = !framed;  // a body left unread (an error before it was needed) must not be parsed next
        const httplib::ContentReader tracked(
            [&](httplib::ContentReceiver r) { return framed ? (read = true, reader(std::move(r))) : true; },
            [&](httplib::MultipartContentHeader h, httplib::ContentReceiver r) {
              return framed ? (read = true, reader(std::move(h), std::move(r))) : true;
            });
        guarded(route, res, [&] { body(req, res, tracked); });
        if (!read) GuardedServer::close_after_response(res);
      });
    };
    svr.Get("/healthz", wrap("/healthz", [this](const httplib::Request&, httplib::Response& res) {
              send_json(res, 200,
                        {{"status", "ok"},
                         {"version", version()},
                         {"model", fs::path(opt.model).filename().string()},
                         {"workers", opt.workers},
                         {"annotation", bool(store)}});
            }));
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.render(pool->in_flight(), pool->capacity(), pool->rejected(), connections->stats()),
                      "text/plain; version=0.0.4");
    });
    post("/v1/score", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& rd) {
      score(read_form(req, res, rd, opt.max_upload_bytes, 8), res);
    });
    post("/v1/rank", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& rd) {
      rank(read_form(req, res, rd, opt.max_upload_bytes, size_t(opt.max_rank_paintings) + 8), res);
    });
    svr.Get(R"(/v1/maps/([0-9a-f]{32})/([0-9]{1,2})\.png)",
            wrap("/v1/maps", [this](const httplib::Request& req, httplib::Response& res) {
              const std::string png =
                  opt.work_dir + "/maps/" + req.matches[1].str() + "/" + req.matches[2].str() + ".png";
              if (!fs::exists(png)) throw HttpError{404, "no such modulation map"};
              std::vector<uint8_t> b = read_file(png, 64 << 20);
              touch_file(png);
              res.set_content(reinterpret_cast<const char*>(b.data()), b.size(), "image/png");
              res.set_header("Cache-Control", "max-age=86400");
            }));
    for (const auto& [name, type] : kWebFiles) {
      const std::string path = name == "index.html" ? "/" : "/" + name;
      svr.Get(path, [this, name = name, type = type](const httplib::Request&, httplib::Response& res) {
        res.set_content(web.at(name), type);
        res.set_header("Content-Security-Policy",
                       "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'");
      });
    }
    // Annotation: the token decides who is answering; there is no way to name another annotator.
    post("/v1/annotate/login",
         [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& rd) {
           read_body(res, rd, kJsonBodyLimit);
           send_json(res, 200, {{"progress", progress_json(auth(req).id)}});
         });
    svr.Get("/v1/annotate/next", wrap("/v1/annotate/next", [this](const httplib::Request& req, httplib::Response& res) {
              Annotator a = auth(req);
              auto t = store->next_task(a.id);
              send_json(res, 200,
                        {{"task", t ? task_json(*t) : nlohmann::json(nullptr)}, {"progress", progress_json(a.id)}});
            }));
    svr.Get("/v1/annotate/answers",
            wrap("/v1/annotate/answers", [this](const httplib::Request& req, httplib::Response& res) {
              Annotator a = auth(req);
              nlohmann::json list = nlohmann::json::array();
              for (const auto& x : store->answers(a.id)) {
                nlohmann::json j{{"task", x.task}, {"kind", x.kind}, {"answered_at", x.answered_at}};
                if (x.kind == "rate")
                  j["rating"] = x.rating;
                else
                  j["choice"] = x.choice;
                list.push_back(j);
              }
              send_json(res, 200, {{"annotator", a.name}, {"answers", list}});
            }));
    post("/v1/annotate/answer", [this](const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& rd) {
      Annotator a = auth(req);
      nlohmann::json j = nlohmann::json::parse(read_body(res, rd, kJsonBodyLimit), nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("task") || !j["task"].is_number_integer())
        throw HttpError{
            400, "expected a JSON body {\"task\": ID, \"rating\": 1-5} or {\"task\": ID, \"choice\": \"a\"|\"b\"}"};
      const int64_t task = j["task"].get<int64_t>();
      auto t = store->task(task);
      if (!t) throw HttpError{404, "no task " + std::to_string(task)};
      if (t->kind == "rate") {
        if (!j.contains("rating") || !j["rating"].is_number_integer())
          throw HttpError{400, "task " + std::to_string(task) + " is a rating task: expected an integer 'rating' 1-5"};
        // Range-checked as a 64-bit value: narrowing first would turn 2^32 + 1 into a valid 1.
        const int64_t rating = j["rating"].is_number_unsigned() && j["rating"].get<uint64_t>() > uint64_t(INT64_MAX)
                                   ? INT64_MAX
                                   : j["rating"].get<int64_t>();
        store->answer_rating(a.id, task, rating);
      } else {
        if (!j.contains("choice") || !j["choice"].is_string())
          throw HttpError{400, "task " + std::to_string(task) + " is a comparison: expected 'choice' \"a\" or \"b\""};
        store->answer_choice(a.id, task, j["choice"].get<std::string>());
      }
      send_json(res, 200, {{"saved", true}, {"task", task}, {"progress", progress_json(a.id)}});
    });
    svr.Get("/v1/annotate/media",
            wrap("/v1/annotate/media", [this](const httplib::Request& req, httplib::Response& res) {
              auth(req);
              auto file = store->media_file(req.get_param_value("path"));
              if (!file) throw HttpError{404, "no task medium at that path"};
              std::vector<uint8_t> b = read_file(*file, 1ULL << 31);
              std::string kind = sniff(b.data(), b.size());
              static const std::map<std::string, std::string> types = {
                  {"wav", "audio/wav"}, {"flac", "audio/flac"}, {"ogg", "audio/ogg"},   {"mp3", "audio/mpeg"},
                  {"png", "image/png"}, {"jpeg", "image/jpeg"}, {"webp", "image/webp"}, {"bmp", "image/bmp"}};
              auto it = types.find(kind);
              res.set_content(reinterpret_cast<const char*>(b.data()), b.size(),
                              it != types.end() ? it->second : "application/octet-stream");
            }));
    // Before any body is read (admit): other sites' pages (a cross-origin POST) and, on a loopback bind,
    // requests for another host name (DNS rebinding) are refused, so a web page cannot drive a local
    // server; so are declared lengths over the limit, unknown POST routes and a full scoring queue. A
    // client that sends "Expect: 100-continue" gets the refusal instead of the go-ahead.
    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return admit(req, res) == 0 ? httplib::Server::HandlerResponse::Unhandled
                                  : httplib::Server::HandlerResponse::Handled;
    });
    svr.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
      const int status = admit(req, res);
      return status == 0 ? 100 : status;
    });
    svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;  // our own JSON errors pass unchanged
      if (res.status == 413)
        send_error(res, 413, "request body too large (limit set by --max-upload-mb)");
      else if (res.status == 404)
        send_error(res, 404, "no such endpoint");
      else
        send_error(res, res.status, "HTTP " + std::to_string(res.status));
    });
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, 500, "internal error");
    });
  }
};

}  // namespace

void serve(const ServeOptions& o, const std::function<void(int)>& on_ready, std::atomic<bool>* stop_flag,
           bool install_signal_handlers) {
  auto s = std::make_unique<Server>();
  s->opt = o;
  ServeOptions& opt = s->opt;
  if (opt.workers <= 0) opt.workers = std::max(1, int(std::thread::hardware_concurrency()));
  if (opt.queue < 0) fail_usage("--queue: expected 0 or more, found " + std::to_string(opt.queue));
  if (opt.max_upload_bytes <= 0) fail_usage("--max-upload-mb: expected a positive size");
  if (opt.max_connections < 1) fail_usage("--max-connections: expected 1 or more");
  for (std::string& h : opt.allowed_hosts) {
    for (char& c : h) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (h.empty() || h.find_first_of(":/ ") != std::string::npos)
      fail_usage("--allowed-host: expected a host name without scheme or port, found '" + h + "'");
  }
  if (!(opt.request_timeout_s > 0) || !(opt.idle_timeout_s > 0))
    fail_usage("--request-timeout and --idle-timeout: expected a positive number of seconds");
  for (const auto& [name, type] : kWebFiles) {
    std::vector<uint8_t> b = read_file(opt.web_dir + "/" + name, 16 << 20);
    s->web[name] = std::string(b.begin(), b.end());
  }
  std::error_code ec;
  fs::create_directories(opt.work_dir + "/uploads", ec);
  fs::create_directories(opt.work_dir + "/maps", ec);
  if (ec) fail_usage(opt.work_dir + ": cannot create the work folder (" + ec.message() + ")");
  if (!opt.project.empty()) s->store = std::make_unique<AnnotationStore>(opt.project);
  if (opt.max_uploads_bytes < 0 || opt.max_maps_bytes < 0 || opt.max_cache_bytes < 0)
    fail_usage("--max-uploads-mb, --max-maps-mb, --max-cache-mb: expected 0 (no cap) or more");
  set_disk_cap(opt.work_dir + "/uploads", opt.max_uploads_bytes);
  set_disk_cap(opt.work_dir + "/maps", opt.max_maps_bytes);
  set_disk_cap(resolve_cache_dir(opt.cache_dir), opt.max_cache_bytes);
  FeatureOptions fo;
  fo.cache_dir = opt.cache_dir;
  fo.threads = 1;  // parallel over requests instead
  s->pool = std::make_unique<ScorerPool>(opt.model, fo, opt.workers, opt.queue);

  // glibc gives each new thread its own malloc arena; with dozens of connection threads the resident
  // size then grows as connections land on fresh threads. A few shared arenas keep it flat.
  mallopt(M_ARENA_MAX, 4);
  ConnectionLimits limits;
  limits.max_connections = opt.max_connections;
  limits.request_timeout_s = opt.request_timeout_s;
  limits.idle_timeout_s = opt.idle_timeout_s;
  // Threads serve connections with bytes to read (idle ones wait in the poller): room for every worker
  // and queue slot plus as many again to answer health checks, maps and 429s while all are busy.
  limits.threads = size_t(2 * (opt.workers + opt.queue) + 8);
  GuardedServer svr(limits);
  s->connections = &svr;
  svr.set_payload_max_length(size_t(opt.max_upload_bytes));  // a second wall behind admit()
  s->route(svr);
  int port = opt.port;
  if (port == 0) {
    port = svr.bind_to_any_port(opt.host);
    if (port < 0) fail_usage("cannot bind " + opt.host + " to any port");
  } else if (!svr.bind_to_port(opt.host, port)) {
    fail_usage("cannot listen on " + opt.host + ":" + std::to_string(port) + " (in use, or not allowed)");
  }
  if (install_signal_handlers) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
  }
  on_ready(port);
  std::thread stopper([&] {
    while (!g_signal_stop && !(stop_flag && *stop_flag)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    svr.stop();
  });
  svr.listen_after_bind();
  g_signal_stop = true;  // when listen ends on its own
  stopper.join();
  g_signal_stop = false;
}

}  // namespace mpjudge
