#!/usr/bin/env bash
# Reproduces the shipped models (models/README.md): models/default.mpjc, one network distilled from the
# ensemble models/ensemble-2026-12b.mpjc. MPD-Open v2 seed 1 (with ../shared/data beside the project, as in
# CI); the music-emotion estimator refitted on its train clips and checked against the shipped weights
# (src/audio/music_emotion_weights.inc), and its out-of-fold estimates of the train clips written for
# training (emotion_cross_fit.csv, read by the descriptor-only networks); four judges trained by SFT on its
# train split with descriptors version 2 and EMOTION_FLAGS below, bundled by `mpjudge ensemble` into one
# checkpoint that averages them (the teacher). The members: the full music encoder (--music-inputs all) and
# the descriptor-only one, each at seeds 1 and 2. Then the student, trained on the teacher's scores. A step
# whose model exists is kept, so an interrupted run continues.
# With --dpo each member also gets a DPO stage against its own SFT model, bundled as ensemble_dpo.mpjc: the
# "+ DPO" side of the comparison in models/README.md.
# Prints the wall time of each step. Usage: scripts/train_default.sh [--dpo] [WORK_DIR]
#   (default WORK_DIR: build/default-model). Folders in WORK: corpus, cache, sft_<inputs>_s<seed>,
#   dpo_<inputs>_s<seed>, ensemble.mpjc (the teacher), ensemble_dpo.mpjc, student, default.mpjc (the default).
set -euo pipefail
cd "$(dirname "$0")/.."
DPO=0
[ "${1:-}" = "--dpo" ] && DPO=1 && shift
WORK=${1:-build/default-model}
BIN=build/mpjudge
# What the members' music encoders get from the music-emotion estimator (models/README.md: measured): its
# estimate as an input. The descriptor-only members are trained on cross-fitted (out-of-fold) estimates of
# the train clips (docs/emotion.md); for the full encoder that cost val SRCC, so it keeps the estimator's own.
CROSS_FIT="$WORK/emotion_cross_fit.csv"
EMOTION_FLAGS=(--music-emotion-input --v1-descriptors)
VERSION=default-2026-12c
TEACHER_WEIGHT=1.0
DISTILL_PAIRS=20000
mkdir -p "$WORK"
t0=$(date +%s)
if [ ! -f "$WORK/corpus/corpus.json" ] || ! grep -q '"mpd-open-2"' "$WORK/corpus/corpus.json"; then
  $BIN corpus build --out "$WORK/corpus" --seed 1 --force
fi
echo "corpus build $(($(date +%s) - t0)) s"
t=$(date +%s)
$BIN emotion --data "$WORK/corpus" --write-weights "$WORK/music_emotion_weights.inc" --write-cross-fit "$CROSS_FIT" \
  > "$WORK/emotion.txt"
if ! cmp -s "$WORK/music_emotion_weights.inc" src/audio/music_emotion_weights.inc; then
  echo "the refitted music-emotion weights ($WORK/music_emotion_weights.inc) differ from the shipped ones;" >&2
  echo "copy them to src/audio/music_emotion_weights.inc and rebuild (scripts/build.sh) before training" >&2
  exit 1
fi
echo "music-emotion estimator $(($(date +%s) - t)) s (matches the shipped weights)"
sft=() dpo=()
for m in all:1 all:2 descriptors:1 descriptors:2; do
  inputs=${m%:*} seed=${m#*:}
  name="_${inputs}_s${seed}"
  cross=()
  [ "$inputs" = descriptors ] && cross=(--emotion-cross-fit "$CROSS_FIT")
  if [ ! -f "$WORK/sft$name/model.mpjc" ]; then
    rm -rf "$WORK/sft$name"
    t=$(date +%s)
    $BIN train --stage sft --data "$WORK/corpus" --out "$WORK/sft$name" --seed "$seed" --music-inputs "$inputs" \
      "${EMOTION_FLAGS[@]}" "${cross[@]}" --cache-dir "$WORK/cache"
    echo "member $inputs seed $seed: sft $(($(date +%s) - t)) s"
  fi
  if [ "$DPO" = 1 ] && [ ! -f "$WORK/dpo$name/model.mpjc" ]; then
    rm -rf "$WORK/dpo$name"
    t=$(date +%s)
    $BIN train --stage dpo --data "$WORK/corpus" --ref "$WORK/sft$name/model.mpjc" --out "$WORK/dpo$name" \
      --seed "$seed" "${cross[@]}" --cache-dir "$WORK/cache"
    echo "member $inputs seed $seed: dpo $(($(date +%s) - t)) s"
  fi
  sft+=("$WORK/sft$name/model.mpjc") dpo+=("$WORK/dpo$name/model.mpjc")
done
$BIN ensemble --out "$WORK/ensemble.mpjc" "${sft[@]}" --data "$WORK/corpus" --split test --version default-2026-12b \
  --cache-dir "$WORK/cache"
[ "$DPO" = 1 ] && $BIN ensemble --out "$WORK/ensemble_dpo.mpjc" "${dpo[@]}"
# The shipped model: one descriptor-only network distilled from the ensemble (models/README.md, "Distilled"):
# a quarter of the ensemble's work per pair and no basic-pitch. Its targets are the ensemble's scores (weight
# $TEACHER_WEIGHT, the experts' the rest) on the train pairs and on $DISTILL_PAIRS more pairs of train media.
if [ ! -f "$WORK/student/model.mpjc" ]; then
  rm -rf "$WORK/student"
  t=$(date +%s)
  $BIN train --stage sft --data "$WORK/corpus" --out "$WORK/student" --seed 1 --music-inputs descriptors \
    "${EMOTION_FLAGS[@]}" --emotion-cross-fit "$CROSS_FIT" --teacher "$WORK/ensemble.mpjc" \
    --teacher-weight "$TEACHER_WEIGHT" --distill-pairs "$DISTILL_PAIRS" --cache-dir "$WORK/cache"
  echo "distilled student: sft $(($(date +%s) - t)) s"
fi
$BIN reference --model "$WORK/student/model.mpjc" --out "$WORK/default.mpjc" --data "$WORK/corpus" --split test \
  --version "$VERSION" --cache-dir "$WORK/cache"
cp "$WORK/default.mpjc" models/default.mpjc
cp "$WORK/ensemble.mpjc" models/ensemble-2026-12b.mpjc
echo "training total $(($(date +%s) - t0)) s"
$BIN eval --model models/default.mpjc --data "$WORK/corpus" --split test --cache-dir "$WORK/cache"
