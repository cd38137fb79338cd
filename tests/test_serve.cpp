// The server over real HTTP on loopback (the mpjudge binary, started as a user would): scoring, ranking,
// maps, metrics, every error status, the 429 queue limit, the annotation API with its token and path
// checks, the MPD export, and the kill test (SIGKILL during a burst of answers loses no acknowledged one).
#include <gtest/gtest.h>
#include <httplib.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "audio/encode.h"
#include "test_util.h"

using nlohmann::json;
using testutil::data;
namespace fs = std::filesystem;

namespace {

// `mpjudge serve --port 0 ...` as a child process; the port is read from its first stdout line.
class ServerProcess {
 public:
  explicit ServerProcess(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      std::vector<std::string> all{MPJUDGE_BINARY, "serve", "--port", "0"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    std::string line;
    char c;
    while (read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    close(fds[0]);
    auto pos = line.find("http://127.0.0.1:");
    if (pos == std::string::npos) throw std::runtime_error("server did not start: '" + line + "'");
    port_ = std::stoi(line.substr(pos + 17));
  }
  ~ServerProcess() { stop(SIGTERM); }
  int port() const { return port_; }
  int stop(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    return c;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

httplib::MultipartFormData part(const std::string& name, const std::string& file) {
  return {name, slurp(file), fs::path(file).filename().string(), "application/octet-stream"};
}

// Every error is JSON with the same status in the body: never an error under 200.
void expect_json_error(const httplib::Result& r, int status) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  json j = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r->body;
  EXPECT_EQ(j["error"]["status"], status);
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
  // Error bodies never show the server's own folders (every test server's folders live under this).
  EXPECT_EQ(r->body.find(MPJUDGE_TMP_DIR), std::string::npos) << r->body;
}

std::vector<std::string> common_args(const std::string& dir) {
  return {"--work-dir", dir + "/work", "--cache-dir", dir + "/cache"};
}

// An annotation project: 6 music x 6 paintings to rate, and 4 comparisons.
std::string make_project(const std::string& dir) {
  const std::vector<std::string> music{"pitch_3s_22k.wav", "chord_22k.flac",    "chord_22k.ogg",
                                       "chord_44k.mp3",    "mel_input_22k.wav", "tone440_stereo_44k.wav"};
  const std::vector<std::string> paintings{"painting_224_a.png", "painting_224_b.png", "gradient_32.png",
                                           "gradient_32.jpg",    "gradient_32.bmp",    "gradient_32.webp"};
  fs::create_directories(dir + "/src/music");
  fs::create_directories(dir + "/src/paintings");
  json t{{"rate", json::array()}, {"compare", json::array()}, {"sources", json::object()}};
  for (const auto& m : music) fs::copy_file(data(m), dir + "/src/music/" + m), t["sources"]["music/" + m] = "fixtures";
  for (const auto& p : paintings)
    fs::copy_file(data(p), dir + "/src/paintings/" + p), t["sources"]["paintings/" + p] = "fixtures";
  for (const auto& m : music)
    for (const auto& p : paintings) t["rate"].push_back({{"music", "music/" + m}, {"painting", "paintings/" + p}});
  for (int k = 0; k < 4; ++k)
    t["compare"].push_back({{"music", "music/" + music[size_t(k)]},
                            {"a", "paintings/" + paintings[0]},
                            {"b", "paintings/" + paintings[size_t(k + 1)]}});
  std::ofstream(dir + "/src/tasks.json") << t.dump(1);
  auto r = testutil::run_cli("annotate load --project '" + dir + "/project' --tasks '" + dir + "/src/tasks.json'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["tasks_added"], 40);
  return dir + "/project";
}

std::string add_annotator(const std::string& project, const std::string& name) {
  auto r = testutil::run_cli("annotate add-annotator --project '" + project + "' --name " + name);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out)["token"];
}

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

}  // namespace

TEST(Serve, ScoresRanksServesMapsAndCountsRequests) {
  std::string dir = testutil::tmp_dir("serve_api");
  ServerProcess srv(common_args(dir));
  auto cli = srv.client();
  auto h = cli.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");

  httplib::MultipartFormDataItems items{part("music", data("pitch_3s_22k.wav")),
                                        part("painting", data("painting_224_a.png"))};
  auto r = cli.Post("/v1/score", items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  double score = j["score"];
  EXPECT_GT(score, 0.0);
  EXPECT_LT(score, 1.0);
  EXPECT_TRUE(j["music"]["descriptors"].contains("tempo_bpm"));
  EXPECT_TRUE(j["painting"]["descriptors"].contains("lightness"));
  ASSERT_EQ(j["maps"].size(), 2u);
  for (const auto& m : j["maps"]) {
    auto png = cli.Get(m["url"].get<std::string>());
    ASSERT_TRUE(png);
    EXPECT_EQ(png->status, 200);
    EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
    EXPECT_EQ(png->body.substr(1, 3), "PNG");
  }
  // The same pair again: the same score, from the caches.
  auto again = cli.Post("/v1/score", items);
  ASSERT_TRUE(again);
  EXPECT_DOUBLE_EQ(json::parse(again->body)["score"].get<double>(), score);

  httplib::MultipartFormDataItems rank{
      part("music", data("pitch_3s_22k.wav")), part("painting", data("painting_224_a.png")),
      part("painting", data("painting_224_b.png")), part("painting", data("gradient_32.png"))};
  auto rr = cli.Post("/v1/rank", rank);
  ASSERT_TRUE(rr);
  ASSERT_EQ(rr->status, 200) << rr->body;
  json ranking = json::parse(rr->body)["ranking"];
  ASSERT_EQ(ranking.size(), 3u);
  for (size_t k = 1; k < 3; ++k) EXPECT_GE(ranking[k - 1]["score"].get<double>(), ranking[k]["score"].get<double>());
  bool found = false;
  for (const auto& e : ranking)
    if (e["painting"] == "painting_224_a.png") {
      found = true;
      EXPECT_NEAR(e["score"].get<double>(), score, 1e-5);
    }
  EXPECT_TRUE(found);

  auto page = cli.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<title>mpjudge"), std::string::npos);
  auto m = cli.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("mpjudge_requests_total{route=\"/v1/score\",status=\"200\"} 2"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("mpjudge_request_duration_seconds_count{route=\"/v1/rank\"} 1"), std::string::npos);
  EXPECT_NE(m->body.find("process_resident_memory_bytes"), std::string::npos);
}

TEST(Serve, ErrorsAreJsonWithTheRightStatus) {
  std::string dir = testutil::tmp_dir("serve_errors");
  ServerProcess srv([&] {
    auto a = common_args(dir);
    a.insert(a.end(), {"--max-upload-mb", "1"});
    return a;
  }());
  auto cli = srv.client();
  // 400: a field missing, an empty upload, a corrupt file of a known kind.
  expect_json_error(cli.Post("/v1/score", httplib::MultipartFormDataItems{part("music", data("pitch_3s_22k.wav"))}),
                    400);
  expect_json_error(cli.Post("/v1/score", httplib::MultipartFormDataItems{{"music", "", "x.wav", ""},
                                                                          part("painting", data("gradient_32.png"))}),
                    400);
  std::string wav = slurp(data("pitch_3s_22k.wav")).substr(0, 60);
  expect_json_error(cli.Post("/v1/score", httplib::MultipartFormDataItems{{"music", wav, "cut.wav", ""},
                                                                          part("painting", data("gradient_32.png"))}),
                    400);
  expect_json_error(cli.Post("/v1/rank", httplib::MultipartFormDataItems{part("music", data("pitch_3s_22k.wav"))}),
                    400);
  // 403: another site's page posting here, or a host name that is not this loopback server (DNS
  // rebinding); the same origin is fine.
  const httplib::MultipartFormDataItems pair{part("music", data("pitch_3s_22k.wav")),
                                             part("painting", data("gradient_32.png"))};
  expect_json_error(cli.Post("/v1/score", httplib::Headers{{"Origin", "http://evil.example"}}, pair), 403);
  expect_json_error(cli.Post("/v1/score", httplib::Headers{{"Origin", "null"}}, pair), 403);
  {
    httplib::Client rebound("127.0.0.1", srv.port());
    rebound.set_default_headers({{"Host", "attacker.example:" + std::to_string(srv.port())}});
    expect_json_error(rebound.Get("/healthz"), 403);
  }
  auto same =
      cli.Post("/v1/score", httplib::Headers{{"Origin", "http://127.0.0.1:" + std::to_string(srv.port())}}, pair);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 200) << same->body;
  // 415: the wrong kind of file in a field.
  expect_json_error(cli.Post("/v1/score", httplib::MultipartFormDataItems{part("music", data("gradient_32.png")),
                                                                          part("painting", data("gradient_32.png"))}),
                    415);
  expect_json_error(cli.Post("/v1/score", httplib::MultipartFormDataItems{part("music", data("pitch_3s_22k.wav")),
                                                                          part("painting", data("chord_22k.flac"))}),
                    415);
  // 413: a body over --max-upload-mb.
  expect_json_error(
      cli.Post("/v1/score", httplib::MultipartFormDataItems{{"music", std::string(1500000, 'x'), "big.wav", ""},
                                                            part("painting", data("gradient_32.png"))}),
      413);
  // 404: unknown routes, maps that do not exist, annotation when it is off, and paths that try to escape.
  expect_json_error(cli.Get("/v1/nothing"), 404);
  expect_json_error(cli.Get("/v1/maps/0123456789abcdef0123456789abcdef/0.png"), 404);
  expect_json_error(cli.Get("/v1/annotate/next"), 404);
  for (const char* p :
       {"/../../etc/passwd", "/v1/maps/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/app.js/../../x"}) {
    auto r = cli.Get(p);
    ASSERT_TRUE(r) << p;
    EXPECT_TRUE(r->status == 404 || r->status == 400) << p << " -> " << r->status;
    EXPECT_EQ(r->body.find("root:"), std::string::npos) << p;
  }
}

TEST(Serve, FullQueueAnswers429AndTheRestSucceed) {
  std::string dir = testutil::tmp_dir("serve_queue");
  ServerProcess srv([&] {
    auto a = common_args(dir);
    a.insert(a.end(), {"--workers", "1", "--queue", "0"});
    return a;
  }());
  // Distinct clips, so none is served from the cache and each keeps the one worker busy.
  const int n = 6;
  std::vector<std::string> clips;
  for (int k = 0; k < n; ++k) {
    clips.push_back(dir + "/clip" + std::to_string(k) + ".wav");
    mpjudge::write_audio(clips.back(), testutil::sine(220.0 + 40 * k, 6.0, 22050), mpjudge::AudioFormat::Wav16);
  }
  std::vector<int> status(n, 0);
  std::vector<std::thread> th;
  for (int k = 0; k < n; ++k)
    th.emplace_back([&, k] {
      auto cli = srv.client();
      auto r = cli.Post("/v1/score", httplib::MultipartFormDataItems{part("music", clips[size_t(k)]),
                                                                     part("painting", data("painting_224_b.png"))});
      status[size_t(k)] = r ? r->status : -1;
      if (r && r->status != 200) expect_json_error(r, 429);
    });
  for (auto& t : th) t.join();
  int ok = 0, busy = 0;
  for (int s : status) ok += s == 200, busy += s == 429;
  EXPECT_GE(ok, 1);
  EXPECT_GE(busy, 1);
  EXPECT_EQ(ok + busy, n);
  auto m = srv.client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("mpjudge_rejected_total " + std::to_string(busy)), std::string::npos) << m->body;
  // Refused requests stored nothing: the uploads are the scored clips and their one shared painting.
  size_t stored = 0;
  for (const auto& e : fs::directory_iterator(dir + "/work/uploads")) stored += e.is_regular_file();
  EXPECT_EQ(stored, size_t(ok) + 1);
}

TEST(Annotate, TokensIsolationPathsAndExport) {
  std::string dir = testutil::tmp_dir("annotate_api");
  std::string project = make_project(dir);
  std::string ann = add_annotator(project, "ann"), bob = add_annotator(project, "bob");
  ASSERT_EQ(ann.size(), 48u);
  EXPECT_NE(ann, bob);
  // Only the SHA-256 of a token is stored.
  EXPECT_EQ(slurp(project + "/annotations.sqlite").find(ann), std::string::npos);
  auto dup = testutil::run_cli("annotate add-annotator --project '" + project + "' --name ann");
  EXPECT_EQ(dup.exit_code, 2);

  auto a = std::vector<std::string>{"--project", project};
  auto args = common_args(dir);
  args.insert(args.end(), a.begin(), a.end());
  ServerProcess srv(args);
  auto cli = srv.client();
  expect_json_error(cli.Get("/v1/annotate/next"), 401);
  expect_json_error(cli.Get("/v1/annotate/next", bearer(std::string(48, 'a'))), 401);
  expect_json_error(cli.Post("/v1/annotate/login", bearer("short"), "", "application/json"), 401);

  auto n = cli.Get("/v1/annotate/next", bearer(ann));
  ASSERT_TRUE(n);
  ASSERT_EQ(n->status, 200) << n->body;
  json t = json::parse(n->body)["task"];
  EXPECT_EQ(t["kind"], "rate");
  // Media need a token, and only task media are served.
  const std::string url = t["music"]["url"];
  expect_json_error(cli.Get(url), 401);
  auto media = cli.Get(url, bearer(bob));
  ASSERT_TRUE(media);
  EXPECT_EQ(media->status, 200);
  EXPECT_EQ(media->body, slurp(data("pitch_3s_22k.wav")));
  for (const char* p :
       {"../annotations.sqlite", "/etc/passwd", "music/../../annotations.sqlite", "music/.hidden", "music/nothere.wav"})
    expect_json_error(cli.Get("/v1/annotate/media?path=" + httplib::detail::encode_query_param(p), bearer(ann)), 404);

  // Bad answers: wrong field, out of range, unknown task.
  const std::string task = std::to_string(t["id"].get<int64_t>());
  expect_json_error(
      cli.Post("/v1/annotate/answer", bearer(ann), "{\"task\": " + task + ", \"rating\": 6}", "application/json"), 400);
  // 2^32 + 1 and -(2^32) + 3 would read as 1 and 3 if narrowed to int before the range check.
  for (const char* big : {"4294967297", "-4294967293", "18446744073709551617"})
    expect_json_error(cli.Post("/v1/annotate/answer", bearer(ann), "{\"task\": " + task + ", \"rating\": " + big + "}",
                               "application/json"),
                      400);
  expect_json_error(
      cli.Post("/v1/annotate/answer", bearer(ann), "{\"task\": " + task + ", \"choice\": \"a\"}", "application/json"),
      400);
  expect_json_error(
      cli.Post("/v1/annotate/answer", bearer(ann), "{\"task\": 99999, \"rating\": 3}", "application/json"), 404);
  expect_json_error(cli.Post("/v1/annotate/answer", bearer(ann), "not json", "application/json"), 400);

  // ann rates every rating task 5 (the first one 4, then changed to 5); bob rates them 1..5 in turn.
  auto post = [&](const std::string& tok, const json& body) {
    auto r = cli.Post("/v1/annotate/answer", bearer(tok), body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  };
  post(ann, {{"task", t["id"]}, {"rating", 4}});
  auto bob_view = json::parse(cli.Get("/v1/annotate/answers", bearer(bob))->body);
  EXPECT_EQ(bob_view["answers"].size(), 0u);  // bob does not see ann's answer
  post(ann, {{"task", t["id"]}, {"rating", 5}});
  int k = 0;
  for (;;) {
    json ta = json::parse(cli.Get("/v1/annotate/next", bearer(ann))->body)["task"];
    json tb = json::parse(cli.Get("/v1/annotate/next", bearer(bob))->body)["task"];
    if (ta.is_null() && tb.is_null()) break;
    if (!ta.is_null())
      post(ann,
           ta["kind"] == "rate" ? json{{"task", ta["id"]}, {"rating", 5}} : json{{"task", ta["id"]}, {"choice", "a"}});
    if (!tb.is_null())
      post(bob, tb["kind"] == "rate" ? json{{"task", tb["id"]}, {"rating", 1 + k % 5}}
                                     : json{{"task", tb["id"]}, {"choice", k % 2 ? "a" : "b"}});
    ++k;
  }
  json mine = json::parse(cli.Get("/v1/annotate/answers", bearer(ann))->body);
  EXPECT_EQ(mine["answers"].size(), 40u);
  EXPECT_EQ(mine["answers"][0]["rating"], 5);  // changed, not duplicated
  json prog = json::parse(cli.Post("/v1/annotate/login", bearer(bob), "", "application/json")->body)["progress"];
  EXPECT_EQ(prog["answered"], 40);
  EXPECT_EQ(prog["total"], 40);

  auto p = testutil::run_cli("annotate progress --project '" + project + "' --json");
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_EQ(json::parse(p.out).size(), 2u);
  auto e = testutil::run_cli("annotate export --project '" + project + "' --out '" + dir + "/mpd'");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  json s = json::parse(e.out);
  EXPECT_EQ(s["pairs"], 36);
  EXPECT_EQ(s["ratings"], 72);
  EXPECT_EQ(s["raters"], 2);
  // ann chose a in all 4 comparisons, bob chose b, a, b, a (k = 36..39): 2 ties (1-1) and 2 agreements.
  EXPECT_EQ(s["preferences"], 2);
  EXPECT_EQ(s["tied_comparisons_left_out"], 2);
  auto v = testutil::run_cli("data validate '" + dir + "/mpd'");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_NE(slurp(dir + "/mpd/ratings.csv").find(",bob,"), std::string::npos);
  // Exporting again over it needs --force; without it the old export stays whole.
  auto again = testutil::run_cli("annotate export --project '" + project + "' --out '" + dir + "/mpd'");
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_TRUE(fs::exists(dir + "/mpd/pairs.csv"));
  EXPECT_FALSE(fs::exists(dir + "/mpd.partial"));
  // --force replaces an earlier export, and nothing that is not one: a file, a folder of other things,
  // a symbolic link, the project itself.
  auto forced = testutil::run_cli("annotate export --project '" + project + "' --out '" + dir + "/mpd' --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  fs::create_directories(dir + "/precious");
  std::ofstream(dir + "/precious/notes.txt") << "keep me";
  std::ofstream(dir + "/afile.txt") << "keep me too";
  fs::create_symlink(dir + "/precious", dir + "/link");
  for (const std::string& target : {dir + "/precious", dir + "/afile.txt", dir + "/link", project}) {
    auto r = testutil::run_cli("annotate export --project '" + project + "' --out '" + target + "' --force");
    EXPECT_EQ(r.exit_code, 2) << target << ": " << r.err;
    EXPECT_NE(r.err.find("--force replaces only"), std::string::npos) << r.err;
  }
  EXPECT_EQ(slurp(dir + "/precious/notes.txt"), "keep me");
  EXPECT_EQ(slurp(dir + "/afile.txt"), "keep me too");
  EXPECT_TRUE(fs::is_symlink(dir + "/link"));
}

TEST(Annotate, BadTaskFilesAreRefusedWholeNamingTheEntry) {
  std::string dir = testutil::tmp_dir("annotate_bad");
  fs::create_directories(dir + "/m");
  fs::copy_file(data("pitch_3s_22k.wav"), dir + "/m/a.wav");
  fs::copy_file(data("gradient_32.png"), dir + "/m/p.png");
  auto load = [&](const json& j) {
    std::ofstream(dir + "/t.json") << j.dump();
    return testutil::run_cli("annotate load --project '" + dir + "/proj' --tasks '" + dir + "/t.json'");
  };
  auto r = load(
      {{"rate", {{{"music", "m/a.wav"}, {"painting", "m/p.png"}}, {{"music", "m/a.wav"}, {"painting", "../x.png"}}}}});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("rate[1]"), std::string::npos) << r.err;
  r = load({{"rate", {{{"music", "m/p.png"}, {"painting", "m/p.png"}}}}});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("an audio file"), std::string::npos) << r.err;
  r = load({{"compare", {{{"music", "m/a.wav"}, {"a", "m/p.png"}, {"b", "m/p.png"}}}}});
  EXPECT_EQ(r.exit_code, 3);
  // A symbolic link inside the task folder that leads out of it (a file, or a folder on the way).
  const std::string outside = testutil::tmp_dir("annotate_outside");
  fs::copy_file(data("gradient_32.png"), outside + "/secret.png");
  fs::create_symlink(outside + "/secret.png", dir + "/m/link.png");
  fs::create_symlink(outside, dir + "/m/out");
  for (const char* p : {"m/link.png", "m/out/secret.png"}) {
    r = load({{"rate", {{{"music", "m/a.wav"}, {"painting", p}}}}});
    EXPECT_EQ(r.exit_code, 3) << p;
    EXPECT_NE(r.err.find("symbolic link leading outside"), std::string::npos) << r.err;
  }
  // Nothing of the refused files went in: the good task loads as the first and only one.
  r = load({{"rate", {{{"music", "m/a.wav"}, {"painting", "m/p.png"}}}}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["tasks_added"], 1);
  EXPECT_EQ(json::parse(load({{"rate", {{{"music", "m/a.wav"}, {"painting", "m/p.png"}}}}}).out)["tasks_added"], 0);
  auto x = testutil::run_cli("annotate export --project '" + dir + "/nope' --out '" + dir + "/o'");
  EXPECT_EQ(x.exit_code, 3);
}

TEST(Annotate, SigkillDuringABurstLosesNoAcknowledgedAnswer) {
  std::string dir = testutil::tmp_dir("annotate_kill");
  std::string project = make_project(dir);
  std::vector<std::string> tokens{add_annotator(project, "a1"), add_annotator(project, "a2"),
                                  add_annotator(project, "a3")};
  auto args = common_args(dir);
  args.insert(args.end(), {"--project", project});
  auto srv = std::make_unique<ServerProcess>(args);
  // Three annotators answer every task as fast as they can; the server is killed mid-burst.
  std::mutex mu;
  std::map<std::pair<size_t, int64_t>, int> acked;  // (annotator, task) -> rating
  std::atomic<int> n_acked{0};
  std::vector<std::thread> th;
  for (size_t a = 0; a < tokens.size(); ++a)
    th.emplace_back([&, a] {
      auto cli = srv->client();
      for (int64_t task = 1; task <= 36; ++task) {
        const int rating = int(1 + (task + int64_t(a)) % 5);
        auto r = cli.Post("/v1/annotate/answer", bearer(tokens[a]), json{{"task", task}, {"rating", rating}}.dump(),
                          "application/json");
        if (!r) return;  // the server is gone: this answer was never acknowledged
        if (r->status == 200) {
          std::lock_guard<std::mutex> lock(mu);
          acked[{a, task}] = rating;
          n_acked++;
        }
      }
    });
  while (n_acked < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int status = srv->stop(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(status));
  for (auto& t : th) t.join();
  const size_t before = acked.size();
  EXPECT_GE(before, 20u);
  EXPECT_LT(before, 108u) << "the burst finished before the kill; the test proves nothing";
  srv = std::make_unique<ServerProcess>(args);
  auto cli = srv->client();
  size_t found = 0;
  for (size_t a = 0; a < tokens.size(); ++a) {
    json list = json::parse(cli.Get("/v1/annotate/answers", bearer(tokens[a]))->body)["answers"];
    std::map<int64_t, int> have;
    for (const auto& x : list) have[x["task"].get<int64_t>()] = x["rating"].get<int>();
    for (const auto& [key, rating] : acked)
      if (key.first == a) {
        ASSERT_TRUE(have.count(key.second)) << "acknowledged answer lost: annotator " << a << " task " << key.second;
        EXPECT_EQ(have[key.second], rating);
        ++found;
      }
  }
  EXPECT_EQ(found, before);
  printf("kill test: %zu answers acknowledged before SIGKILL, %zu found after restart\n", before, found);
}

// A map that cannot be written (here: work/maps is a file, as a full disk would refuse it) costs the maps'
// URLs and adds a warning; the computed score still comes back with 200.
TEST(Serve, AScoreSurvivesMapsThatCannotBeWritten) {
  std::string dir = testutil::tmp_dir("serve_nomaps");
  ServerProcess srv(common_args(dir));
  fs::remove_all(dir + "/work/maps");  // after start-up, which makes the folder
  std::ofstream(dir + "/work/maps") << "not a folder";
  auto cli = srv.client();
  auto r = cli.Post("/v1/score", httplib::MultipartFormDataItems{part("music", data("pitch_3s_22k.wav")),
                                                                 part("painting", data("gradient_32.png"))});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_TRUE(j["score"].is_number());
  ASSERT_FALSE(j["maps"].empty());
  for (const auto& m : j["maps"]) EXPECT_TRUE(m["url"].is_null()) << m;
  ASSERT_TRUE(j.contains("warnings")) << r->body;
  EXPECT_NE(j["warnings"][0].get<std::string>().find("could not be stored"), std::string::npos);
  EXPECT_EQ(r->body.find(MPJUDGE_TMP_DIR), std::string::npos) << r->body;
}

// Served maps are at most 1024 px on their long side, whatever the painting's size (aspect kept).
TEST(Serve, MapsOfALargePaintingAreCapped) {
  std::string dir = testutil::tmp_dir("serve_bigmap");
  const std::string big = dir + "/big.png";
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"from PIL import Image; Image.linear_gradient('L').resize((3000, "
                         "1500)).convert('RGB').save('" +
                         big + "')\"")
                            .c_str()),
            0);
  ServerProcess srv(common_args(dir));
  auto cli = srv.client();
  auto r = cli.Post("/v1/score",
                    httplib::MultipartFormDataItems{part("music", data("pitch_3s_22k.wav")), part("painting", big)});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  ASSERT_FALSE(j["maps"].empty());
  auto png = cli.Get(j["maps"][0]["url"].get<std::string>());
  ASSERT_TRUE(png);
  ASSERT_EQ(png->status, 200);
  ASSERT_GT(png->body.size(), 24u);
  auto be32 = [&](size_t o) {
    return uint32_t(uint8_t(png->body[o])) << 24 | uint32_t(uint8_t(png->body[o + 1])) << 16 |
           uint32_t(uint8_t(png->body[o + 2])) << 8 | uint32_t(uint8_t(png->body[o + 3]));
  };
  EXPECT_EQ(be32(16), 1024u);  // IHDR width
  EXPECT_EQ(be32(20), 512u);   // IHDR height
  printf("map of a 3000x1500 painting: %ux%u, %zu bytes\n", be32(16), be32(20), png->body.size());
}

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(port);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) throw std::runtime_error("connect");
  timeval tv{8, 0};  // a reply that takes longer than this fails the test
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

