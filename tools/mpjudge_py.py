"""Python side of mpjudge for converters, exports and golden references (Debian python3-torch):
the .mpjc checkpoint reader/writer (docs/checkpoint.md) and the `paper` architecture in PyTorch with the
parameter names of the authors' released code (src/model/paper.h). Not used at run time by mpjudge itself."""
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


# ---- the default architecture (trunk from the nsfwjs npm package) --------------------------------
def js_literal_to_json(js):
    """A JavaScript object literal (unquoted keys, !0/!1, .5) as JSON text (as src/model/tfjs.cpp)."""
    import re
    out, i, n = [], 0, len(js)
    while i < n:
        c = js[i]
        if c in "\"'":
            j = i + 1
            while js[j] != c:
                j += 2 if js[j] == "\\" else 1
            s = js[i + 1:j]
            out.append(json.dumps(s.replace("\\'", "'")) if c == "'" else '"' + s + '"')
            i = j + 1
        elif c == "!" and i + 1 < n and js[i + 1] in "01":
            out.append("true" if js[i + 1] == "0" else "false")
            i += 2
        elif c == "." and i + 1 < n and js[i + 1].isdigit() and not js[i - 1].isdigit():
            out.append("0.")
            i += 1
        elif c.isalpha() or c in "_$":
            m = re.match(r"[A-Za-z_$][\w$]*", js[i:])
            word = m.group(0)
            k = i + len(word)
            while k < n and js[k].isspace():
                k += 1
            out.append(f'"{word}"' if k < n and js[k] == ":" else word)
            i += len(word)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _umd_export(js):
    import re
    for m in re.finditer(r"\.exports=([{\"'])", js):
        start = m.start(1)
        if js[start] != "{":
            end = js.index(js[start], start + 1)
            return js[start + 1:end]
        depth, i = 0, start
        while True:
            ch = js[i]
            if ch in "\"'":
                i = js.index(ch, i + 1)
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return json.loads(js_literal_to_json(js[start:i + 1]))
            i += 1
    raise CheckpointError("no UMD export found")


def load_nsfwjs_mobilenet(node_modules):
    """(layers config, {name: tensor}) of nsfwjs 4.4.0's MobileNetV2, dequantised (q * scale + min)."""
    import base64
    d = os.path.join(node_modules, "nsfwjs/dist/models/mobilenet_v2")
    model = _umd_export(open(os.path.join(d, "model.min.js")).read())
    blob = b"".join(base64.b64decode(_umd_export(open(os.path.join(d, p + ".min.js")).read()))
                    for g in model["weightsManifest"] for p in g["paths"])
    weights, off = {}, 0
    for g in model["weightsManifest"]:
        for w in g["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q and q["dtype"] == "uint8":
                arr = np.frombuffer(blob, np.uint8, n, off).astype(np.float32) * q["scale"] + q["min"]
                off += n
            else:
                arr = np.frombuffer(blob, np.float32, n, off)
                off += 4 * n
            weights[w["name"]] = torch.from_numpy(arr.reshape(w["shape"]).copy())
    return model["modelTopology"]["model_config"]["config"]["layers"], weights


class KerasTrunk(nn.Module):
    """The Keras MobileNetV2 with Keras semantics (as src/model/keras_graph.cpp), run layer by layer;
    run(x, outputs, replace) resumes from a replaced layer. Traceable with torch.jit.trace."""

    def __init__(self, layers, weights):
        super().__init__()
        self.layers = layers
        self.w = {}
        for i, (name, t) in enumerate(sorted(weights.items())):
            self.register_buffer(f"w{i}", t)
            self.w[name] = f"w{i}"

    def _t(self, name):
        return getattr(self, self.w[name])

    def run(self, x, outputs, replace=None):
        import torch.nn.functional as F
        replace = replace or {}
        needed, stack, by_name = set(), list(outputs), {l["name"]: l for l in self.layers}
        while stack:
            nme = stack.pop()
            if nme in needed:
                continue
            needed.add(nme)
            if nme in replace:
                continue
            for node in by_name[nme]["inbound_nodes"]:
                stack += [i[0] for i in node]
        val = {}
        for l in self.layers:
            nme, kind, c = l["name"], l["class_name"], l["config"]
            if nme not in needed:
                continue
            if nme in replace:
                val[nme] = replace[nme]
                continue
            ins = [val[i[0]] for node in l["inbound_nodes"] for i in node]
            if kind == "InputLayer":
                y = x
            elif kind in ("Conv2D", "DepthwiseConv2D"):
                h = ins[0]
                kh, kw = c["kernel_size"]
                s = c["strides"]
                if kind == "Conv2D":
                    wt, groups = self._t(nme + "/kernel").permute(3, 2, 0, 1), 1
                else:
                    k = self._t(nme + "/depthwise_kernel")
                    groups = k.shape[2]
                    wt = k.permute(2, 3, 0, 1).reshape(k.shape[2] * k.shape[3], 1, kh, kw)
                if c["padding"] == "same":
                    def same(n, kk, ss):
                        out = (n + ss - 1) // ss
                        tot = max((out - 1) * ss + kk - n, 0)
                        return tot // 2, tot - tot // 2
                    t, b = same(h.shape[2], kh, s[0])
                    le, r = same(h.shape[3], kw, s[1])
                    h = F.pad(h, (le, r, t, b))
                y = F.conv2d(h, wt, self._t(nme + "/bias") if c.get("use_bias") else None, s, 0, 1, groups)
            elif kind == "BatchNormalization":
                g, b = self._t(nme + "/gamma"), self._t(nme + "/beta")
                mu, var = self._t(nme + "/moving_mean"), self._t(nme + "/moving_variance")
                sc = g / torch.sqrt(var + c["epsilon"])
                y = ins[0] * sc.view(1, -1, 1, 1) + (b - mu * sc).view(1, -1, 1, 1)
            elif kind == "ReLU":
                y = torch.clamp(ins[0], 0, c["max_value"]) if c.get("max_value") is not None else torch.relu(ins[0])
            elif kind == "ZeroPadding2D":
                (t, b), (le, r) = c["padding"]
                y = F.pad(ins[0], (le, r, t, b))
            elif kind == "Add":
                y = ins[0] + ins[1]
            else:
                raise CheckpointError(f"layer {nme} ({kind}) is not supported in the trunk export")
            val[nme] = y
        return [val[o] for o in outputs]


class MAN(nn.Module):
    def __init__(self, ch, music_dim, hidden):
        super().__init__()
        self.feat, self.music = nn.Conv2d(ch, hidden, 1), nn.Linear(music_dim, hidden)
        self.gamma, self.beta = nn.Conv2d(hidden, ch, 1), nn.Conv2d(hidden, ch, 1)

    def forward(self, x, m):
        mu, var = x.mean((2, 3), keepdim=True), x.var((2, 3), unbiased=False, keepdim=True)
        xn = (x - mu) / torch.sqrt(var + 1e-5)
        z = torch.relu(self.feat(x) + self.music(m)[:, :, None, None])
        delta = xn * self.gamma(z) + self.beta(z)
        return x + delta, torch.linalg.vector_norm(delta, ord=2, dim=1)


class GlobalMAN(nn.Module):
    def __init__(self, dim, music_dim):
        super().__init__()
        self.gamma, self.beta = nn.Linear(music_dim, dim), nn.Linear(music_dim, dim)

    def forward(self, d, m):
        return d * (1.0 + self.gamma(m)) + self.beta(m)


class MusicEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(c["n_mels"], 128, 5, 2, 2), nn.ReLU(), nn.Conv1d(128, 128, 5, 2, 2), nn.ReLU(),
                                  nn.Conv1d(128, 128, 5, 2, 2), nn.ReLU())
        self.mlp = nn.Sequential(nn.Linear(256 + c["pitch_dim"] + c["descriptor_dim"], c["music_dim"]), nn.ReLU(),
                                 nn.Linear(c["music_dim"], c["music_dim"]))

    def forward(self, mel, pitch, desc):
        h = self.conv((mel + 40.0) / 40.0)
        return self.mlp(torch.cat([h.mean(-1), h.max(-1)[0], pitch, desc], 1))


