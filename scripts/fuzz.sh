#!/usr/bin/env bash
# The libFuzzer harnesses (tests/fuzz: audio and image decoders, checkpoint and feature-cache readers),
# built with clang + AddressSanitizer into build-fuzz/.
#   scripts/fuzz.sh [SECONDS]   fuzz each harness for SECONDS (default 60), seeded with the committed
#                               fixtures (tests/data, tests/data/bad) and tests/fuzz/make_seeds.py
#   scripts/fuzz.sh --replay    build, then run each harness once over its seeds, no fuzzing: what the
#                               test command does so the harnesses cannot rot, and a LeakSanitizer check
#                               of every bad fixture (no suppressions)
# Exit status is non-zero when a harness does not build or finds a crash or leak.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=fuzz secs=60
if [ "${1:-}" = "--replay" ]; then mode=replay; elif [ -n "${1:-}" ]; then secs=$1; fi
if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DMPJUDGE_FUZZ=ON -DMPJUDGE_TESTS=OFF -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address" >/dev/null
harnesses="audio image checkpoint cache"
cmake --build build-fuzz --target $(for f in $harnesses; do printf 'fuzz_%s ' "$f"; done)
/usr/bin/python3 tests/fuzz/make_seeds.py build-fuzz/seeds
status=0
for f in $harnesses; do
  corpus=build-fuzz/corpus_$f
  rm -rf "$corpus" && mkdir -p "$corpus"
  case $f in
    audio) find tests/data -maxdepth 2 -type f | grep -E '\.(wav|flac|ogg|mp3|mid)$' | xargs -r cp -t "$corpus" ;;
    image) find tests/data -maxdepth 2 -type f | grep -E '\.(png|jpg|webp|tiff|bmp|gif)$' | xargs -r cp -t "$corpus" ;;
    *) cp build-fuzz/seeds/$f/* "$corpus" ;;
  esac
  rm -f build-fuzz/crash_${f}_*
  if [ $mode = replay ]; then
    echo "fuzz_$f: $(ls "$corpus" | wc -l) seeds, once each"
    args=(-runs=0)
  else
    echo "fuzz_$f: ${secs}s"
    args=(-max_total_time="$secs")
  fi
  if ! ASAN_OPTIONS=detect_leaks=1 build-fuzz/fuzz_$f "${args[@]}" -rss_limit_mb=2048 -timeout=20 \
      -artifact_prefix=build-fuzz/crash_${f}_ "$corpus" > build-fuzz/fuzz_$f.log 2>&1; then
    grep -E "ERROR|SUMMARY|Running:|crash-|leak" build-fuzz/fuzz_$f.log | head -20 || true
    echo "fuzz_$f: FAILED (log: build-fuzz/fuzz_$f.log, inputs: build-fuzz/crash_${f}_*)"
    status=1
  else
    grep -E "^#[0-9]+ *DONE|Done [0-9]+ runs" build-fuzz/fuzz_$f.log | tail -1 || true
  fi
done
exit $status
