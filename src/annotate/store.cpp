// The annotation project (see store.h): SQLite schema, tokens, answers, MPD export.
#include "annotate/store.h"

#include <mpjudge/mpjudge.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/error.h"
#include "common/files.h"
#include "data/mpd.h"

namespace fs = std::filesystem;

namespace mpjudge {
namespace {

// One row per annotator, medium, task and answer. An answer's primary key (annotator, task) makes a
// second answer replace the first; the CHECKs keep values in range even for writers other than mpjudge.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS annotators(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_sha256 TEXT NOT NULL UNIQUE, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS media(
  path TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK(kind IN ('music', 'painting')), source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks(
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK(kind IN ('rate', 'compare')),
  music TEXT NOT NULL REFERENCES media(path), painting TEXT NOT NULL REFERENCES media(path),
  painting_b TEXT NOT NULL DEFAULT '', UNIQUE(kind, music, painting, painting_b));
CREATE TABLE IF NOT EXISTS answers(
  annotator INTEGER NOT NULL REFERENCES annotators(id), task INTEGER NOT NULL REFERENCES tasks(id),
  rating INTEGER CHECK(rating IS NULL OR rating BETWEEN 1 AND 5), choice TEXT CHECK(choice IS NULL OR choice IN ('a', 'b')),
  answered TEXT NOT NULL, PRIMARY KEY(annotator, task));
INSERT OR IGNORE INTO meta VALUES ('format', 'mpjudge-annotations'), ('version', '1');
)sql";

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      fail_internal(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.c_str(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  bool step() {  // true: a row
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail_internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  int64_t i(int c) const { return sqlite3_column_int64(s_, c); }
  std::string s(int c) const {
    auto* p = sqlite3_column_text(s_, c);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  bool null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

std::string sha256(const std::string& s) { return sha256_hex(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

std::string random_token() {
  unsigned char b[24];
  std::ifstream f("/dev/urandom", std::ios::binary);
  if (!f.read(reinterpret_cast<char*>(b), sizeof b)) fail_internal("cannot read /dev/urandom for a token");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) out += hex[c >> 4], out += hex[c & 15];
  return out;
}

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// A relative media path that stays inside its folder: no absolute path, no '..', no empty or hidden parts.
bool safe_relative(const std::string& p) {
  if (p.empty() || p.size() > 512 || p[0] == '/' || p.find('\\') != std::string::npos ||
      p.find('\0') != std::string::npos)
    return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part[0] == '.') return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

AnnotationStore::AnnotationStore(const std::string& project, bool create) : project_(project) {
  const std::string db = project + "/annotations.sqlite";
  struct stat st {};
  if (!create && stat(db.c_str(), &st) != 0)
    throw Error(ErrorKind::Input, project + ": expected an annotation project (annotations.sqlite), found none",
                "create one with `mpjudge annotate load --project " + project + " --tasks TASKS.json`");
  if (create) {
    std::error_code ec;
    fs::create_directories(project + "/media", ec);
    if (ec) fail_usage(project + ": cannot create the project folder (" + ec.message() + ")");
  }
  if (sqlite3_open_v2(db.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error(ErrorKind::Input, db + ": expected an SQLite database, found an error (" + msg + ")");
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    // WAL: readers never block the writer; synchronous=FULL: a committed answer survives a crash of the
    // process and of the machine.
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    exec(kSchema);
    Stmt s(db_, "SELECT value FROM meta WHERE key = 'format'");
    if (!s.step() || s.s(0) != "mpjudge-annotations")
      throw Error(ErrorKind::Input, db + ": expected an mpjudge annotation database, found another SQLite file");
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

AnnotationStore::~AnnotationStore() { sqlite3_close(db_); }

void AnnotationStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    const std::string db = project_ + "/annotations.sqlite";
    if (msg.find("not a database") != std::string::npos || msg.find("malformed") != std::string::npos)
      throw Error(ErrorKind::Input, db + ": expected an SQLite database, found " + msg);
    fail_internal(db + ": " + msg);
  }
}

size_t AnnotationStore::load_tasks(const std::string& task_file) {
  std::vector<uint8_t> bytes = read_file(task_file, 64ULL << 20);
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fail_input(task_file, "a JSON object {\"rate\": [...], \"compare\": [...]}", "something else");
  const std::string base = fs::path(task_file).parent_path().string();
  struct Item {
    std::string kind, music, painting, painting_b;
  };
  std::vector<Item> items;
  std::map<std::string, std::string> kinds;  // path -> music | painting
  auto field = [&](const nlohmann::json& e, const std::string& where, const char* name, const std::string& kind) {
    if (!e.contains(name) || !e[name].is_string())
      fail_input(task_file, where + ": a string field '" + name + "'", e.contains(name) ? e[name].dump() : "none");
    std::string p = e[name].get<std::string>();
    if (!safe_relative(p))
      fail_input(task_file, where + ": '" + name + "' a relative path inside " + (base.empty() ? "." : base),
                 "'" + p + "'");
    auto it = kinds.find(p);
    if (it != kinds.end() && it->second != kind)
      fail_input(task_file, where + ": '" + p + "' used as one kind only", "it is used as music and as a painting");
    if (it == kinds.end()) {
      const std::string file = (base.empty() ? p : base + "/" + p);
      // The path is relative and has no "..", but a symbolic link on the way may still lead out of the
      // task folder (to /etc, to another user's files): resolve it and require it to stay inside.
      std::error_code ec;
      const fs::path root = fs::weakly_canonical(base.empty() ? fs::path(".") : fs::path(base), ec);
      const fs::path real = fs::weakly_canonical(file, ec);
      const auto rel = real.lexically_relative(root);
      if (ec || rel.empty() || *rel.begin() == "..")
        fail_input(task_file, where + ": '" + name + "' a file inside " + (base.empty() ? "." : base),
                   "'" + p + "', a symbolic link leading outside it");
      MappedFile head(file, 1ULL << 31);  // sniff reads the first bytes only; the copy below reads it whole
      std::string k = sniff(head.data(), head.size());
      if (kind == "music" ? !is_audio_kind(k) : !is_image_kind(k))
        fail_input(file, where + ": " + (kind == "music" ? std::string("an audio file") : std::string("an image")),
                   describe_kind(k));
      kinds[p] = kind;
    }
    return p;
  };
  for (const char* section : {"rate", "compare"}) {
    if (!j.contains(section)) continue;
    if (!j[section].is_array()) fail_input(task_file, std::string("'") + section + "' an array", j[section].dump());
    size_t n = 0;
    for (const auto& e : j[section]) {
      const std::string where = std::string(section) + "[" + std::to_string(n++) + "]";
      if (!e.is_object()) fail_input(task_file, where + ": an object", e.dump());
      Item it{section, field(e, where, "music", "music"), "", ""};
      if (it.kind == "rate") {
        it.painting = field(e, where, "painting", "painting");
      } else {
        it.painting = field(e, where, "a", "painting");
        it.painting_b = field(e, where, "b", "painting");
        if (it.painting == it.painting_b) fail_input(task_file, where + ": two different paintings", "the same twice");
      }
      items.push_back(it);
    }
  }
  if (items.empty()) fail_input(task_file, "at least one task in 'rate' or 'compare'", "none");
  std::map<std::string, std::string> sources;
  if (j.contains("sources")) {
    if (!j["sources"].is_object()) fail_input(task_file, "'sources' an object {path: label}", j["sources"].dump());
    for (auto& [k, v] : j["sources"].items())
      if (v.is_string()) sources[k] = v.get<std::string>();
  }
  // Media first (each copy atomic; identical copies are harmless), then the tasks in one transaction.
  for (const auto& [p, kind] : kinds) {
    const std::string dst = project_ + "/media/" + p;
    std::error_code ec;
    fs::create_directories(fs::path(dst).parent_path(), ec);
    std::vector<uint8_t> data = read_file(base.empty() ? p : base + "/" + p, 1ULL << 31);
    write_file_atomic(dst, data.data(), data.size());
  }
  std::lock_guard<std::mutex> lock(mu_);
  size_t added = 0;
  exec("BEGIN IMMEDIATE");
  try {
    for (const auto& [p, kind] : kinds) {
      auto src = sources.find(p);
      Stmt s(db_,
             "INSERT INTO media(path, kind, source) VALUES (?1, ?2, ?3) ON CONFLICT(path) DO UPDATE SET source = "
             "excluded.source");
      s.bind(1, p).bind(2, kind).bind(3, src != sources.end() ? src->second : std::string("unknown")).step();
    }
    for (const auto& it : items) {
      Stmt s(db_, "INSERT OR IGNORE INTO tasks(kind, music, painting, painting_b) VALUES (?1, ?2, ?3, ?4)");
      s.bind(1, it.kind).bind(2, it.music).bind(3, it.painting).bind(4, it.painting_b).step();
      added += size_t(sqlite3_changes(db_));
    }
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
  return added;
}

std::string AnnotationStore::add_annotator(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.find_first_of(",\"\n\r") != std::string::npos)
    fail_usage("annotator name: expected 1-64 characters without commas, quotes or newlines, found '" + name + "'");
  const std::string token = random_token();
  std::lock_guard<std::mutex> lock(mu_);
  Stmt exists(db_, "SELECT 1 FROM annotators WHERE name = ?1");
  exists.bind(1, name);
  if (exists.step()) fail_usage("annotator '" + name + "' exists already");
  Stmt s(db_, "INSERT INTO annotators(name, token_sha256, created) VALUES (?1, ?2, ?3)");
  s.bind(1, name).bind(2, sha256(token)).bind(3, now_utc()).step();
  return token;
}

std::optional<Annotator> AnnotationStore::authenticate(const std::string& token) {
  if (token.size() != 48) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT id, name FROM annotators WHERE token_sha256 = ?1");
  s.bind(1, sha256(token));
  if (!s.step()) return std::nullopt;
  return Annotator{s.i(0), s.s(1)};
}

namespace {
AnnotationTask task_row(const Stmt& s) { return {s.i(0), s.s(1), s.s(2), s.s(3), s.s(4)}; }
}  // namespace

std::optional<AnnotationTask> AnnotationStore::one_task(const char* where, int64_t arg) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT id, kind, music, painting, painting_b FROM tasks WHERE ") + where).c_str());
  s.bind(1, arg);
  if (!s.step()) return std::nullopt;
  return task_row(s);
}

std::optional<AnnotationTask> AnnotationStore::next_task(int64_t annotator) {
  return one_task("id NOT IN (SELECT task FROM answers WHERE annotator = ?1) ORDER BY id LIMIT 1", annotator);
}

std::optional<AnnotationTask> AnnotationStore::task(int64_t id) { return one_task("id = ?1", id); }

void AnnotationStore::answer_rating(int64_t annotator, int64_t task_id, int64_t rating) {
  if (rating < kRatingMin || rating > kRatingMax)
    fail_usage("rating: expected an integer from 1 to 5, found " + std::to_string(rating));
  save_answer(annotator, task_id, "rate", int(rating), "");
}

void AnnotationStore::answer_choice(int64_t annotator, int64_t task_id, const std::string& choice) {
  if (choice != "a" && choice != "b") fail_usage("choice: expected \"a\" or \"b\", found \"" + choice + "\"");
  save_answer(annotator, task_id, "compare", 0, choice);
}

void AnnotationStore::save_answer(int64_t annotator, int64_t task_id, const std::string& kind, int rating,
                                  const std::string& choice) {
  auto t = task(task_id);
  if (!t || t->kind != kind)
    fail_usage("task " + std::to_string(task_id) + ": expected a " + (kind == "rate" ? "rating" : "comparison") +
               " task, found " + (t ? t->kind : "no such task"));
  std::lock_guard<std::mutex> lock(mu_);
  // One statement = one transaction (autocommit): the answer is on disk when this returns.
  Stmt s(db_,
         "INSERT INTO answers(annotator, task, rating, choice, answered) VALUES (?1, ?2, ?3, ?4, ?5) "
         "ON CONFLICT(annotator, task) DO UPDATE SET rating = excluded.rating, choice = excluded.choice, "
         "answered = excluded.answered");
  s.bind(1, annotator).bind(2, task_id);
  if (kind == "rate")
    s.bind(3, int64_t(rating)).bind_null(4);
  else
    s.bind_null(3).bind(4, choice);
  s.bind(5, now_utc()).step();
}

std::vector<AnnotationAnswer> AnnotationStore::answers(int64_t annotator) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT a.task, t.kind, a.rating, a.choice, a.answered FROM answers a JOIN tasks t ON t.id = a.task "
         "WHERE a.annotator = ?1 ORDER BY a.task");
  s.bind(1, annotator);
  std::vector<AnnotationAnswer> out;
  while (s.step()) out.push_back({s.i(0), s.s(1), s.null(2) ? 0 : int(s.i(2)), s.s(3), s.s(4)});
  return out;
}

AnnotatorProgress AnnotationStore::progress(int64_t annotator) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT name, (SELECT COUNT(*) FROM answers WHERE annotator = ?1), (SELECT COUNT(*) FROM tasks) "
         "FROM annotators WHERE id = ?1");
  s.bind(1, annotator);
  if (!s.step()) fail_usage("no annotator with id " + std::to_string(annotator));
  return {s.s(0), s.i(1), s.i(2)};
}

std::vector<AnnotatorProgress> AnnotationStore::all_progress() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT n.name, (SELECT COUNT(*) FROM answers a WHERE a.annotator = n.id), (SELECT COUNT(*) FROM tasks) "
         "FROM annotators n ORDER BY n.name");
  std::vector<AnnotatorProgress> out;
  while (s.step()) out.push_back({s.s(0), s.i(1), s.i(2)});
  return out;
}