STAGE_CHANNELS = {"block_5_add": 32, "block_12_add": 96, "block_16_project_BN": 320, "out_relu": 1280}


class MPJudgeNet(nn.Module):
    """forward(image01 [B,3,224,224] in [0,1], mel [B,n_mels,T], pitch [B,440], descriptors [B,10]
    [, painting_descriptors [B,11] when config painting_descriptor_dim is 11 (format 2)])
    -> (score [B], map per MAN block [B,H,W]...) - the same computation as src/model/mpjudge_net.cpp."""

    def __init__(self, c, trunk):
        super().__init__()
        self.c, self.trunk = c, trunk
        self.music = MusicEncoder(c)
        self.man = nn.ModuleList([MAN(STAGE_CHANNELS[l], c["music_dim"], c["man_hidden"]) for l in c["man_layers"]])
        self.pdim = c.get("painting_descriptor_dim", 0)
        if self.pdim:
            self.global_man = GlobalMAN(self.pdim, c["music_dim"])
        self.head = nn.Sequential(nn.Linear(1280 + self.pdim, c["head_hidden"]), nn.ReLU(), nn.Linear(c["head_hidden"], 1))
        if c.get("va_head", False):  # a training-only auxiliary head: loaded, never used for the score
            self.va_music = nn.Sequential(nn.Linear(c["music_dim"], 64), nn.ReLU(), nn.Linear(64, 2), nn.Tanh())

    def forward(self, image01, mel, pitch, desc, pdesc=None):
        m = self.music(mel, pitch, desc)
        layers = self.c["man_layers"]
        x = self.trunk.run(image01, [layers[0]])[0]
        maps = []
        for k, man in enumerate(self.man):
            y, mp = man(x, m)
            maps.append(mp)
            nxt = layers[k + 1] if k + 1 < len(layers) else "out_relu"
            x = self.trunk.run(None, [nxt], {layers[k]: y})[0]
        pooled = x.mean((2, 3))
        if self.pdim:
            pooled = torch.cat([pooled, self.global_man(pdesc, m)], 1)
        return (torch.sigmoid(self.head(pooled)).squeeze(-1), *maps)
