#!/usr/bin/python3
"""Decodes an audio fixture with soundfile to mono float32 raw PCM (for the tfjs references).
usage: audio_to_f32.py INPUT OUTPUT.f32"""
import sys

import numpy as np
import soundfile as sf

x, sr = sf.read(sys.argv[1], dtype="float32")
if x.ndim > 1:
    x = x.mean(1)
assert sr == 22050, f"{sys.argv[1]}: expected 22050 Hz, found {sr}"
np.ascontiguousarray(x, np.float32).tofile(sys.argv[2])
