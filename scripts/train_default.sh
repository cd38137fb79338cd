#!/usr/bin/env bash
# Reproduces the shipped model models/default.mpjc: MPD-Open corpus seed 1 (with ../shared/data beside
# the project, as in CI), SFT on its train split, then DPO against the SFT model. Prints the wall time of
# each stage. Usage: scripts/train_default.sh [WORK_DIR]   (default: build/default-model)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-build/default-model}
BIN=build/mpjudge
mkdir -p "$WORK"
t0=$(date +%s)
if [ ! -f "$WORK/corpus/corpus.json" ]; then
  $BIN corpus build --out "$WORK/corpus" --seed 1 --force
fi
t1=$(date +%s)
rm -rf "$WORK/sft" "$WORK/dpo"
$BIN train --stage sft --data "$WORK/corpus" --out "$WORK/sft" --seed 1 --cache-dir "$WORK/cache"
t2=$(date +%s)
$BIN train --stage dpo --data "$WORK/corpus" --ref "$WORK/sft/model.mpjc" --out "$WORK/dpo" --seed 1 \
  --cache-dir "$WORK/cache"
t3=$(date +%s)
cp "$WORK/dpo/model.mpjc" models/default.mpjc
echo "corpus build $((t1 - t0)) s; sft $((t2 - t1)) s; dpo $((t3 - t2)) s; training total $((t3 - t1)) s"
echo "sft summary:"; cat "$WORK/sft/summary.json"
echo "dpo summary:"; cat "$WORK/dpo/summary.json"
