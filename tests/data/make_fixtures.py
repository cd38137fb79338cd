#!/usr/bin/python3
"""Generates the tiny committed test fixtures in tests/data (good media) and tests/data/bad (malformed).

Run with Debian's python3 (numpy, soundfile, PIL). Deterministic: the same bytes on every run, except
the Vorbis/MP3 encoders, which are deterministic for a given libsndfile build. Re-run only to change the
fixtures; the tests read the committed files.
"""
import io
import os
import struct
import zlib

import numpy as np
import soundfile as sf
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, "bad")
rng = np.random.default_rng(1234)


def sine(freq, dur, sr, amp=0.5):
    t = np.arange(int(round(dur * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chord(dur, sr):
    x = sum(sine(f, dur, sr, 0.2) for f in (261.63, 329.63, 392.0))
    return (x + 0.01 * rng.standard_normal(len(x))).astype(np.float32)


def good_audio():
    tone = sine(440, 1.0, 44100)
    sf.write(os.path.join(HERE, "tone440_stereo_44k.wav"), np.stack([tone, tone], 1), 44100, subtype="PCM_16")
    c = chord(1.5, 22050)
    sf.write(os.path.join(HERE, "chord_22k.flac"), c, 22050, subtype="PCM_16")
    sf.write(os.path.join(HERE, "chord_22k.ogg"), c, 22050, format="OGG", subtype="VORBIS")
    sf.write(os.path.join(HERE, "chord_44k.mp3"), chord(1.5, 44100), 44100, format="MP3", subtype="MPEG_LAYER_III")
    # Golden log-mel input: two tones, a chirp and noise, 2 s at 22.05 kHz.
    sr, dur = 22050, 2.0
    t = np.arange(int(sr * dur)) / sr
    chirp = 0.2 * np.sin(2 * np.pi * (100 * t + 0.5 * (4000 - 100) / dur * t * t))
    x = sine(220, dur, sr, 0.3) + sine(1760, dur, sr, 0.1) + chirp + 0.02 * rng.standard_normal(len(t))
    sf.write(os.path.join(HERE, "mel_input_22k.wav"), x.astype(np.float32), sr, subtype="FLOAT")


def good_images():
    y, x = np.mgrid[0:32, 0:32]
    img = np.stack([x * 8, y * 8, (x + y) * 4], -1).astype(np.uint8)
    Image.fromarray(img).save(os.path.join(HERE, "gradient_32.png"))
    Image.fromarray(img).save(os.path.join(HERE, "gradient_32.webp"), lossless=True)
    Image.fromarray(img).save(os.path.join(HERE, "gradient_32.tiff"))
    Image.fromarray(img).save(os.path.join(HERE, "gradient_32.bmp"))
    Image.fromarray(img).save(os.path.join(HERE, "gradient_32.jpg"), quality=95)
    # 40 wide x 20 high as stored: left half red, right half blue. EXIF orientation 6 means "rotate 90
    # degrees clockwise to display": displayed it is 20 wide x 40 high, red on top, blue below.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(os.path.join(HERE, "exif_rotate90.jpg"), quality=95, exif=exif.tobytes())


def encoder_images():
    """224x224 inputs for the MobileNetV2 golden test: an abstract composition and a textured field."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("ex", os.path.join(HERE, "../../scripts/make_examples.py"))
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    tmp = os.path.join(HERE, "_tmp_painting.png")
    ex.make_painting(tmp, seed=11)
    Image.open(tmp).convert("RGB").resize((224, 224), Image.BOX).save(os.path.join(HERE, "painting_224_a.png"))
    os.remove(tmp)
    y, x = np.mgrid[0:224, 0:224] / 223.0
    img = np.stack([np.sin(6 * x + 2 * y), np.cos(5 * y - x), x * y], -1)
    img = (img - img.min()) / (img.max() - img.min())
    img = img * 0.85 + 0.15 * np.random.default_rng(99).random((224, 224, 3))  # own stream: other fixtures keep theirs
    Image.fromarray((img * 255).astype(np.uint8)).save(os.path.join(HERE, "painting_224_b.png"))


def pitch_clip():
    """3 s at 22.05 kHz for the basic-pitch golden test: decaying harmonic tones A4, then C5+E5, then G3."""
    sr = 22050
    t = np.arange(sr) / sr
    def tone(midi):
        f = 440.0 * 2 ** ((midi - 69) / 12)
        return sum(0.5 ** h * np.sin(2 * np.pi * f * (h + 1) * t) for h in range(5)) * np.exp(-2.5 * t)
    x = np.concatenate([tone(69), 0.6 * (tone(72) + tone(76)), tone(55)]) * 0.3
    sf.write(os.path.join(HERE, "pitch_3s_22k.wav"), x.astype(np.float32), sr, subtype="PCM_16")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(w, h, raw_rows):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw_rows)) +
            png_chunk(b"IEND", b""))


def bad(name, data):
    with open(os.path.join(BAD, name), "wb") as f:
        f.write(data)


def bad_files():
    os.makedirs(BAD, exist_ok=True)
    wav = io.BytesIO()
    sf.write(wav, sine(440, 1.0, 22050), 22050, format="WAV", subtype="PCM_16")
    wav = wav.getvalue()
    flac = open(os.path.join(HERE, "chord_22k.flac"), "rb").read()
    ogg = open(os.path.join(HERE, "chord_22k.ogg"), "rb").read()
    mp3 = open(os.path.join(HERE, "chord_44k.mp3"), "rb").read()
    png = open(os.path.join(HERE, "gradient_32.png"), "rb").read()
    jpg = open(os.path.join(HERE, "gradient_32.jpg"), "rb").read()

    bad("empty.wav", b"")
    bad("truncated.wav", wav[: len(wav) * 3 // 10])
    bad("truncated.flac", flac[: len(flac) * 4 // 10])
    bad("truncated.ogg", ogg[: len(ogg) // 2])
    bad("truncated.mp3", mp3[: len(mp3) // 3])
    bad("corrupt.ogg", b"OggS" + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    bad("corrupt.flac", b"fLaC" + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    bad("png_named.wav", png)
    bad("text_named.mp3", b"This is not music, it is a note to self.\n" * 20)
    bad("song.mid", b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xff\x2f\x00")
    silent = io.BytesIO()
    sf.write(silent, np.zeros(44100, np.float32), 22050, format="WAV", subtype="PCM_16")
    bad("silent.wav", silent.getvalue())
    short = io.BytesIO()
    sf.write(short, sine(440, 0.2, 22050), 22050, format="WAV", subtype="PCM_16")
    bad("too_short.wav", short.getvalue())
    zero = io.BytesIO()
    sf.write(zero, np.zeros(0, np.float32), 22050, format="WAV", subtype="PCM_16")
    bad("zero_frames.wav", zero.getvalue())
    nan = sine(440, 1.5, 22050)
    nan[1000] = np.nan
    nanf = io.BytesIO()
    sf.write(nanf, nan, 22050, format="WAV", subtype="FLOAT")
    bad("nan.wav", nanf.getvalue())

    bad("empty.png", b"")
    bad("truncated.png", png[: len(png) // 2])
    bad("truncated.jpg", jpg[: len(jpg) // 2])
    bad("corrupt.jpg", jpg[:200] + rng.integers(0, 256, 1500, dtype=np.uint8).tobytes() + b"\xff\xd9")
    # A decompression bomb: the header claims 100000 x 100000 pixels; the data is a few bytes.
    bad("huge.png", png_bytes(100000, 100000, b"\x00" * 64))
    bad("zero_size.png", png_bytes(0, 0, b""))
    bad("animation.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
        b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
    bad("html_named.png", b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n")
    bad("wav_named.jpg", wav)
    bad("random.jpg", rng.integers(0, 256, 2048, dtype=np.uint8).tobytes())


if __name__ == "__main__":
    good_audio()
    good_images()
    encoder_images()
    pitch_clip()
    bad_files()
