#!/usr/bin/python3
"""Converts the MPJudge authors' PyTorch checkpoints (their model_adain.py layout: a MyModel state_dict
and a Music state_dict, e.g. best_model1.pt and best_music_encoder1.pt) into an mpjudge checkpoint
(docs/checkpoint.md) for the `paper` architecture. Runs on Debian's python3-torch; writes atomically.

usage: convert_paper_checkpoint.py --model MODEL.pt --music MUSIC.pt --out OUT.mpjc [--heads 8] [--mel-size 256]

The number of attention heads and the mel-image size cannot be read from the weights; they default to
the paper's 8 and 256. Everything else (width, patch, image size, depth, music channels) is inferred and
checked. Exit codes: 0 ok, 2 usage, 4 the input is not a checkpoint of that layout (names what is wrong).
"""
import argparse
import json
import math
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpjudge_py import write_checkpoint  # noqa: E402

def fail(msg, code=4):
    print(f"convert_paper_checkpoint: error: {msg}", file=sys.stderr)
    sys.exit(code)


def load_state(path):
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - report any unreadable file the same way
        fail(f"{path}: expected a PyTorch state_dict saved with torch.save, found an unreadable file ({e})")
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        fail(f"{path}: expected a state_dict (a dict of tensors), found {type(obj).__name__}")
    # DistributedDataParallel prefixes every name with "module.".
    return {re.sub(r"^module\.", "", k): v for k, v in obj.items()}


def infer_config(vis, mus, heads, mel_size):
    for key in ("patch_embed.weight", "pos_embed", "head.weight"):
        if key not in vis:
            fail(f"model checkpoint: expected the authors' MyModel layout with '{key}', found keys like {sorted(vis)[:4]}")
    width, _, patch, _ = vis["patch_embed.weight"].shape
    n = vis["pos_embed"].shape[1]
    grid = int(round(math.sqrt(n)))
    if grid * grid != n:
        fail(f"model checkpoint: expected a square number of position embeddings, found {n}")
    layers = len({k.split(".")[1] for k in vis if k.startswith("blocks.")})
    channels = []
    i = 0
    while f"encoder.{i}.weight" in mus:
        channels.append(int(mus[f"encoder.{i}.weight"].shape[0]))
        i += 3
    if not channels or "proj.weight" not in mus:
        fail(f"music checkpoint: expected the authors' Music layout (encoder.0.weight ... proj.weight), found keys like {sorted(mus)[:4]}")
    if width % heads:
        fail(f"--heads {heads} does not divide the width {width}", code=2)
    return dict(image_size=grid * int(patch), patch=int(patch), layers=layers, width=int(width), heads=heads,
                mel_size=mel_size, music_channels=channels, adain_eps=1e-5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--music", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--mel-size", type=int, default=256)
    args = ap.parse_args()
    vis, mus = load_state(args.model), load_state(args.music)
    config = infer_config(vis, mus, args.heads, args.mel_size)
    tensors = {"visual." + k: v for k, v in vis.items()}
    tensors.update({"music." + k: v for k, v in mus.items()})
    meta = dict(converted_from=[os.path.basename(args.model), os.path.basename(args.music)],
                converter="tools/convert_paper_checkpoint.py")
    write_checkpoint(args.out, "paper", config, meta, tensors)
    print(json.dumps(dict(out=args.out, arch="paper", config=config, tensors=len(tensors))))


if __name__ == "__main__":
    main()
