#!/usr/bin/env bash
# Runs the whole test suite: set-up (idempotent), build, then every CTest test (labels unit, golden, slow).
# Extra arguments go to ctest, e.g.  scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
scripts/build.sh
cd build
ctest --output-on-failure -j 2 "$@"
