#!/usr/bin/env bash
# Judging benchmark: mpjudge (the shipped model unless MODEL is given) against the Python peer
# bench/judge_peer.py (what it leaves out: its docstring) in one run, on the same files: a new pair and a
# cached pair in a cold process, rank 1 x 1000 paintings cached and new, a batch of 200 new pairs; wall
# time, pairs/s and peak RSS side by side with ratios (bench/judge_bench.py). docs/performance.md has the
# figures and where the time of a new pair goes.
# usage: bench/judge.sh [MODEL] [--quick]   (--quick: one run per row instead of the best of 3)
# Inputs: real recordings and paintings from ../shared/data when present (Emotify excerpts; the paintings
# cropped and flipped into 1000 distinct 512-px JPEGs), else variants of the generated examples.
set -euo pipefail
cd "$(dirname "$0")/.."
model=models/default.mpjc
quick=""
for a in "$@"; do
  case "$a" in
    --quick) quick=--quick ;;
    *) model=$a ;;
  esac
done
[ -x build/mpjudge ] || scripts/build.sh >/dev/null
work=build/bench/judge
mkdir -p "$work"
/usr/bin/python3 - "$work" <<'PY'
import csv, glob, os, random, shutil, sys
import numpy as np, soundfile as sf
from PIL import Image, ImageOps
work = sys.argv[1]
rng = random.Random(1)
gal = os.path.join(work, "gallery")
clips = os.path.join(work, "clips")
if not os.path.isdir(gal) or len(os.listdir(gal)) != 1000:
    os.makedirs(gal, exist_ok=True)
    src = sorted(glob.glob("../shared/data/paintings/**/*.jpg", recursive=True) +
                 glob.glob("../shared/data/paintings/**/*.png", recursive=True)) or ["build/examples/painting.png"]
    for i in range(1000):
        im = Image.open(src[i % len(src)]).convert("RGB")
        w, h = im.size
        c = 0.75 + 0.25 * rng.random()  # a distinct crop of each source per round
        cw, ch = int(w * c), int(h * c)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        im = im.crop((x, y, x + cw, y + ch))
        if (i // len(src)) % 2:
            im = ImageOps.mirror(im)
        im.thumbnail((512, 512))
        im.save(os.path.join(gal, f"p{i:04d}.jpg"), quality=90)
if not os.path.isdir(clips) or len(os.listdir(clips)) != 200:
    os.makedirs(clips, exist_ok=True)
    src = sorted(glob.glob("../shared/data/music/emotify/audio/*.ogg"))
    for i in range(200):
        if src:
            shutil.copy(src[i % len(src)], os.path.join(clips, f"m{i:03d}.ogg"))
            continue
        else:
            x, sr = sf.read("build/examples/music.wav", dtype="float32")
            x = np.tile(x, (3,) + (1,) * (x.ndim - 1)) * (0.5 + 0.5 * rng.random())
        sf.write(os.path.join(clips, f"m{i:03d}.ogg"), x, sr, format="OGG", subtype="VORBIS")
first = sorted(os.listdir(clips))[0]
if not os.path.exists(os.path.join(work, "music.ogg")):
    os.link(os.path.join(clips, first), os.path.join(work, "music.ogg"))
with open(os.path.join(work, "pairs.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["music", "painting"])
    for i in range(200):
        w.writerow([os.path.abspath(os.path.join(clips, f"m{i:03d}.ogg")),
                    os.path.abspath(os.path.join(gal, f"p{999 - i:04d}.jpg"))])
PY
exec /usr/bin/python3 bench/judge_bench.py "$work" build/mpjudge "$model" $quick