// Sends `head` then `body` (as much as the server takes), and reads the reply until the server closes
// or the 8 s receive timeout passes.
std::string exchange(int port, const std::string& head, const std::string& body = "") {
  int fd = connect_loopback(port);
  std::string all = head + body, reply;
  for (size_t at = 0; at < all.size();) {
    ssize_t n = send(fd, all.data() + at, all.size() - at, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server stopped reading (it refused the body)
    at += size_t(n);
  }
  char b[65536];
  for (ssize_t n; (n = recv(fd, b, sizeof(b), 0)) > 0;) reply.append(b, size_t(n));
  close(fd);
  return reply;
}

int status_of(const std::string& reply) { return reply.size() > 12 ? std::atoi(reply.c_str() + 9) : -1; }

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

}  // namespace

// --max-upload-mb holds however the body is sent: chunked and compressed bodies are counted decoded as
// they arrive, a huge declared length is refused before any of it is read, bodies of routes that take
// none are never read; none of these stores anything, and the server keeps serving.
TEST(Serve, BodyLimitsHoldForChunkedCompressedAndDeclaredLengths) {
  std::string dir = testutil::tmp_dir("serve_bodies");
  ServerProcess srv([&] {
    auto a = common_args(dir);
    a.insert(a.end(), {"--max-upload-mb", "1"});
    return a;
  }());
  const std::string host = "Host: 127.0.0.1:" + std::to_string(srv.port()) + "\r\n";
  const std::string boundary = "b0undary";
  auto multipart = [&](const std::string& music) {
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"music\"; filename=\"a.wav\"\r\n\r\n" + music +
           "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"painting\"; filename=\"p.png\"\r\n\r\n" +
           slurp(data("gradient_32.png")) + "\r\n--" + boundary + "--\r\n";
  };
  // Chunked: 3 MB in 64 KB chunks, no Content-Length.
  {
    const std::string body = multipart(std::string(3 << 20, 'x'));
    std::string chunked;
    for (size_t at = 0; at < body.size(); at += 65536) {
      const size_t n = std::min<size_t>(65536, body.size() - at);
      char len[32];
      std::snprintf(len, sizeof(len), "%zx\r\n", n);
      chunked += len + body.substr(at, n) + "\r\n";
    }
    chunked += "0\r\n\r\n";
    const std::string reply =
        exchange(srv.port(),
                 "POST /v1/score HTTP/1.1\r\n" + host + "Content-Type: multipart/form-data; boundary=" + boundary +
                     "\r\nTransfer-Encoding: chunked\r\n\r\n",
                 chunked);
    EXPECT_EQ(status_of(reply), 413) << reply.substr(0, 300);
    EXPECT_NE(reply.find("decoded"), std::string::npos) << reply;
  }
  // gzip: 21 MB of zeros sent as about 21 KB.
  {
    auto cli = srv.client();
    cli.set_compress(true);
    auto r = cli.Post("/v1/score", httplib::MultipartFormDataItems{{"music", std::string(21 << 20, '\0'), "z.wav", ""},
                                                                   part("painting", data("gradient_32.png"))});
    expect_json_error(r, 413);
  }
  // A declared length of 100 GB: 413 at once (before: after the read timeout), nothing of it read.
  {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string reply = exchange(srv.port(), "POST /v1/score HTTP/1.1\r\n" + host +
                                                       "Content-Type: multipart/form-data; boundary=x\r\n"
                                                       "Content-Length: 100000000000\r\n\r\n");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(status_of(reply), 413) << reply;
    EXPECT_LT(s, 5.0) << "the 413 came after " << s << " s";
  }
  // "Expect: 100-continue" with too long a body: the refusal instead of the go-ahead.
  {
    const std::string reply =
        exchange(srv.port(), "POST /v1/rank HTTP/1.1\r\n" + host +
                                 "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 5000000\r\n"
                                 "Expect: 100-continue\r\n\r\n");
    EXPECT_EQ(status_of(reply), 413) << reply;
    EXPECT_EQ(reply.find("100 Continue"), std::string::npos) << reply;
  }
  // Chunked bodies to routes that take none, and other methods: refused before the body is read.
  EXPECT_EQ(
      status_of(exchange(srv.port(), "POST /v1/nothing HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n",
                         "100000\r\n" + std::string(1 << 20, 'x'))),
      404);
  EXPECT_EQ(status_of(exchange(srv.port(), "PUT /v1/score HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n",
                               "100000\r\n" + std::string(1 << 20, 'x'))),
            405);
  EXPECT_EQ(status_of(exchange(srv.port(), "POST /v1/score HTTP/1.1\r\n" + host + "Content-Length: 12abc\r\n\r\n")),
            400);
  // A POST with neither a length nor chunked framing has no body (it was read until the client closed):
  // answered at once, here for its missing fields.
  EXPECT_EQ(status_of(exchange(srv.port(), "POST /v1/score HTTP/1.1\r\n" + host +
                                               "Content-Type: multipart/form-data; boundary=x\r\n\r\n")),
            400);
  EXPECT_EQ(
      status_of(exchange(
          srv.port(),
          "POST /v1/score HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n", "{}")),
      415);
  // A good music file beside a painting of the wrong kind: 415, and the music is not kept either.
  expect_json_error(
      srv.client().Post("/v1/score", httplib::MultipartFormDataItems{part("music", data("pitch_3s_22k.wav")),
                                                                     part("painting", data("chord_22k.flac"))}),
      415);
  EXPECT_EQ(files_in(dir + "/work/uploads"), 0u);
  // Within the limit, chunked and compressed both work.
  auto cli = srv.client();
  cli.set_compress(true);
  auto ok = cli.Post("/v1/score", httplib::MultipartFormDataItems{part("music", data("pitch_3s_22k.wav")),
                                                                  part("painting", data("gradient_32.png"))});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  const std::string small = multipart(slurp(data("pitch_3s_22k.wav")));
  char len[32];
  std::snprintf(len, sizeof(len), "%zx\r\n", small.size());
  const std::string reply =
      exchange(srv.port(),
               "POST /v1/score HTTP/1.1\r\n" + host + "Content-Type: multipart/form-data; boundary=" + boundary +
                   "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
               len + small + "\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(reply), 200) << reply.substr(0, 400);
}

// Idle sockets wait in one poller instead of holding request threads: twice the thread pool of idle
// connections does not delay /healthz; past --max-connections the longest-idle socket is closed; a
// client that stops sending mid-body is cut at --request-timeout.
TEST(Serve, IdleAndSlowClientsCannotExhaustThePool) {
  std::string dir = testutil::tmp_dir("serve_idle");
  ServerProcess srv([&] {
    auto a = common_args(dir);
    // 1 worker + 1 queue slot: 2 * (1 + 1) + 8 = 12 request threads.
    a.insert(a.end(), {"--workers", "1", "--queue", "1", "--max-connections", "40", "--request-timeout", "2"});
    return a;
  }());
  const std::string host = "Host: 127.0.0.1:" + std::to_string(srv.port()) + "\r\n";
  std::vector<int> idle;
  for (int k = 0; k < 2 * 12; ++k) idle.push_back(connect_loopback(srv.port()));
  // Half of them send a partial request line and stop (slowloris), half send nothing.
  for (size_t k = 0; k < idle.size(); k += 2) ASSERT_GT(send(idle[k], "GET /hea", 8, MSG_NOSIGNAL), 0);
  for (int round = 0; round < 3; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string reply = exchange(srv.port(), "GET /healthz HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(status_of(reply), 200) << "round " << round << ": " << reply;
    EXPECT_LT(s, 2.0) << "/healthz took " << s << " s beside " << idle.size() << " idle sockets";
  }
  // Past the cap of 40 open connections, new ones close the longest-idle sockets instead of waiting.
  for (int k = 0; k < 30; ++k) idle.push_back(connect_loopback(srv.port()));
  EXPECT_EQ(status_of(exchange(srv.port(), "GET /healthz HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n")), 200);
  auto m = srv.client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body.find("mpjudge_connections_evicted_total 0\n"), std::string::npos) << m->body;
  for (int fd : idle) close(fd);
  // A body that stops arriving: the connection is closed at --request-timeout (2 s), not held.
  int fd = connect_loopback(srv.port());
  const std::string head = "POST /v1/score HTTP/1.1\r\n" + host +
                           "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n";
  ASSERT_GT(send(fd, head.data(), head.size(), MSG_NOSIGNAL), 0);
  const auto t0 = std::chrono::steady_clock::now();
  char b[4096];
  while (recv(fd, b, sizeof(b), 0) > 0) {
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  close(fd);
  EXPECT_GT(s, 1.0);
  EXPECT_LT(s, 6.0) << "a stalled body held its connection " << s << " s";
}

namespace {

// A 32x32 24-bit BMP whose pixels encode k: a distinct upload for every k.
std::string distinct_bmp(int k) {
  const int w = 32, h = 32, row = w * 3, size = 54 + row * h;
  std::string b(size_t(size), '\0');
  auto le = [&](size_t at, uint32_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + size_t(i)] = char((v >> (8 * i)) & 0xff);
  };
  b[0] = 'B', b[1] = 'M';
  le(2, uint32_t(size), 4), le(10, 54, 4), le(14, 40, 4), le(18, w, 4), le(22, h, 4), le(26, 1, 2), le(28, 24, 2);
  le(34, uint32_t(row * h), 4);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t p = size_t(54 + y * row + x * 3);
      b[p] = char((k * 37 + x * 8) & 0xff);
      b[p + 1] = char((k >> 3) * 11 + y * 8);
      b[p + 2] = char((k & 7) * 32 + ((x ^ y) & 15));
    }
  return b;
}

int64_t bytes_in(const std::string& dir) {
  int64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += int64_t(e.file_size());
  return n;
}

}  // namespace

