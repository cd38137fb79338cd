#!/usr/bin/python3
"""Encoder benchmark (Python peer): torchvision's MobileNetV2 in eager PyTorch (Debian python3-torch,
python3-torchvision), no_grad, batch 1, 224x224 - what a researcher would run. Weights are random
(timing does not depend on them; no download). usage: encoders_peer.py [THREADS] [RUNS] -> one JSON line"""
import json
import sys
import time

t_start = time.perf_counter()
import torch  # noqa: E402
import torchvision  # noqa: E402

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
torch.set_num_threads(threads)
t0 = time.perf_counter()
net = torchvision.models.mobilenet_v2().eval()
load = (time.perf_counter() - t0) * 1e3
x = torch.rand(1, 3, 224, 224)
with torch.no_grad():
    t0 = time.perf_counter()
    net(x)
    cold = (time.perf_counter() - t0) * 1e3
    warm = []
    for _ in range(runs):
        t0 = time.perf_counter()
        net(x)
        warm.append((time.perf_counter() - t0) * 1e3)
warm.sort()
print(json.dumps(dict(mobilenet_load_ms=load, mobilenet_cold_ms=cold, mobilenet_warm_ms=warm[len(warm) // 2])))
