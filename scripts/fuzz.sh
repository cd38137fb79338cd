#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz) with clang + AddressSanitizer into build-fuzz/ and runs each
# for SECONDS (default 60), seeded with the committed fixtures (tests/data, tests/data/bad).
# usage: scripts/fuzz.sh [SECONDS]      Exit status is non-zero when a fuzzer finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DMPJUDGE_FUZZ=ON -DMPJUDGE_TESTS=OFF -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address" >/dev/null
cmake --build build-fuzz --target fuzz_audio fuzz_image
status=0
for f in audio image; do
  corpus=build-fuzz/corpus_$f
  mkdir -p "$corpus"
  if [ $f = audio ]; then ext='wav|flac|ogg|mp3|mid'; else ext='png|jpg|webp|tiff|bmp|gif'; fi
  find tests/data -maxdepth 2 -type f | grep -E "\.($ext)$" | xargs -r cp -t "$corpus"
  echo "fuzz_$f: ${secs}s"
  LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp ASAN_OPTIONS=detect_leaks=1 build-fuzz/fuzz_$f -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 \
    -artifact_prefix=build-fuzz/crash_${f}_ "$corpus" 2>&1 | grep -E "^#[0-9]+ *DONE|ERROR|SUMMARY|crash-|Done" || true
  ls build-fuzz/crash_${f}_* >/dev/null 2>&1 && { echo "fuzz_$f: crash found, see build-fuzz/crash_${f}_*"; status=1; }
done
exit $status
