#!/usr/bin/python3
"""Golden reference for mpjudge's `paper` network: an independent PyTorch implementation of the
architecture in DESIGN.md 1.2 with the parameter names of the authors' released code, at a tiny size.
It writes the weights as the authors' two state_dicts (model.pt, music.pt), converts them with
tools/convert_paper_checkpoint.py, and records inputs, outputs (score, per-block modulation maps) and the
gradient of every parameter for a fixed loss. usage: paper_reference.py REPO OUTDIR"""
import json
import math
import os
import subprocess
import sys

import torch
import torch.nn as nn

torch.manual_seed(7)
CFG = dict(image_size=64, patch=16, layers=2, width=64, heads=4, mel_size=64, music_channels=[8, 16, 32, 64])


class AdaIN(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale, self.bias = nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x, m):
        mu, sd = x.mean(1, keepdim=True), x.std(1, keepdim=True)
        return (x - mu) / (sd + 1e-5) * self.scale(m)[:, None] + self.bias(m)[:, None]


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.cross_attn = nn.MultiheadAttention(d, h, batch_first=True)
        self.adain1, self.adain2 = nn.LayerNorm(d), AdaIN(d)
        self.ffn = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, m):
        x = self.adain1(x)
        xa = x + self.cross_attn(x, x, x, need_weights=False)[0]
        xb = self.adain2(xa, m)
        return xb + self.ffn(xb), (xb - xa).norm(dim=-1)


class Visual(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["width"]
        self.patch_embed = nn.Conv2d(3, d, c["patch"], stride=c["patch"])
        self.pos_embed = nn.Parameter(torch.randn(1, (c["image_size"] // c["patch"]) ** 2, d))
        self.blocks = nn.ModuleList([Block(d, c["heads"]) for _ in range(c["layers"])])
        self.head = nn.Linear(d, 1)

    def forward(self, img, m):
        x = self.patch_embed(img).flatten(2).transpose(1, 2) + self.pos_embed
        maps = []
        for b in self.blocks:
            x, r = b(x, m)
            maps.append(r)
        return self.head(x.mean(1)).squeeze(-1), maps


class Music(nn.Module):
    def __init__(self, c):
        super().__init__()
        layers, cin = [], 3
        for ch in c["music_channels"]:
            layers += [nn.Conv2d(cin, ch, 4, 2, 1), nn.BatchNorm2d(ch), nn.ReLU()]
            cin = ch
        self.encoder = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1))
        self.proj = nn.Linear(cin, c["width"])

    def forward(self, x):
        return self.proj(self.encoder(x).flatten(1))


def dump(t, path):
    t.detach().contiguous().float().numpy().tofile(path)


def main():
    repo, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    vis, mus = Visual(CFG), Music(CFG)
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
    score, maps = vis(img, mus(mel))
    loss = ((score - target) ** 2).mean() + 0.1 * sum(m.mean() for m in maps)
    loss.backward()
    dump(img, os.path.join(out, "image.f32"))
    dump(mel, os.path.join(out, "mel.f32"))
    dump(score, os.path.join(out, "score.f32"))
    dump(torch.stack(maps, 1), os.path.join(out, "maps.f32"))  # [B, L, N]
    grads = {}
    for prefix, mod in (("visual.", vis), ("music.", mus)):
        for name, p in mod.named_parameters():
            fn = (prefix + name).replace(".", "_") + ".grad.f32"
            dump(p.grad, os.path.join(out, fn))
            grads[prefix + name] = dict(file=fn, shape=list(p.shape))
    json.dump(dict(config=CFG, loss=loss.item(), grads=grads, target=target.tolist()), open(os.path.join(out, "paper_reference.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
