#!/usr/bin/python3
"""Judging benchmark, the Python peer: what a researcher would write to score music-painting pairs with
Debian's python3-torch, torchvision and torchaudio, for bench/judge.sh.

Per pair it does: decode the music (torchaudio; soundfile-backed), downmix, resample to 22.05 kHz, cut the
middle 30 s, a 128-band log-mel (torchaudio MelSpectrogram + AmplitudeToDB); decode the painting (PIL),
resize to 224x224, normalise; torchvision's MobileNetV2 up to the 1280-d pooled feature; a small MAN-like
head (the music's pooled mel through an MLP gives a per-channel scale and shift of the painting feature,
then an MLP to a score in [0, 1]).

What it leaves out, against mpjudge: basic-pitch (the music's note/onset posteriors, about 0.28 s per
30 s of music), the music and painting descriptors (tempo, key, loudness, CIELAB, edges, the emotion
estimate), MAN inside the trunk (mpjudge modulates at 14x14 and 7x7 and re-runs the trunk after each),
the ensemble (one network, not four), the modulation maps, and error handling. Weights are random
(timing does not depend on them; nothing is downloaded). Its cache, where asked, is a torch.save file
per medium keyed by the file's SHA-256, as a researcher would keep one.

usage:
  judge_peer.py score MUSIC PAINTING [--cache DIR]
  judge_peer.py rank MUSIC GALLERY_DIR [--cache DIR]
  judge_peer.py batch PAIRS.csv [--cache DIR]       (music,painting header; one process, model loaded once)
Prints one JSON line: what it scored and the seconds its stages took."""
import csv
import hashlib
import json
import os
import sys
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchaudio  # noqa: E402
import torchvision  # noqa: E402
from PIL import Image  # noqa: E402

T_IMPORT = time.perf_counter() - T0
SR = 22050
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


class Judge(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = torchvision.models.mobilenet_v2().features.eval()
        self.film = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 2 * 1280))
        self.head = torch.nn.Sequential(torch.nn.Linear(1280 + 256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1))
        self.mel = torchaudio.transforms.MelSpectrogram(SR, n_fft=2048, hop_length=512, n_mels=128)
        self.db = torchaudio.transforms.AmplitudeToDB()

    def music(self, path):
        x, sr = torchaudio.load(path)
        x = x.mean(0)
        if sr != SR:
            x = torchaudio.functional.resample(x, sr, SR)
        n = 30 * SR
        if x.numel() > n:
            s = (x.numel() - n) // 2
            x = x[s:s + n]
        m = self.db(self.mel(x))  # [128, T]
        return torch.cat([m.mean(1), m.std(1)])  # [256]

    def painting(self, path):
        img = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
        t = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255
        f = self.trunk(((t - MEAN) / STD).unsqueeze(0))
        return f.mean((2, 3))[0]  # [1280]

    def score(self, m, p):  # m [B, 256], p [B, 1280]
        g, b = self.film(m).chunk(2, dim=1)
        return torch.sigmoid(self.head(torch.cat([p * (1 + g) + b, m], 1)))[:, 0]


def cached(cache, path, fn):
    if not cache:
        return fn(path)
    with open(path, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()
    file = os.path.join(cache, key + ".pt")
    if os.path.exists(file):
        return torch.load(file)
    v = fn(path)
    torch.save(v, file)
    return v


def main():
    args = sys.argv[1:]
    cache = None
    if "--cache" in args:
        i = args.index("--cache")
        cache = args[i + 1]
        os.makedirs(cache, exist_ok=True)
        del args[i:i + 2]
    mode = args[0]
    torch.manual_seed(0)
    t = time.perf_counter()
    judge = Judge().eval()
    t_load = time.perf_counter() - t
    out = {"mode": mode, "import_s": T_IMPORT, "load_s": t_load}
    with torch.no_grad():
        t = time.perf_counter()
        if mode == "score":
            m = cached(cache, args[1], judge.music)
            p = cached(cache, args[2], judge.painting)
            out["score"] = float(judge.score(m[None], p[None])[0])
            out["pairs"] = 1
        elif mode == "rank":
            m = cached(cache, args[1], judge.music)
            files = sorted(os.path.join(args[2], f) for f in os.listdir(args[2]) if not f.startswith("."))
            ps = torch.stack([cached(cache, f, judge.painting) for f in files])
            s = judge.score(m[None].expand(len(files), -1), ps)
            out["best"] = files[int(s.argmax())]
            out["pairs"] = len(files)
        elif mode == "batch":
            with open(args[1], newline="") as f:
                rows = list(csv.DictReader(f))
            scores = []
            for r in rows:
                m = cached(cache, r["music"], judge.music)
                p = cached(cache, r["painting"], judge.painting)
                scores.append(float(judge.score(m[None], p[None])[0]))
            out["mean"] = float(np.mean(scores))
            out["pairs"] = len(rows)
        else:
            sys.exit("usage: judge_peer.py score|rank|batch ...")
        out["work_s"] = time.perf_counter() - t
    out["total_s"] = time.perf_counter() - T0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
