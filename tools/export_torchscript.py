#!/usr/bin/python3
"""Exports an mpjudge checkpoint as a TorchScript module for Python users (torch.jit.load, no mpjudge
needed).
- `paper`: a scripted PaperModel; forward(image [B,3,S,S] in [-1,1], mel_image) -> (score [B], maps [B, layers, tokens]).
- `mpjudge` (default): a traced module with the frozen nsfwjs MobileNetV2 trunk embedded (read from the
  npm package in NODE_MODULES); forward(image01 [B,3,224,224] in [0,1], mel [B,128,T], pitch [B,440],
  descriptors [B,10][, painting_descriptors [B,11] for format-2 checkpoints]) -> (score [B], map_14x14 [B,14,14], map_7x7 [B,7,7]). Inputs are what mpjudge's
  feature layer computes (docs/model.md).
usage: export_torchscript.py CHECKPOINT.mpjc OUT.pt [NODE_MODULES]   (Debian python3-torch; exit 4 on a bad checkpoint)"""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpjudge_py  # noqa: E402


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    src, out = sys.argv[1], sys.argv[2]
    try:
        arch, config, meta, tensors = mpjudge_py.read_checkpoint(src)
    except (OSError, mpjudge_py.CheckpointError) as e:
        print(f"export_torchscript: error: {e}", file=sys.stderr)
        sys.exit(4)
    if arch == "paper":
        model = mpjudge_py.PaperModel(config)
    elif arch == "mpjudge" and config.get("variant", "man") != "man":
        print(f"export_torchscript: error: {src}: only the MPJudge network (variant man) exports; this is the "
              f"'{config['variant']}' baseline", file=sys.stderr)
        sys.exit(4)
    elif arch == "mpjudge" and config.get("music_inputs", "all") != "all":
        print(f"export_torchscript: error: {src}: only the full music encoder (music_inputs all) exports; this one "
              f"reads '{config['music_inputs']}'", file=sys.stderr)
        sys.exit(4)
    elif arch == "mpjudge":
        nm = sys.argv[3] if len(sys.argv) == 4 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "../deps/node_modules")
        trunk = mpjudge_py.KerasTrunk(*mpjudge_py.load_nsfwjs_mobilenet(nm))
        model = mpjudge_py.MPJudgeNet(config, trunk)
    else:
        hint = "; export one of its members instead" if arch == "mpjudge-ensemble" else ""
        print(f"export_torchscript: error: {src}: expected a 'paper' or 'mpjudge' checkpoint, found '{arch}'{hint}",
              file=sys.stderr)
        sys.exit(4)
    own = {k for k in model.state_dict() if not k.startswith("trunk.")}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if k in own]
    if missing or unexpected:
        print(f"export_torchscript: error: {src}: missing {missing[:3]}, unexpected {unexpected[:3]}", file=sys.stderr)
        sys.exit(4)
    model.eval()
    if arch == "paper":
        scripted = torch.jit.script(model)
    else:
        example = (torch.rand(1, 3, 224, 224), torch.randn(1, config["n_mels"], 1292) * 10 - 40,
                   torch.rand(1, config["pitch_dim"]), torch.zeros(1, config["descriptor_dim"]))
        if config.get("painting_descriptor_dim", 0):
            example += (torch.zeros(1, config["painting_descriptor_dim"]),)
        with torch.no_grad():
            scripted = torch.jit.trace(model, example, check_trace=False)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(out)), prefix=".ts.")
    os.close(fd)
    scripted.save(tmp)
    os.replace(tmp, out)
    print(f"exported {src} ({arch}) -> {out}")


if __name__ == "__main__":
    main()
