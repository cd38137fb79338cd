#!/usr/bin/env bash
# Runs the whole test suite: set-up (idempotent), build, the fuzz harnesses' build and replay, then every
# CTest test (labels unit, golden, slow).
# Extra arguments go to ctest, e.g.  scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
scripts/build.sh
# The fuzz harnesses, built with clang + ASan and run once over their seeds (no fuzzing): they cannot
# rot, and every bad fixture passes LeakSanitizer with no suppressions.
scripts/fuzz.sh --replay
cd build
ctest --output-on-failure -j 2 "$@"
