#!/usr/bin/python3
"""Checks the TorchScript export: exports the golden paper checkpoint with tools/export_torchscript.py,
loads it with torch.jit.load (as a Python user would, without mpjudge) and compares its outputs with the
reference outputs that tests/golden/paper_reference.py recorded. usage: torchscript_check.py REPO GOLDEN_PAPER_DIR"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

repo, d = sys.argv[1], sys.argv[2]
cfg = json.load(open(os.path.join(d, "paper_reference.json")))["config"]
out = os.path.join(d, "paper_tiny.ts.pt")
subprocess.run([sys.executable, os.path.join(repo, "tools/export_torchscript.py"), os.path.join(d, "paper_tiny.mpjc"), out], check=True)
m = torch.jit.load(out)
img = torch.from_numpy(np.fromfile(os.path.join(d, "image.f32"), np.float32).reshape(2, 3, cfg["image_size"], cfg["image_size"]))
mel = torch.from_numpy(np.fromfile(os.path.join(d, "mel.f32"), np.float32).reshape(2, 3, cfg["mel_size"], cfg["mel_size"]))
with torch.no_grad():
    score, maps = m(img, mel)
ref_score = torch.from_numpy(np.fromfile(os.path.join(d, "score.f32"), np.float32))
ref_maps = torch.from_numpy(np.fromfile(os.path.join(d, "maps.f32"), np.float32)).reshape(maps.shape)
ds = (score - ref_score).abs().max().item() / ref_score.abs().max().item()
dm = (maps - ref_maps).abs().max().item() / ref_maps.abs().max().item()
print(f"torchscript export: score max diff {ds:.3g} relative, maps {dm:.3g} relative")
assert ds <= 1e-5 and dm <= 1e-5, "TorchScript export disagrees with the reference"
# A non-paper checkpoint is refused with exit code 4, not a traceback.
bad = subprocess.run([sys.executable, os.path.join(repo, "tools/export_torchscript.py"), os.path.join(d, "image.f32"), out + ".x"])
assert bad.returncode == 4, bad.returncode
print("1 passed, 0 failed")
