#!/usr/bin/python3
"""The Python peer a researcher would write for mpjudge's front-ends (Debian python3-torchaudio,
python3-soundfile, python3-pil, numpy): the same stages, the same parameters, timed the same way.
  audio path:    soundfile decode -> mono -> torchaudio resample to 22.05 kHz -> MelSpectrogram + dB
  painting path: PIL decode -> resize (long side 512) -> CIELAB -> means, contrast, edge density,
                 colour emotion (nearest BCP-37 colour on a 128 px copy)
usage: frontend_peer.py --music F --painting F [--threads N] [--runs N]   (prints one JSON object)
"""
import argparse
import json
import time

import numpy as np
import soundfile as sf
import torch
import torchaudio
from PIL import Image, ImageFilter


def srgb_to_lab(rgb):  # rgb uint8 [..., 3]
    c = rgb.astype(np.float32) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]], np.float32)
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883], np.float32)
    d = 6 / 29
    f = np.where(xyz > d ** 3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


BCP = None


def describe(path):
    img = Image.open(path).convert("RGB")
    s = 512 / max(img.size)
    if s < 1:
        img = img.resize((round(img.width * s), round(img.height * s)), Image.BOX)
    rgb = np.asarray(img)
    lab = srgb_to_lab(rgb)
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    out = dict(lightness=float(L.mean()), a=float(a.mean()), b=float(b.mean()),
               chroma=float(np.hypot(a, b).mean()), contrast=float(L.std()))
    edges = np.asarray(img.convert("L").filter(ImageFilter.GaussianBlur(1)).filter(ImageFilter.FIND_EDGES))
    out["edge_density"] = float((edges > 40).mean())
    small = img.resize((max(1, img.width // 4), max(1, img.height // 4)), Image.BOX)
    sl = srgb_to_lab(np.asarray(small)).reshape(-1, 3)
    nearest = ((sl[:, None, :] - BCP[None, :, :3]) ** 2).sum(-1).argmin(1)
    out["happy"] = float(BCP[nearest, 3].mean() / 100)
    return out


def timed(runs, fn):
    t0 = time.perf_counter()
    fn()
    cold = (time.perf_counter() - t0) * 1e3
    warm = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        warm.append((time.perf_counter() - t0) * 1e3)
    return cold, float(np.median(warm))


def main():
    global BCP
    ap = argparse.ArgumentParser()
    ap.add_argument("--music", required=True)
    ap.add_argument("--painting", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    BCP = np.random.default_rng(0).uniform(-50, 100, (37, 4)).astype(np.float32)  # same cost as the table
    mel_t = torchaudio.transforms.MelSpectrogram(22050, n_fft=2048, hop_length=512, n_mels=128)
    to_db = torchaudio.transforms.AmplitudeToDB("power", top_db=None)
    state = {}

    def audio():
        sr = sf.info(args.music).samplerate
        x, sr = sf.read(args.music, dtype="float32", frames=int(30 * sr))  # decode only the clip
        if x.ndim > 1:
            x = x.mean(1)
        w = torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(x)), sr, 22050)
        state["wave"] = w
        return to_db(mel_t(w))

    def mel():
        return to_db(mel_t(state["wave"]))

    with torch.no_grad():
        ac, aw = timed(args.runs, audio)
        mc, mw = timed(args.runs, mel)
    pc, pw = timed(args.runs, lambda: describe(args.painting))
    print(json.dumps(dict(clip_s=len(state["wave"]) / 22050, audio_path_cold_ms=ac, audio_path_ms=aw,
                          mel_cold_ms=mc, mel_ms=mw, painting_path_cold_ms=pc, painting_path_ms=pw)))


if __name__ == "__main__":
    main()
