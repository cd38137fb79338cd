"""The Python module `mpjudge` (python/mpjudge_module.cpp) against the CLI and the files it reads.

Run by CTest with Debian's python3: tests/test_python.py BUILD_DIR MPJUDGE_BINARY TEST_DATA TMP.
torch is imported first on purpose: the module must work with Debian's python3-torch in the process.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import unittest
import warnings

import torch  # noqa: F401  (first, on purpose)
import torchaudio
import numpy as np
import soundfile as sf
from PIL import Image

BUILD, BINARY, DATA, TMP = sys.argv[1:5]
del sys.argv[1:5]
sys.path.insert(0, os.path.join(BUILD, "python"))
import mpjudge  # noqa: E402

MUSIC = os.path.join(DATA, "pitch_3s_22k.wav")
STEREO = os.path.join(DATA, "tone440_stereo_44k.wav")
PAINT_A = os.path.join(DATA, "painting_224_a.png")
PAINT_B = os.path.join(DATA, "painting_224_b.png")
CACHE = os.path.join(TMP, "cache")


def cli(*args):
    env = dict(os.environ, MPJUDGE_CACHE=CACHE)
    out = subprocess.run([BINARY, *args, "--json"], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise AssertionError(f"{args}: exit {out.returncode}: {out.stderr}")
    return json.loads(out.stdout)


class ModuleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)
        os.makedirs(TMP)
        cls.judge = mpjudge.Scorer(cache_dir=CACHE)

    def test_score_of_files_is_the_clis(self):
        r = self.judge.score(MUSIC, PAINT_A)
        c = cli("score", "--music", MUSIC, "--painting", PAINT_A)
        self.assertAlmostEqual(r.score, c["score"], places=4)
        self.assertTrue(0.0 <= r.score <= 1.0)
        self.assertEqual(float(r), r.score)
        with open(mpjudge.default_model_path(), "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(r.model_sha256, sha)
        self.assertEqual(c["model_sha256"], sha)
        self.assertEqual(r.model_version, c["model_version"])
        self.assertEqual(self.judge.model_sha256, sha)
        # the percentile is where the score sits among the model's reference scores, or None without them
        if self.judge.reference:
            self.assertTrue(0.0 <= r.percentile <= 100.0)
            self.assertAlmostEqual(r.percentile, c["percentile"], places=1)
        else:
            self.assertIsNone(r.percentile)
        self.assertEqual(set(r.maps), {"block_12_add", "block_16_project_BN"})
        self.assertEqual(r.maps["block_12_add"].shape, (14, 14))
        self.assertEqual(r.maps["block_12_add"].dtype, np.float32)
        self.assertTrue(np.isfinite(r.maps["block_16_project_BN"]).all())

    def test_arrays_in_memory_score_as_their_files(self):
        want = self.judge.score(STEREO, PAINT_A).score
        x, sr = sf.read(STEREO, dtype="float32")  # (samples, channels), 44.1 kHz
        pixels = np.asarray(Image.open(PAINT_A).convert("RGB"))
        self.assertEqual(x.ndim, 2)
        for music in [(x, sr), (x.T.copy(), sr), (sf.read(STEREO, dtype="int16")[0], sr)]:
            self.assertAlmostEqual(self.judge.score(music, pixels).score, want, places=5)
        self.assertAlmostEqual(self.judge.score(x, PAINT_A, sample_rate=sr).score, want, places=5)
        w, wsr = torchaudio.load(STEREO)  # a torch tensor (channels, samples)
        self.assertAlmostEqual(self.judge.score((w, wsr), PAINT_A).score, want, places=5)
        grey = np.asarray(Image.open(PAINT_A).convert("L"))
        rgba = np.asarray(Image.open(PAINT_A).convert("RGBA"))
        g = self.judge.score(STEREO, np.repeat(grey[:, :, None], 3, axis=2)).score
        self.assertAlmostEqual(self.judge.score(STEREO, grey).score, g, places=6)
        self.assertAlmostEqual(self.judge.score(STEREO, rgba).score, want, places=5)

    def test_rank_batch_and_summary(self):
        a = self.judge.score(MUSIC, PAINT_A).score
        b = self.judge.score(MUSIC, PAINT_B).score
        ranked = self.judge.rank(MUSIC, [PAINT_A, np.asarray(Image.open(PAINT_B).convert("RGB"))])
        self.assertEqual([e["index"] for e in ranked], [0, 1] if a >= b else [1, 0])
        by_index = {e["index"]: e for e in ranked}
        self.assertEqual(by_index[0]["painting"], PAINT_A)
        self.assertIsNone(by_index[1]["painting"])
        self.assertAlmostEqual(by_index[1]["score"], b, places=5)
        self.assertEqual(len(self.judge.rank(MUSIC, [PAINT_A, PAINT_B], top_k=1)), 1)

        bad = os.path.join(TMP, "not_an_image.png")
        with open(bad, "w") as f:
            f.write("text")
        with self.assertRaises(mpjudge.InputError):
            self.judge.rank(MUSIC, [PAINT_A, bad])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kept = self.judge.rank(MUSIC, [PAINT_A, bad], skip_unreadable=True)
        self.assertEqual([e["index"] for e in kept], [0])
        self.assertTrue(any("not_an_image.png" in str(w.message) for w in caught))

        pairs = [(MUSIC, PAINT_A), (MUSIC, PAINT_B), (MUSIC, bad), (MUSIC, PAINT_A)]
        got = self.judge.score_batch(pairs, on_error="nan")
        self.assertEqual(got.dtype, np.float64)
        np.testing.assert_allclose(got[[0, 1, 3]], [a, b, a], atol=1e-6)
        self.assertTrue(np.isnan(got[2]))
        with self.assertRaisesRegex(mpjudge.InputError, "pair 2: .*not_an_image.png"):
            self.judge.score_batch(pairs)
        with self.assertRaises(mpjudge.UsageError):
            self.judge.score_batch(pairs, on_error="ignore")

        s = mpjudge.summarise(got)  # NaN left out
        v = got[~np.isnan(got)]
        self.assertEqual(s["n"], 3)
        self.assertAlmostEqual(s["mean"], v.mean(), places=12)
        self.assertAlmostEqual(s["median"], float(np.median(v)), places=12)
        self.assertAlmostEqual(s["sd"], v.std(ddof=1), places=12)
        self.assertAlmostEqual(s["percentiles"][25], float(np.percentile(v, 25)), places=12)
        lo, hi = s["ci95"]
        self.assertTrue(v.min() <= lo <= s["mean"] <= hi <= v.max())
        self.assertEqual(mpjudge.summarise(got), s)  # seeded

    def test_descriptors_are_the_clis(self):
        m = mpjudge.describe_music(MUSIC)
        c = cli("describe", "--music", MUSIC)
        self.assertEqual(m["tempo_bpm"], c["tempo_bpm"])
        self.assertEqual(m["key"], c["key"])
        x, sr = sf.read(MUSIC, dtype="float32")
        self.assertAlmostEqual(mpjudge.describe_music((x, sr))["loudness_lufs"], m["loudness_lufs"], places=3)
        p = mpjudge.describe_painting(PAINT_A)
        self.assertEqual(p, cli("describe", "--painting", PAINT_A))
        self.assertEqual(mpjudge.describe_painting(np.asarray(Image.open(PAINT_A).convert("RGB"))), p)

    def test_errors_become_exceptions_by_kind(self):
        with self.assertRaises(mpjudge.InputError) as e:
            self.judge.score(os.path.join(TMP, "missing.wav"), PAINT_A)
        self.assertIn("missing.wav", str(e.exception))
        self.assertEqual(e.exception.exit_code, 3)
        self.assertIsInstance(e.exception, mpjudge.Error)
        with self.assertRaises(mpjudge.InputError):  # silence
            self.judge.score((np.zeros(22050 * 2, np.float32), 22050), PAINT_A)
        with self.assertRaises(mpjudge.InputError):  # NaN samples
            self.judge.score((np.full(22050 * 2, np.nan, np.float32), 22050), PAINT_A)
        with self.assertRaisesRegex(ValueError, "uint8"):  # UsageError is a ValueError
            self.judge.score(MUSIC, np.zeros((8, 8, 3), np.float32))
        with self.assertRaisesRegex(mpjudge.UsageError, "sample rate"):
            self.judge.score(np.zeros(100, np.float32), PAINT_A)
        with self.assertRaises(mpjudge.UsageError):
            self.judge.score(MUSIC, np.zeros((8, 8, 2), np.uint8))
        broken = os.path.join(TMP, "broken.mpjc")
        with open(broken, "wb") as f:
            f.write(b"MPJCKPT\0garbage")
        with self.assertRaises(mpjudge.ModelError):
            mpjudge.Scorer(broken)

    def test_threads_share_one_scorer(self):
        want = self.judge.score(MUSIC, PAINT_B).score
        got = []
        threads = [threading.Thread(target=lambda: got.append(self.judge.score(MUSIC, PAINT_B).score))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(got, [want] * 4)


if __name__ == "__main__":
    unittest.main(verbosity=2)
