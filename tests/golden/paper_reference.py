#!/usr/bin/python3
"""Golden reference for mpjudge's `paper` network: an independent PyTorch implementation of the
architecture of the paper (as in src/model/paper.h) with the parameter names of the authors' released code, at a tiny size.
It writes the weights as the authors' two state_dicts (model.pt, music.pt), converts them with
tools/convert_paper_checkpoint.py, and records inputs, outputs (score, per-block modulation maps) and the
gradient of every parameter for a fixed loss. usage: paper_reference.py REPO OUTDIR"""
import json
import os
import subprocess
import sys

import torch
import torch.nn as nn

torch.manual_seed(7)
CFG = dict(image_size=64, patch=16, layers=2, width=64, heads=4, mel_size=64, music_channels=[8, 16, 32, 64])


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tools"))
from mpjudge_py import PaperModel  # noqa: E402


def dump(t, path):
    t.detach().contiguous().float().numpy().tofile(path)


def main():
    repo, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    model = PaperModel(CFG)
    vis, mus = model.visual, model.music
    with torch.no_grad():  # non-trivial BatchNorm statistics, so eval mode really uses them
        for m in mus.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    vis.eval(), mus.eval()
    torch.save(vis.state_dict(), os.path.join(out, "model.pt"))
    torch.save(mus.state_dict(), os.path.join(out, "music.pt"))
    subprocess.run([sys.executable, os.path.join(repo, "tools/convert_paper_checkpoint.py"), "--model", os.path.join(out, "model.pt"),
                    "--music", os.path.join(out, "music.pt"), "--out", os.path.join(out, "paper_tiny.mpjc"), "--heads", str(CFG["heads"]),
                    "--mel-size", str(CFG["mel_size"])], check=True, stdout=subprocess.DEVNULL)
    img = torch.rand(2, 3, CFG["image_size"], CFG["image_size"]) * 2 - 1
    mel = torch.randn(2, 3, CFG["mel_size"], CFG["mel_size"])
    target = torch.tensor([0.3, 0.8])
    score, maps = model(img, mel)
    loss = ((score - target) ** 2).mean() + 0.1 * maps.mean(dim=(0, 2)).sum()  # sum over blocks of each map's mean
    loss.backward()
    dump(img, os.path.join(out, "image.f32"))
    dump(mel, os.path.join(out, "mel.f32"))
    dump(score, os.path.join(out, "score.f32"))
    dump(maps, os.path.join(out, "maps.f32"))  # [B, L, N]
    grads = {}
    for prefix, mod in (("visual.", vis), ("music.", mus)):
        for name, p in mod.named_parameters():
            fn = (prefix + name).replace(".", "_") + ".grad.f32"
            dump(p.grad, os.path.join(out, fn))
            grads[prefix + name] = dict(file=fn, shape=list(p.shape))
    json.dump(dict(config=CFG, loss=loss.item(), grads=grads, target=target.tolist()), open(os.path.join(out, "paper_reference.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
