#!/usr/bin/env bash
# Real-recording direction check (bench/bench_direction.cpp says what it measures): the shipped model and
# any other checkpoints given, in one run, on MPD-Open v2 seed 1's val/test Emotify excerpts and the real
# paintings the corpus keeps out (direction_check/). Targets for the default: share >= 0.85, Spearman >= 0.5.
# usage: bench/direction.sh [CORPUS_DIR] [MODEL...]   (default corpus: build/default-model/corpus, built if absent)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-build/default-model/corpus}
shift || true
[ -x build/bench_direction ] || scripts/build.sh >/dev/null
if [ ! -d "$corpus/direction_check" ]; then
  build/mpjudge corpus build --out "$corpus" --seed 1 --force
fi
build/bench_direction --data "$corpus" --cache-dir build/default-model/cache models/default.mpjc "$@"
