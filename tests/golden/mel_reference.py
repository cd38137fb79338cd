#!/usr/bin/python3
"""Golden reference for mpjudge's log-mel front-end: torchaudio.transforms.MelSpectrogram (+ AmplitudeToDB)
on a committed fixture, for several configurations. Writes OUTDIR/mel_configs.json and one raw float32
file per configuration ([n_mels, n_frames], row-major). Run with Debian's python3-torchaudio.
usage: mel_reference.py INPUT.wav OUTDIR
"""
import json
import os
import sys

import soundfile as sf
import torch
import torchaudio

CONFIGS = [
    dict(name="default", n_fft=2048, hop_length=512, n_mels=128),
    dict(name="slaney", n_fft=2048, hop_length=512, n_mels=128, norm="slaney", mel_scale="slaney"),
    dict(name="magnitude", n_fft=1024, hop_length=256, n_mels=64, power=1.0),
    dict(name="short_window", n_fft=2048, win_length=1024, hop_length=300, n_mels=80, normalized=True),
    dict(name="no_center_band", n_fft=512, hop_length=128, n_mels=40, center=False, f_min=30.0, f_max=8000.0),
    dict(name="torchaudio_defaults", n_fft=400, n_mels=128),  # hop = win_length // 2
]


def main():
    wav, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    x, sr = sf.read(wav, dtype="float32")
    x = torch.from_numpy(x).unsqueeze(0)
    meta = []
    for cfg in CONFIGS:
        kw = {k: v for k, v in cfg.items() if k != "name"}
        mel = torchaudio.transforms.MelSpectrogram(sample_rate=sr, **kw)(x)[0]
        power = kw.get("power", 2.0)
        db = torchaudio.transforms.AmplitudeToDB("power" if power == 2.0 else "magnitude", top_db=None)(mel)
        mel.contiguous().numpy().tofile(os.path.join(outdir, cfg["name"] + ".linear.f32"))
        db.contiguous().numpy().tofile(os.path.join(outdir, cfg["name"] + ".db.f32"))
        meta.append(dict(cfg, sample_rate=sr, n_frames=int(mel.shape[1])))
    with open(os.path.join(outdir, "mel_configs.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
