// Test helpers (see test_util.h).
#include "test_util.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace testutil {

std::string data(const std::string& rel) { return std::string(MPJUDGE_TEST_DATA) + "/" + rel; }
std::string shared(const std::string& rel) { return std::string(MPJUDGE_SHARED_DATA) + "/" + rel; }
bool have_shared() {
  struct stat st {};
  return stat(MPJUDGE_SHARED_DATA, &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<float> read_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw std::runtime_error("missing " + path + " (run its golden reference first)");
  const std::streamoff bytes = f.tellg();
  if (bytes % 4 != 0) throw std::runtime_error(path + ": " + std::to_string(bytes) + " bytes, not float32");
  std::vector<float> v(size_t(bytes / 4));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), bytes);
  if (!f) throw std::runtime_error("short read of " + path);
  return v;
}

std::string tmp_dir(const std::string& name) {
  std::string dir = std::string(MPJUDGE_TMP_DIR) + "/" + name;
  std::string cmd = "rm -rf '" + dir + "' && mkdir -p '" + dir + "'";
  if (system(cmd.c_str()) != 0) throw std::runtime_error("cannot create " + dir);
  return dir;
}

static std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

RunResult run_cli(const std::string& args) {
  // One folder per test process: CTest runs test executables in parallel.
  std::string dir = tmp_dir("cli_run_" + std::to_string(getpid()));
  std::string cmd =
      std::string("'") + MPJUDGE_BINARY + "' " + args + " >'" + dir + "/out' 2>'" + dir + "/err' </dev/null";
  int status = system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir + "/out");
  r.err = slurp(dir + "/err");
  return r;
}

mpjudge::Pcm sine(double freq, double seconds, int rate, double amp) {
  mpjudge::Pcm p;
  p.sample_rate = rate;
  p.samples.resize(size_t(seconds * rate));
  for (size_t i = 0; i < p.samples.size(); ++i)
    p.samples[i] = float(amp * std::sin(2 * M_PI * freq * double(i) / rate));
  return p;
}

std::string render_midi(const std::string& midi_path, const std::string& wav_path) {
  std::string cmd = "fluidsynth -ni -q -R 0 -C 0 -g 0.8 -F '" + wav_path +
                    "' -r 22050 /usr/share/sounds/sf2/TimGM6mb.sf2 '" + midi_path + "' >/dev/null 2>&1";
  if (system(cmd.c_str()) != 0) throw std::runtime_error("fluidsynth failed: " + cmd);
  return wav_path;
}

}  // namespace testutil
