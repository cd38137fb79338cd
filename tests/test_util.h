// Helpers shared by the tests: fixture paths, temp folders, running the CLI, synthetic signals.
#pragma once

#include <mpjudge/mpjudge.h>

#include <string>
#include <vector>

namespace testutil {

std::string data(const std::string& rel);      // tests/data/<rel>
std::string shared(const std::string& rel);    // ../shared/data/<rel>
bool have_shared();                            // ../shared/data exists (developers and CI)
std::string tmp_dir(const std::string& name);  // a fresh empty folder under build/test_tmp

// A raw little-endian float32 file (what the golden references write). Throws for a missing or odd-sized file.
std::vector<float> read_f32(const std::string& path);

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};
RunResult run_cli(const std::string& args);  // build/mpjudge <args>, capturing stdout and stderr

mpjudge::Pcm sine(double freq, double seconds, int rate, double amp = 0.5);
// Render MIDI to a WAV with Debian fluidsynth + TimGM6mb (rate 22050). Returns the WAV path.
std::string render_midi(const std::string& midi_path, const std::string& wav_path);

}  // namespace testutil
