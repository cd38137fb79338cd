#!/usr/bin/python3
"""Generates the example inputs the README's first command runs on, into OUTDIR (default build/examples):
  music.mid / music.wav  a 24-bar waltz in G major for piano and strings (rendered with fluidsynth and
                         the TimGM6mb General MIDI soundfont from Debian)
  painting.png           a 768x512 abstract composition (circles, lines, triangles on a warm ground)
Everything is synthesised here (no downloaded media); deterministic for a given seed.
usage: make_examples.py [OUTDIR]
"""
import math
import os
import random
import struct
import subprocess
import sys

from PIL import Image, ImageDraw

SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def varlen(v):
    out = [v & 0x7F]
    while v > 0x7F:
        v >>= 7
        out.append(0x80 | (v & 0x7F))
    return bytes(reversed(out))


def write_midi(path, bpm=132):
    """Format-0 MIDI: melody (piano, ch 0) over an oom-pah-pah accompaniment (strings, ch 1)."""
    tpq = 480
    scale = [0, 2, 4, 5, 7, 9, 11]
    chords = [[0, 4, 7], [5, 9, 12], [7, 11, 14], [0, 4, 7]]  # I IV V I in G (offset from G)
    tonic = 55  # G3
    rnd = random.Random(7)
    events = []  # (tick, bytes)
    degree = 4
    for bar in range(24):
        chord = chords[(bar // 2) % 4]
        t0 = bar * 3 * tpq
        events.append((t0, bytes([0x91, tonic - 12 + chord[0], 70])))
        events.append((t0 + tpq - 40, bytes([0x81, tonic - 12 + chord[0], 0])))
        for beat in (1, 2):
            for k in chord:
                events.append((t0 + beat * tpq, bytes([0x91, tonic + k, 55])))
                events.append((t0 + beat * tpq + tpq - 60, bytes([0x81, tonic + k, 0])))
        for beat in range(3):
            degree = max(0, min(9, degree + rnd.choice([-2, -1, 1, 1, 2])))
            note = tonic + 12 + 12 * (degree // 7) + scale[degree % 7]
            events.append((t0 + beat * tpq, bytes([0x90, note, 96 if beat == 0 else 80])))
            events.append((t0 + beat * tpq + tpq - 30, bytes([0x80, note, 0])))
    events.sort(key=lambda e: e[0])
    us = int(60e6 / bpm)
    track = b"\x00\xff\x51\x03" + us.to_bytes(3, "big") + b"\x00\xc0\x00\x00\xc1\x30"
    last = 0
    for tick, data in events:
        track += varlen(tick - last) + data
        last = tick
    track += varlen(tpq * 2) + b"\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(track)) + track)


def make_painting(path, seed=3):
    rnd = random.Random(seed)
    w, h = 768, 512
    img = Image.new("RGB", (w, h), (236, 220, 180))
    d = ImageDraw.Draw(img, "RGBA")
    for y in range(h):  # a soft vertical gradient ground
        c = int(236 - 40 * y / h)
        d.line([(0, y), (w, y)], fill=(c, c - 16, c - 60))
    palette = [(220, 60, 40), (30, 70, 160), (240, 190, 40), (20, 20, 20), (60, 150, 90), (150, 60, 150)]
    for _ in range(7):
        r = rnd.randint(20, 110)
        x, y = rnd.randint(r, w - r), rnd.randint(r, h - r)
        d.ellipse([x - r, y - r, x + r, y + r], fill=palette[rnd.randrange(6)] + (200,), outline=(20, 20, 20, 255), width=3)
    for _ in range(9):
        x0, y0 = rnd.randint(0, w), rnd.randint(0, h)
        a = rnd.uniform(0, math.pi)
        L = rnd.randint(120, 420)
        d.line([(x0, y0), (x0 + L * math.cos(a), y0 + L * math.sin(a))], fill=(15, 15, 15, 255), width=rnd.randint(2, 7))
    for _ in range(4):
        pts = [(rnd.randint(0, w), rnd.randint(0, h)) for _ in range(3)]
        d.polygon(pts, fill=palette[rnd.randrange(6)] + (170,))
    img.save(path)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/examples"
    os.makedirs(out, exist_ok=True)
    mid, wav, png = (os.path.join(out, n) for n in ("music.mid", "music.wav", "painting.png"))
    if not os.path.exists(png):
        make_painting(png)
    if not os.path.exists(wav):
        write_midi(mid)
        tmp = wav + ".tmp.wav"
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.7", "-F", tmp, "-r", "44100", SOUNDFONT, mid],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.replace(tmp, wav)  # atomic: no half-rendered example is ever left behind
    print(f"examples: {wav} {png}")


if __name__ == "__main__":
    main()
