// Shared CLI plumbing (see cli_common.h).
#include "cli_common.h"

#include "common/files.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace mpjudge::cli {

void add_audio_options(CLI::App* app, CommonOptions& o) {
  app->add_option("--sample-rate", o.audio.sample_rate, "Decode music to this rate (Hz)")->capture_default_str();
  app->add_option("--offset", o.audio.offset_s, "Start of the music clip (s)")->capture_default_str();
  app->add_option("--duration", o.audio.duration_s, "Length of the music clip (s); 0 = to the end")
      ->capture_default_str();
}

void add_image_options(CLI::App* app, CommonOptions& o) {
  app->add_option("--max-pixels", o.image.max_pixels, "Refuse images larger than this (pixels)")->capture_default_str();
}

void add_output_options(CLI::App* app, CommonOptions& o, bool threads) {
  app->add_flag("--json", o.json, "Print JSON instead of text");
  if (threads)
    app->add_option("--threads", o.threads, "Threads for torch (0 = one per physical core)")->capture_default_str();
}

namespace {

void print_text(const Json& j, const std::string& indent) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_object()) {
      printf("%s%s:\n", indent.c_str(), it.key().c_str());
      print_text(*it, indent + "  ");
    } else if (it->is_string()) {
      printf("%s%-22s %s\n", indent.c_str(), (it.key() + ":").c_str(), it->get<std::string>().c_str());
    } else {
      printf("%s%-22s %s\n", indent.c_str(), (it.key() + ":").c_str(), it->dump().c_str());
    }
  }
}

}  // namespace

void emit(const Json& j, bool json) {
  if (json)
    printf("%s\n", j.dump(2).c_str());
  else
    print_text(j, "");
}

static std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

int guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::string msg = "mpjudge: error: " + one_line(e.what());
    if (!e.hint().empty()) msg += " (hint: " + one_line(e.hint()) + ")";
    fprintf(stderr, "%s\n", msg.c_str());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    fprintf(stderr, "mpjudge: error: out of memory\n");
    return kInternal;
  } catch (const std::exception& e) {
    fprintf(stderr, "mpjudge: internal error: %s\n", one_line(e.what()).c_str());
    return kInternal;
  }
}

std::string model_or_default_path(const std::string& given) { return given.empty() ? default_model_path() : given; }

}  // namespace mpjudge::cli
