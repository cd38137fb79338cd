#!/usr/bin/python3
"""Checks the TorchScript export of the default architecture: exports the checkpoint written by
test_scorer's ExportFixture, loads it with torch.jit.load and compares score and modulation maps with the
C++ outputs on the same inputs, and checks that an ensemble checkpoint is refused. usage: torchscript_default_check.py REPO GOLDEN_EXPORT_DIR NODE_MODULES"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

repo, d, nm = sys.argv[1:4]
out = os.path.join(d, "m.ts.pt")
subprocess.run([sys.executable, os.path.join(repo, "tools/export_torchscript.py"), os.path.join(d, "m.mpjc"), out, nm],
               check=True, stderr=subprocess.DEVNULL)
m = torch.jit.load(out)
f = lambda n, shape: torch.from_numpy(np.fromfile(os.path.join(d, n), np.float32).reshape(shape))  # noqa: E731
mel_shape = json.load(open(os.path.join(d, "shapes.json")))["mel"]
with torch.no_grad():
    score, map0, map1 = m(f("image.f32", (1, 3, 224, 224)), f("mel.f32", mel_shape), f("pitch.f32", (1, 440)), f("descriptors.f32", (1, 10)),
                          f("painting_descriptors.f32", (1, 11)))
worst = 0.0
for name, ours, ref in (("score", score, f("score.f32", (1,))), ("map 14x14", map0, f("map0.f32", (1, 14, 14))), ("map 7x7", map1, f("map1.f32", (1, 7, 7)))):
    r = (ours - ref).abs().max().item() / max(1e-12, ref.abs().max().item())
    print(f"torchscript default export: {name} max diff {r:.3g} relative")
    worst = max(worst, r)
assert worst <= 1e-4, "the exported default network disagrees with mpjudge"
# An ensemble does not export as one network: exit 4, a hint, and no output file.
bad = subprocess.run([sys.executable, os.path.join(repo, "tools/export_torchscript.py"), os.path.join(d, "e.mpjc"), out + ".e", nm],
                     capture_output=True, text=True)
print(f"torchscript default export: an ensemble gives exit {bad.returncode}: {bad.stderr.strip()}")
assert bad.returncode == 4 and "export one of its members" in bad.stderr and not os.path.exists(out + ".e")
print("1 passed, 0 failed")
