// The annotation project: a folder with an SQLite database (WAL, one transaction per answer) and the task
// media. An admin loads task sets (pairs to rate 1-5; music + two paintings to compare) and issues
// per-person tokens; annotators answer through the server; `export_mpd` writes an MPD dataset with
// per-rater ratings. Torch-free. Thread-safe: every call takes the store's lock (SQLite serialises writes
// anyway, and one connection keeps the WAL durable with synchronous=FULL).
//
//   PROJECT/annotations.sqlite   schema in store.cpp (kSchema)
//   PROJECT/media/...            the task media, copied in by load_tasks
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace mpjudge {

struct Annotator {
  int64_t id = 0;
  std::string name;
};

struct AnnotationTask {
  int64_t id = 0;
  std::string kind;                         // "rate" | "compare"
  std::string music, painting, painting_b;  // media paths relative to PROJECT/media; painting_b for compare
};

struct AnnotationAnswer {
  int64_t task = 0;
  std::string kind;
  int rating = 0;      // rate: 1..5
  std::string choice;  // compare: "a" | "b"
  std::string answered_at;
};

struct AnnotatorProgress {
  std::string name;
  int64_t answered = 0, total = 0;
};

struct ExportSummary {
  size_t pairs = 0, ratings = 0, preferences = 0, tied_comparisons = 0, raters = 0, media = 0;
};

class AnnotationStore {
 public:
  // Opens PROJECT (creating the folder and database when `create`); Error(Input) when it is not one.
  explicit AnnotationStore(const std::string& project, bool create = false);
  ~AnnotationStore();
  AnnotationStore(const AnnotationStore&) = delete;
  AnnotationStore& operator=(const AnnotationStore&) = delete;

  static constexpr int kRatingMin = 1, kRatingMax = 5;

  // Task file (JSON, docs/server.md "Annotation"): {"rate": [{"music", "painting"}], "compare": [{"music", "a", "b"}],
  // "sources": {path: label}}, media paths relative to the file's folder. Checks every entry first (file,
  // entry and field named on error), then copies the media and adds the tasks in one transaction: all or
  // nothing. Already-loaded tasks are skipped. Returns the number of new tasks.
  size_t load_tasks(const std::string& task_file);
  // A new annotator and their token (shown once; only its SHA-256 is stored).
  std::string add_annotator(const std::string& name);
  std::optional<Annotator> authenticate(const std::string& token);

  // The annotator's first unanswered task (in load order), if any.
  std::optional<AnnotationTask> next_task(int64_t annotator);
  std::optional<AnnotationTask> task(int64_t id);
  // Records (or replaces) the annotator's answer in one transaction. Error(Usage) on a bad value or task.
  void answer_rating(int64_t annotator, int64_t task, int64_t rating);
  void answer_choice(int64_t annotator, int64_t task, const std::string& choice);
  std::vector<AnnotationAnswer> answers(int64_t annotator);
  AnnotatorProgress progress(int64_t annotator);
  std::vector<AnnotatorProgress> all_progress();

  // The absolute path of a task medium, only for paths that a loaded task uses (nothing else is served).
  std::optional<std::string> media_file(const std::string& rel);

  // Writes an MPD dataset (pairs with >= 1 rating, ratings.csv per rater, preferences by majority with
  // agreement; ties are left out and counted) plus its media into `out`, via a staging folder and a rename.
  ExportSummary export_mpd(const std::string& out, bool force);

  const std::string& project() const { return project_; }

 private:
  void exec(const std::string& sql);
  std::optional<AnnotationTask> one_task(const char* where, int64_t arg);  // the first task matching `where` (?1 = arg)
  void save_answer(int64_t annotator, int64_t task, const std::string& kind, int rating, const std::string& choice);
  std::string project_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
};

}  // namespace mpjudge
