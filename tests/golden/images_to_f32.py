#!/usr/bin/python3
"""Decodes PNG fixtures with PIL to float32 NHWC RGB / 255 (the nsfwjs input) for the tfjs reference.
usage: images_to_f32.py OUTDIR IMAGE.png..."""
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for p in sys.argv[2:]:
    x = np.asarray(Image.open(p).convert("RGB"), np.float32) / 255.0
    assert x.shape == (224, 224, 3), f"{p}: expected 224x224, found {x.shape}"
    x[None].tofile(os.path.join(out, os.path.splitext(os.path.basename(p))[0] + ".f32"))
