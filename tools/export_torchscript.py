#!/usr/bin/python3
"""Exports an mpjudge checkpoint as a TorchScript module for Python users (torch.jit.load, no mpjudge
needed): `paper` checkpoints become a scripted PaperModel whose forward(image, mel_image) returns
(score [B], modulation maps [B, layers, tokens]). The default `mpjudge` architecture is not exported yet:
its trunk is the nsfwjs MobileNetV2, whose weights are not in the checkpoint.
usage: export_torchscript.py CHECKPOINT.mpjc OUT.pt        (Debian python3-torch; exit 4 on a bad checkpoint)"""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpjudge_py  # noqa: E402


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    src, out = sys.argv[1], sys.argv[2]
    try:
        arch, config, meta, tensors = mpjudge_py.read_checkpoint(src)
    except (OSError, mpjudge_py.CheckpointError) as e:
        print(f"export_torchscript: error: {e}", file=sys.stderr)
        sys.exit(4)
    if arch != "paper":
        print(f"export_torchscript: error: {src}: expected a 'paper' checkpoint, found '{arch}' (not exportable yet)", file=sys.stderr)
        sys.exit(4)
    model = mpjudge_py.PaperModel(config)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        print(f"export_torchscript: error: {src}: missing {missing[:3]}, unexpected {unexpected[:3]}", file=sys.stderr)
        sys.exit(4)
    scripted = torch.jit.script(model.eval())
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(out)), prefix=".ts.")
    os.close(fd)
    scripted.save(tmp)
    os.replace(tmp, out)
    print(f"exported {src} ({arch}) -> {out}")


if __name__ == "__main__":
    main()
