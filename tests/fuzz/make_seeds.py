#!/usr/bin/python3
"""Seed inputs for the checkpoint and feature-cache harnesses (tests/fuzz): a small valid file of each
format and the hostile variants the readers must refuse (wrapped offsets, huge header lengths, huge or
negative shapes, missing keys). Formats: docs/checkpoint.md and src/model/feature_cache.cpp.

usage: make_seeds.py OUT_DIR      writes OUT_DIR/checkpoint/* and OUT_DIR/cache/*
"""
import hashlib
import json
import os
import struct
import sys


def checkpoint(header, data=b"", hlen=None):
    h = json.dumps(header).encode()
    body = b"MPJCKPT\0" + struct.pack("<IQ", 1, len(h) if hlen is None else hlen) + h + data
    return body + hashlib.sha256(body).digest()


def tensor(name, shape, offset, nbytes, dtype="f32"):
    return {"name": name, "dtype": dtype, "shape": shape, "offset": offset, "nbytes": nbytes}


def cache_entry(tensors):
    b = b"MPJFEAT1" + struct.pack("<I", len(tensors))
    for name, dims, data in tensors:
        b += struct.pack("<I", len(name)) + name.encode() + struct.pack("<I", len(dims))
        b += b"".join(struct.pack("<q", d) for d in dims) + data
    return b


def main():
    out = sys.argv[1]
    data = struct.pack("<6f", *range(6)) + struct.pack("<q", 7)
    ok = {"arch": "mpjudge", "config": {}, "meta": {},
          "tensors": [tensor("w", [2, 3], 0, 24), tensor("n", [], 24, 8, "i64")]}
    seeds = {
        "checkpoint": {
            "valid.mpjc": checkpoint(ok, data),
            "wrapped_offset.mpjc": checkpoint(dict(ok, tensors=[tensor("w", [2, 3], 2**64 - 8, 24)]), data),
            "huge_header_length.mpjc": checkpoint(ok, data, hlen=2**63),
            "negative_shape.mpjc": checkpoint(dict(ok, tensors=[tensor("w", [-2, 3], 0, 24)]), data),
            "huge_shape.mpjc": checkpoint(dict(ok, tensors=[tensor("w", [2**40, 2**40], 0, 24)]), data),
            "missing_tensors.mpjc": checkpoint({"arch": "mpjudge", "config": {}}, data),
            "arch_not_a_string.mpjc": checkpoint(dict(ok, arch=[1]), data),
        },
        "cache": {
            "valid.feat": cache_entry([("a", [2, 3], struct.pack("<6f", *range(6))), ("b", [], b"\0" * 4)]),
            "negative_dim.feat": cache_entry([("a", [-1, 3], b"")]),
            "wrapping_dims.feat": cache_entry([("a", [2**24] * 8, b"")]),
            "claims_more_than_held.feat": cache_entry([("a", [2**13, 2**13], b"\0" * 16)]),
            "missing_tensor.feat": cache_entry([("a", [1], b"\0" * 4)])[:-4],
        },
    }
    for kind, files in seeds.items():
        os.makedirs(os.path.join(out, kind), exist_ok=True)
        for name, content in files.items():
            with open(os.path.join(out, kind, name), "wb") as f:
                f.write(content)


if __name__ == "__main__":
    main()
