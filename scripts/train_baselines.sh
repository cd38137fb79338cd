#!/usr/bin/env bash
# The evaluation issue's comparison on MPD-Open (corpus seed 1): trains the baselines and ablations next to
# the default model (made by scripts/train_default.sh into the same WORK folder), then writes the report.
# Every run uses the same corpus, splits, seed and SFT schedule as the default; only the judge differs.
#   emotion      valence/arousal regressors for music and painting (media.csv labels), emotion-point closeness
#   embedding    learned projections of each side's pretrained features, cosine
#   late_fusion  concatenated features -> MLP, no modulation (also the "no MAN" ablation)
#   no MAN x4    late fusion with the default's four members' encoders and seeds, bundled
#                (WORK/ensemble_late_fusion.mpjc): the "no MAN" ablation like for like with the ensemble
#   man_last     MAN in the last stage (7x7) only, SFT + DPO like the default
#   + DPO        the default's members after their DPO stage, bundled (WORK/ensemble_dpo.mpjc)
#   single judge the default's first member alone after DPO (WORK/dpo; the shipped model until 2026-11-26):
#                the baselines below are single judges too
#   paper_small  the authors' ViT-AdaIN (6 blocks x 256) trained from pixels and mel images. One epoch, not
#                four: it costs about 11 s per batch of 64 on 2 cores (about 45 min per epoch), where the
#                default's heads on cached features take 2 s
# usage: scripts/train_baselines.sh [WORK_DIR]   (default: build/default-model; needs what
#        scripts/train_default.sh made there)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-build/default-model}
BIN=build/mpjudge
common=(--data "$WORK/corpus" --seed 1 --cache-dir "$WORK/cache")
for v in emotion embedding late_fusion; do
  [ -f "$WORK/$v/model.mpjc" ] || { rm -rf "$WORK/$v"; $BIN train --stage sft --variant $v --out "$WORK/$v" "${common[@]}"; }
done
lf=("$WORK/late_fusion/model.mpjc")
for m in all:2 descriptors:1 descriptors:2; do
  inputs=${m%:*} seed=${m#*:}
  out="$WORK/late_fusion_${inputs}_s${seed}"
  [ -f "$out/model.mpjc" ] || { rm -rf "$out"; $BIN train --stage sft --variant late_fusion --music-inputs "$inputs" \
    --out "$out" --data "$WORK/corpus" --seed "$seed" --cache-dir "$WORK/cache"; }
  lf+=("$out/model.mpjc")
done
$BIN ensemble --out "$WORK/ensemble_late_fusion.mpjc" "${lf[@]}"
if [ ! -f "$WORK/man_last_dpo/model.mpjc" ]; then
  rm -rf "$WORK/man_last" "$WORK/man_last_dpo"
  $BIN train --stage sft --man last --out "$WORK/man_last" "${common[@]}"
  $BIN train --stage dpo --ref "$WORK/man_last/model.mpjc" --out "$WORK/man_last_dpo" "${common[@]}"
fi
if [ ! -f "$WORK/paper_small/model.mpjc" ]; then
  rm -rf "$WORK/paper_small"
  $BIN train --stage sft --variant paper_small --epochs 1 --out "$WORK/paper_small" "${common[@]}"
fi
$BIN report --data "$WORK/corpus" --split test --out "$WORK/report.html" --cache-dir "$WORK/cache" --runs \
  "MPJudge (default: 4 judges)=$WORK/ensemble.mpjc" "+ DPO=$WORK/ensemble_dpo.mpjc" \
  "single judge (SFT + DPO)=$WORK/dpo" "MAN last stage only=$WORK/man_last_dpo" \
  "no MAN, 4 judges (late fusion)=$WORK/ensemble_late_fusion.mpjc" "no MAN (late fusion)=$WORK/late_fusion" \
  "embedding similarity=$WORK/embedding" "emotion-based=$WORK/emotion" \
  "paper-small (1 epoch)=$WORK/paper_small"
