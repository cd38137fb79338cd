"""Python side of mpjudge for converters, exports and golden references (Debian python3-torch):
the .mpjc checkpoint reader/writer (docs/checkpoint.md) and the `paper` architecture in PyTorch with the
parameter names of the authors' released code (DESIGN.md 1.2). Not used at run time by mpjudge itself."""
import hashlib
import json
import os
import struct
import tempfile

import numpy as np
import torch
import torch.nn as nn

MAGIC = b"MPJCKPT\0"
VERSION = 1


class CheckpointError(Exception):
    pass


def write_checkpoint(path, arch, config, meta, tensors):
    index, blobs, offset = [], [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype == torch.int64:
            arr, dtype = t.numpy().astype("<i8"), "i64"
        else:
            arr, dtype = t.to(torch.float32).numpy().astype("<f4"), "f32"
        raw = arr.tobytes()
        index.append(dict(name=name, dtype=dtype, shape=list(arr.shape), offset=offset, nbytes=len(raw)))
        blobs.append(raw)
        offset += len(raw)
    header = json.dumps(dict(arch=arch, config=config, meta=meta, tensors=index)).encode()
    pre = MAGIC + struct.pack("<IQ", VERSION, len(header)) + header
    sha = hashlib.sha256(pre)
    for b in blobs:
        sha.update(b)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".mpjc.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pre)
            for b in blobs:
                f.write(b)
            f.write(sha.digest())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_checkpoint(path):
    """Returns (arch, config, meta, {name: tensor}); raises CheckpointError naming what is wrong."""
    data = open(path, "rb").read()
    if len(data) < 52 or data[:8] != MAGIC:
        raise CheckpointError(f"{path}: expected an mpjudge checkpoint (magic MPJCKPT), found something else")
    version, hlen = struct.unpack("<IQ", data[8:20])
    if version != VERSION:
        raise CheckpointError(f"{path}: expected checkpoint format version {VERSION}, found {version}")
    if hashlib.sha256(data[:-32]).digest() != data[-32:]:
        raise CheckpointError(f"{path}: expected a checksum that matches the contents, found a corrupt or truncated file")
    header = json.loads(data[20:20 + hlen])
    base = 20 + hlen
    tensors = {}
    for t in header["tensors"]:
        raw = data[base + t["offset"]: base + t["offset"] + t["nbytes"]]
        arr = np.frombuffer(raw, dtype="<i8" if t["dtype"] == "i64" else "<f4").reshape(t["shape"])
        tensors[t["name"]] = torch.from_numpy(arr.copy())
    return header["arch"], header["config"], header.get("meta", {}), tensors


class AdaIN(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.scale, self.bias, self.eps = nn.Linear(d, d), nn.Linear(d, d), eps

    def forward(self, x, m):
        mu, sd = x.mean(1, keepdim=True), x.std(1, keepdim=True)
        return (x - mu) / (sd + self.eps) * self.scale(m).unsqueeze(1) + self.bias(m).unsqueeze(1)


class Block(nn.Module):
    def __init__(self, d: int, h: int, eps: float):
        super().__init__()
        self.cross_attn = nn.MultiheadAttention(d, h, batch_first=True)
        self.adain1, self.adain2 = nn.LayerNorm(d), AdaIN(d, eps)
        self.ffn = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, m):
        x = self.adain1(x)
        xa = x + self.cross_attn(x, x, x, need_weights=False)[0]
        xb = self.adain2(xa, m)
        return xb + self.ffn(xb), torch.linalg.vector_norm(xb - xa, ord=2, dim=-1)


class PaperVisual(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["width"]
        self.patch_embed = nn.Conv2d(3, d, c["patch"], stride=c["patch"])
        self.pos_embed = nn.Parameter(torch.randn(1, (c["image_size"] // c["patch"]) ** 2, d))
        self.blocks = nn.ModuleList([Block(d, c["heads"], c.get("adain_eps", 1e-5)) for _ in range(c["layers"])])
        self.head = nn.Linear(d, 1)


class PaperMusic(nn.Module):
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


class PaperModel(nn.Module):
    """forward(image [B,3,S,S] in [-1,1], mel_image [B,3,M,M]) -> (score [B], maps [B, layers, N])."""

    def __init__(self, c):
        super().__init__()
        self.visual, self.music = PaperVisual(c), PaperMusic(c)

    def forward(self, image, mel_image):
        m = self.music(mel_image)
        x = self.visual.patch_embed(image).flatten(2).transpose(1, 2)
        x = x + self.visual.pos_embed[:, : x.size(1)]
        maps = []
        for blk in self.visual.blocks:
            x, r = blk(x, m)
            maps.append(r)
        return self.visual.head(x.mean(1)).squeeze(-1), torch.stack(maps, 1)
