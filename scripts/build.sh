#!/usr/bin/env bash
# Configures and builds mpjudge into build/ (Release, Ninja) and generates the example inputs.
# Assumes scripts/setup.sh has run. Incremental: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j "$jobs"
/usr/bin/python3 scripts/make_examples.py build/examples