std::optional<std::string> AnnotationStore::media_file(const std::string& rel) {
  if (!safe_relative(rel)) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT 1 FROM media WHERE path = ?1");
  s.bind(1, rel);
  if (!s.step()) return std::nullopt;
  return project_ + "/media/" + rel;
}

ExportSummary AnnotationStore::export_mpd(const std::string& out, bool force) {
  struct stat st {};
  if (lstat(out.c_str(), &st) == 0) {
    if (!force) fail_usage(out + ": exists already; pass --force to replace it");
    // --force replaces an earlier export (a folder with mpd.json) or an empty folder, nothing else: a
    // mistyped --out must not delete a file, a symlink's target, the project or someone's home.
    std::error_code ec;
    const bool dir = S_ISDIR(st.st_mode);
    const bool dataset = dir && fs::exists(fs::path(out) / "mpd.json", ec);
    const bool empty = dir && fs::is_empty(out, ec);
    const bool project = dir && fs::equivalent(out, project_, ec);
    if (!dir || project || !(dataset || empty))
      fail_usage(out + ": --force replaces only an MPD dataset folder (one with mpd.json) or an empty folder; found " +
                     (!dir      ? std::string(S_ISLNK(st.st_mode) ? "a symbolic link" : "a file")
                      : project ? "the annotation project itself"
                                : "a folder that is not an MPD dataset"),
                 "choose another --out, or remove it yourself");
  }
  MpdDataset d;
  d.name = "mpjudge annotations from " + fs::path(project_).filename().string();
  d.version = kMpdVersion;
  d.scale_min = kRatingMin;
  d.scale_max = kRatingMax;
  std::set<std::string> used;
  std::map<std::string, std::string> source, kind;  // per medium path
  ExportSummary sum;
  std::set<std::string> raters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // One read transaction: a consistent snapshot even while the server keeps writing.
    exec("BEGIN");
    try {
      Stmt m(db_, "SELECT path, source, kind FROM media");
      while (m.step()) source[m.s(0)] = m.s(1), kind[m.s(0)] = m.s(2);
      Stmt r(db_,
             "SELECT t.id, t.music, t.painting, n.name, a.rating FROM answers a JOIN tasks t ON t.id = a.task "
             "JOIN annotators n ON n.id = a.annotator WHERE t.kind = 'rate' AND a.rating IS NOT NULL ORDER BY t.id, "
             "n.name");
      std::map<int64_t, std::vector<double>> by_task;
      std::map<int64_t, std::pair<std::string, std::string>> pair_media;
      while (r.step()) {
        const std::string id = "r" + std::to_string(r.i(0));
        d.ratings.push_back({id, r.s(3), double(r.i(4)), 0});
        by_task[r.i(0)].push_back(double(r.i(4)));
        pair_media[r.i(0)] = {r.s(1), r.s(2)};
        raters.insert(r.s(3));
      }
      for (const auto& [tid, v] : by_task) {
        double mean = 0;
        for (double x : v) mean += x;
        mean /= double(v.size());
        const auto& [mu, pa] = pair_media[tid];
        d.pairs.push_back({"r" + std::to_string(tid), mu, pa, (mean - kRatingMin) / (kRatingMax - kRatingMin),
                           source[mu], source[pa], 0});
        used.insert(mu), used.insert(pa);
      }
      Stmt c(db_,
             "SELECT t.id, t.music, t.painting, t.painting_b, SUM(a.choice = 'a'), COUNT(*) FROM answers a "
             "JOIN tasks t ON t.id = a.task WHERE t.kind = 'compare' AND a.choice IS NOT NULL GROUP BY t.id ORDER BY "
             "t.id");
      while (c.step()) {
        const int64_t na = c.i(4), n = c.i(5);
        if (2 * na == n) {
          ++sum.tied_comparisons;
          continue;
        }
        const bool a_wins = 2 * na > n;
        d.preferences.push_back({"c" + std::to_string(c.i(0)), c.s(1), a_wins ? c.s(2) : c.s(3),
                                 a_wins ? c.s(3) : c.s(2), int(n), double(a_wins ? na : n - na) / double(n), 0});
        used.insert(c.s(1)), used.insert(c.s(2)), used.insert(c.s(3));
      }
      exec("COMMIT");
    } catch (...) {
      exec("ROLLBACK");
      throw;
    }
  }
  for (const auto& p : used) {
    d.media.push_back({p, kind[p], source[p], p, "", std::nullopt, std::nullopt, "", 0, ""});
  }
  // Stage everything beside `out`, then swap it in: a failure leaves no half-written dataset.
  const std::string stage = out + ".partial";
  std::error_code ec;
  fs::remove_all(stage, ec);
  try {
    fs::create_directories(stage, ec);
    if (ec) fail_usage(stage + ": cannot create the export folder (" + ec.message() + ")");
    for (const auto& p : used) {
      fs::create_directories(fs::path(stage + "/" + p).parent_path(), ec);
      fs::copy_file(project_ + "/media/" + p, stage + "/" + p, fs::copy_options::overwrite_existing, ec);
      if (ec) fail_internal("copying " + p + " into the export: " + ec.message());
    }
    d.root = stage;
    write_mpd(d, stage);
    if (fs::exists(out)) fs::remove_all(out);
    fs::rename(stage, out);
  } catch (...) {
    fs::remove_all(stage, ec);
    throw;
  }
  sum.pairs = d.pairs.size();
  sum.ratings = d.ratings.size();
  sum.preferences = d.preferences.size();
  sum.raters = raters.size();
  sum.media = used.size();
  return sum;
}

}  // namespace mpjudge
