// mpjudge — the command-line tool. A thin client of the library: parse flags, call, print.
// Subcommands: describe, info. Exit codes: docs/cli.md.
#include <mpjudge/mpjudge.h>

#include <cstdio>

#include "cli_common.h"
#include "common/json.h"
#include "model/runtime.h"

using namespace mpjudge;

namespace {

void print_text(const Json& j, const std::string& indent = "") {
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

void emit(const Json& j, bool json) {
  if (json)
    printf("%s\n", j.dump(2).c_str());
  else
    print_text(j);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mpjudge: judge how faithfully a painting reflects the music that inspired it"};
  app.set_version_flag("--version", std::string("mpjudge ") + version());
  app.require_subcommand(1);
  cli::CommonOptions opt;

  std::string music, painting;
  auto* describe = app.add_subcommand(
      "describe",
      "Music descriptors (tempo, key, loudness...) and/or painting descriptors (CIELAB colour, edges, colour emotion)");
  describe->add_option("--music", music, "Music file (WAV, FLAC, OGG, MP3, AIFF)");
  describe->add_option("--painting", painting, "Painting file (JPEG, PNG, WebP, TIFF, BMP)");
  cli::add_audio_options(describe, opt);
  cli::add_image_options(describe, opt);
  cli::add_output_options(describe, opt);

  bool no_sgemm = false;
  auto* info = app.add_subcommand("info", "Versions, threads, and which BLAS libtorch uses (with a quick SGEMM rate)");
  info->add_flag("--no-sgemm", no_sgemm, "Skip the SGEMM measurement");
  cli::add_output_options(info, opt);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : cli::kUsage;
  }

  return cli::guarded([&]() -> int {
    set_threads(opt.threads);
    if (describe->parsed()) {
      if (music.empty() && painting.empty())
        throw Error(ErrorKind::Usage, "describe needs --music FILE and/or --painting FILE");
      Json out;
      if (!music.empty() && painting.empty()) out = to_json(describe_music(music, opt.audio));
      if (music.empty() && !painting.empty()) out = to_json(describe_painting(painting, opt.image));
      if (!music.empty() && !painting.empty()) {
        out["music"] = to_json(describe_music(music, opt.audio));
        out["painting"] = to_json(describe_painting(painting, opt.image));
      }
      emit(out, opt.json);
      return cli::kOk;
    }
    if (info->parsed()) {
      RuntimeInfo r = runtime_info(!no_sgemm);
      Json j;
      j["mpjudge"] = version();
      j["torch"] = r.torch_version;
      j["threads"] = r.threads;
      j["blas"] = r.blas_library;
      if (!no_sgemm) j["sgemm_gflops"] = std::round(r.sgemm_gflops * 10) / 10;
      emit(j, opt.json);
      return cli::kOk;
    }
    return cli::kUsage;
  });
}