// Soak: 1,024 distinct paintings (16 rank requests of 64) and 24 scored pairs with maps, against caps of
// 1 MiB for uploads, 0.05 MiB for maps (24 pairs make about 0.1) and 4 MiB for the feature cache: each folder stays
// under its cap (about 3 MB of uploads and 75 MB of painting features went through), the least recently used files went
// first, and the server keeps scoring.
TEST(Serve, SoakOfDistinctUploadsStaysUnderTheDiskCaps) {
  std::string dir = testutil::tmp_dir("serve_soak");
  ServerProcess srv([&] {
    auto a = common_args(dir);
    a.insert(a.end(), {"--max-uploads-mb", "1", "--max-maps-mb", "0.05", "--max-cache-mb", "4"});
    return a;
  }());
  auto cli = srv.client();
  const std::string music = slurp(data("pitch_3s_22k.wav"));
  int64_t peak_uploads = 0, peak_cache = 0, peak_maps = 0;
  auto check = [&] {
    peak_uploads = std::max(peak_uploads, bytes_in(dir + "/work/uploads"));
    peak_maps = std::max(peak_maps, bytes_in(dir + "/work/maps"));
    peak_cache = std::max(peak_cache, bytes_in(dir + "/cache"));
  };
  int k = 0;
  for (int request = 0; request < 16; ++request) {
    httplib::MultipartFormDataItems items{{"music", music, "m.wav", ""}};
    for (int j = 0; j < 64; ++j, ++k) items.push_back({"painting", distinct_bmp(k), "p.bmp", ""});
    auto r = cli.Post("/v1/rank", items);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
    check();
  }
  std::string last;
  for (int j = 0; j < 24; ++j, ++k) {
    auto r = cli.Post("/v1/score", httplib::MultipartFormDataItems{{"music", music, "m.wav", ""},
                                                                   {"painting", distinct_bmp(k), "p.bmp", ""}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
    last = r->body;
    check();
  }
  printf("soak of %d distinct uploads: peak uploads %.2f MiB, maps %.2f MiB, cache %.2f MiB (caps 1, 0.05, 4)\n", k,
         double(peak_uploads) / (1 << 20), double(peak_maps) / (1 << 20), double(peak_cache) / (1 << 20));
  EXPECT_LE(peak_uploads, 1 << 20);
  EXPECT_LE(peak_maps, 52429);
  EXPECT_LE(peak_cache, 4 << 20);
  // Eviction took the oldest: the music (used by every request) and the newest painting remain.
  EXPECT_LT(files_in(dir + "/work/uploads"), size_t(k));
  EXPECT_TRUE(fs::exists(dir + "/work/uploads/" + json::parse(last)["music"]["sha256"].get<std::string>() + ".wav"));
  EXPECT_TRUE(fs::exists(dir + "/work/uploads/" + json::parse(last)["painting"]["sha256"].get<std::string>() + ".bmp"));
  auto map = cli.Get(json::parse(last)["maps"][0]["url"].get<std::string>());
  ASSERT_TRUE(map);
  EXPECT_EQ(map->status, 200);
}

namespace {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port");
  close(fd);
  return ntohs(a.sin_port);
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

}  // namespace

// The deployment of docs/deploy.md, for real: Debian's nginx with deploy/nginx-mpjudge.conf and a
// self-signed certificate on loopback, in front of `mpjudge serve --allowed-host mpjudge.test`. A pair
// is scored over HTTPS (certificate verified) under the public name, from the page's own origin; nginx
// refuses a body over its limit and plain HTTP is redirected; a client that does not trust the
// certificate gets no answer.
TEST(Deploy, NginxWithTlsInFrontScoresAPair) {
  std::string dir = testutil::tmp_dir("deploy_nginx");
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mpjudge.test -keyout '" + dir +
                         "/key.pem' -out '" + dir + "/cert.pem' -addext subjectAltName=DNS:mpjudge.test,IP:127.0.0.1 " +
                         ">/dev/null 2>&1")
                            .c_str()),
            0);
  ServerProcess srv([&] {
    auto a = common_args(dir);
    a.insert(a.end(), {"--allowed-host", "mpjudge.test", "--max-upload-mb", "1"});
    return a;
  }());
  const int https = free_port(), http = free_port();
  std::string site = slurp(std::string(MPJUDGE_SOURCE_DIR) + "/deploy/nginx-mpjudge.conf");
  ASSERT_FALSE(site.empty());
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"@LISTEN@", "127.0.0.1:" + std::to_string(https)},
                                                        {"@HTTP_LISTEN@", "127.0.0.1:" + std::to_string(http)},
                                                        {"@SERVER_NAME@", "mpjudge.test"},
                                                        {"@CERT@", dir + "/cert.pem"},
                                                        {"@KEY@", dir + "/key.pem"},
                                                        {"@UPSTREAM@", "127.0.0.1:" + std::to_string(srv.port())},
                                                        {"@MAX_BODY@", "1m"}})
    site = replace_all(site, key, value);
  {
    std::istringstream lines(site);
    for (std::string line; std::getline(lines, line);)
      if (line.find('#') != 0) {
        EXPECT_EQ(line.find('@'), std::string::npos) << "a placeholder is left: " << line;
      }
  }
  std::ofstream(dir + "/site.conf") << site;
  // The main configuration Debian's /etc/nginx/nginx.conf would be, with its paths in the test folder.
  std::ofstream(dir + "/nginx.conf") << "pid " << dir << "/nginx.pid;\nerror_log " << dir
                                     << "/error.log;\nevents {}\nhttp {\n  access_log " << dir
                                     << "/access.log;\n  client_body_temp_path " << dir << "/body;\n  proxy_temp_path "
                                     << dir << "/proxy;\n  fastcgi_temp_path " << dir << "/fastcgi;\n  uwsgi_temp_path "
                                     << dir << "/uwsgi;\n  scgi_temp_path " << dir << "/scgi;\n  include " << dir
                                     << "/site.conf;\n}\n";
  pid_t nginx = fork();
  ASSERT_GE(nginx, 0);
  if (nginx == 0) {
    execl("/usr/sbin/nginx", "nginx", "-p", dir.c_str(), "-c", (dir + "/nginx.conf").c_str(), "-e",
          (dir + "/error.log").c_str(), "-g", "daemon off; master_process off;", static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Stop {
    pid_t pid;
    ~Stop() {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  } stop{nginx};
  bool up = false;
  for (int k = 0; k < 100 && !up; ++k) {
    try {
      close(connect_loopback(https));
      up = true;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(up) << "nginx did not start: " << slurp(dir + "/error.log");

  const std::string origin = "https://mpjudge.test:" + std::to_string(https);
  httplib::SSLClient tls("127.0.0.1", https);
  tls.set_ca_cert_path((dir + "/cert.pem").c_str());
  tls.enable_server_certificate_verification(true);
  tls.set_read_timeout(120, 0);
  tls.set_default_headers({{"Host", "mpjudge.test:" + std::to_string(https)}});
  auto health = tls.Get("/healthz");
  ASSERT_TRUE(health) << "HTTPS failed: " << httplib::to_string(health.error()) << "; " << slurp(dir + "/error.log");
  EXPECT_EQ(health->status, 200) << health->body;
  auto r = tls.Post("/v1/score", httplib::Headers{{"Origin", origin}},
                    httplib::MultipartFormDataItems{part("music", data("pitch_3s_22k.wav")),
                                                    part("painting", data("painting_224_a.png"))});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_TRUE(j["score"].is_number());
  auto map = tls.Get(j["maps"][0]["url"].get<std::string>());
  ASSERT_TRUE(map);
  EXPECT_EQ(map->status, 200);
  printf("over HTTPS through nginx: score %.4f, map %zu bytes\n", j["score"].get<double>(), map->body.size());
  // Another site's page, a body over nginx's limit, the metrics from outside.
  auto foreign = tls.Post("/v1/score", httplib::Headers{{"Origin", "https://evil.example"}},
                          httplib::MultipartFormDataItems{part("music", data("pitch_3s_22k.wav")),
                                                          part("painting", data("painting_224_a.png"))});
  ASSERT_TRUE(foreign);
  EXPECT_EQ(foreign->status, 403) << foreign->body;
  auto big = tls.Post("/v1/score", httplib::Headers{{"Origin", origin}},
                      httplib::MultipartFormDataItems{{"music", std::string(2 << 20, 'x'), "big.wav", ""},
                                                      part("painting", data("gradient_32.png"))});
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto metrics = tls.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 404);
  // Plain HTTP is redirected to HTTPS; a client without the certificate is refused at the handshake.
  httplib::Client plain("127.0.0.1", http);
  plain.set_default_headers({{"Host", "mpjudge.test"}});
  auto redirect = plain.Get("/");
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->status, 301);
  EXPECT_EQ(redirect->get_header_value("Location"), "https://mpjudge.test/");
  httplib::SSLClient untrusting("127.0.0.1", https);
  untrusting.enable_server_certificate_verification(true);
  untrusting.set_ca_cert_path("/dev/null");
  EXPECT_FALSE(untrusting.Get("/healthz"));
}
