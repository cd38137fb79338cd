#!/bin/sh
# The descriptors' ground-truth check (CTest descriptors_ground_truth): every Debian MIDI piece MPD-Open
# uses (pianobooster's courses, some gzipped, and sfront's example; its two byte-identical copies left out)
# rendered by bench_descriptors with two soundfonts and three instrument sets. Version 2 must reach the
# figures below; on 2026-12-01 it gave tempo Accuracy 1 0.870, key exact 0.737, steady-beat claims right
# 0.922 (docs/descriptors.md).
# usage: descriptors_ground_truth.sh BENCH_BINARY SOURCE_DIR WORK_DIR
set -eu
bench=$1 src=$2 work=$3
rm -rf "$work/mid"
mkdir -p "$work/mid"
for f in $(find "$src/deps/media/usr/share/doc" \( -name '*.mid' -o -name '*.mid.gz' \) | grep -v -e nmp_stream -e aatest | sort); do
  b=$(basename "$f" .gz)
  case "$f" in
    *.gz) gzip -dc "$f" > "$work/mid/$b" ;;
    *) cp "$f" "$work/mid/$b" ;;
  esac
done
exec "$bench" --renders "$work/renders" --min-tempo-acc1 0.8 --min-key-acc 0.65 --min-confident-precision 0.85 \
  "$work"/mid/*.mid
