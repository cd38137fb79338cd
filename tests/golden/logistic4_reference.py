"""Golden reference for the 4-parameter logistic mapping (src/eval/metrics.cpp, logistic4_map): fits
mos ~ b2 + (b1 - b2) / (1 + exp(-(pred - b3) / |b4|)) with scipy.optimize.curve_fit on fixed synthetic
sets and writes pred, mos and the fitted mapping as float32 (logistic/<name>.{pred,mos,mapped}.f32).
Usage: logistic4_reference.py OUT_DIR"""
import os
import sys

import numpy as np
from scipy.optimize import curve_fit


def f(x, b1, b2, b3, b4):
    return b2 + (b1 - b2) / (1 + np.exp(-(x - b3) / np.abs(b4)))


def main():
    out = os.path.join(sys.argv[1], "logistic")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    sets = {}
    # A saturating judge: scores squeezed towards the ends, noisy.
    x = rng.uniform(0, 1, 400)
    sets["sigmoid"] = (x, 0.2 + 0.6 / (1 + np.exp(-(x - 0.45) / 0.08)) + rng.normal(0, 0.04, x.size))
    # Nearly linear: the logistic's middle.
    x = rng.uniform(0.3, 0.7, 300)
    sets["linear"] = (x, 0.1 + 0.9 * x + rng.normal(0, 0.05, x.size))
    for name, (x, y) in sets.items():
        x, y = x.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64)  # as C++ reads them
        p0 = [y.max(), y.min(), x.mean(), max(1e-3, x.std())]
        b, _ = curve_fit(f, x, y, p0=p0, maxfev=20000)
        mapped = f(x, *b)
        for suffix, v in (("pred", x), ("mos", y), ("mapped", mapped)):
            v.astype(np.float32).tofile(os.path.join(out, f"{name}.{suffix}.f32"))
        print(f"{name}: b = {np.round(b, 5).tolist()}, rmse {np.sqrt(np.mean((mapped - y) ** 2)):.5f}")


if __name__ == "__main__":
    main()
