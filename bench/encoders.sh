#!/usr/bin/env bash
# Encoder benchmark: mpjudge's libtorch ports vs the tfjs reference in Node (pure-JS CPU backend) and,
# for MobileNetV2, torchvision in Python eager; same thread count, one run, ratios printed.
# usage: bench/encoders.sh [THREADS] [RUNS]
# Music: the first 30 s of a real recording (../shared/data when present, else the example music).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
runs=${2:-20}
[ -x build/bench_encoders ] || scripts/build.sh >/dev/null
music=../shared/data/music/librosa/Kevin_MacLeod_-_Vibe_Ace.hq.ogg
[ -f "$music" ] || music=build/examples/music.wav
mkdir -p build/bench
/usr/bin/python3 - "$music" <<'PY'
import sys, numpy as np, soundfile as sf
info = sf.info(sys.argv[1])
x, sr = sf.read(sys.argv[1], frames=int(30 * info.samplerate), dtype="float32")
x = x.mean(1) if x.ndim > 1 else x
sf.write("build/bench/clip30_src.wav", x, sr, subtype="FLOAT")
PY
# Both sides get the same 22.05 kHz PCM: resample once with mpjudge's front-end, dump raw for Node.
ours=$(OMP_NUM_THREADS=$threads build/bench_encoders --music build/bench/clip30_src.wav --threads "$threads" --runs "$runs")
/usr/bin/python3 -c "
import soundfile as sf, numpy as np, torch, torchaudio
x, sr = sf.read('build/bench/clip30_src.wav', dtype='float32')
torchaudio.functional.resample(torch.from_numpy(x), sr, 22050).numpy().astype(np.float32).tofile('build/bench/clip30_22k.f32')"
tfjs=$(node bench/encoders_tfjs.js deps/node_modules build/bench/clip30_22k.f32 5 2>/dev/null | tail -1)
peer=$(OMP_NUM_THREADS=$threads /usr/bin/python3 bench/encoders_peer.py "$threads" "$runs")

/usr/bin/python3 - "$ours" "$tfjs" "$peer" "$threads" <<'PY'
import json, sys
o, t, p = (json.loads(a) for a in sys.argv[1:4])
cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t")
print(f"machine: {cpu}; mpjudge and Python at {sys.argv[4]} thread(s); tfjs pure-JS CPU backend (1 thread); clip {o['clip_s']:.1f} s")
def row(name, key, target=None, against="t"):
    ref = t if against == "t" else p
    r = ref[key] / o[key]
    tgt = target or ""
    print(f"| {name:44} | {o[key]:10.1f} | {t.get(key, float('nan')):10.1f} | {p.get(key, float('nan')):10.1f} | {t[key] / o[key] if key in t else float('nan'):7.1f}x | {p[key] / o[key] if key in p else float('nan'):7.2f}x | {tgt:22} |")
print(f"| {'stage':44} | {'mpjudge ms':>10} | {'tfjs ms':>10} | {'python ms':>10} | {'vs tfjs':>8} | {'vs python':>8} | {'target':22} |")
print(f"|{'-'*46}|{'-'*12}|{'-'*12}|{'-'*12}|{'-'*10}|{'-'*10}|{'-'*24}|")
mw = o["mobilenet_warm_ms"]
row("MobileNetV2 224x224, warm (median)", "mobilenet_warm_ms", f"<= 30 ms: {'met' if mw <= 30 else 'MISSED'}")
row("MobileNetV2, cold: first forward in process", "mobilenet_cold_ms")
row("MobileNetV2, weights load", "mobilenet_load_ms")
bw = o["basic_pitch_warm_ms"]
print(f"| {'basic-pitch, 30 s clip, warm':44} | {bw:10.1f} | {'':>10} | {'':>10} | {t['basic_pitch_cold_ms'] / bw:7.1f}x | {'':>8} | {'':22} |")
bc = o["basic_pitch_cold_ms"]
print(f"| {'basic-pitch, 30 s clip, cold (first call)':44} | {bc:10.1f} | {t['basic_pitch_cold_ms']:10.1f} | {'':>10} | {t['basic_pitch_cold_ms'] / bc:7.1f}x | {'':>8} | {'faster than tfjs: ' + ('met' if bc < t['basic_pitch_cold_ms'] else 'MISSED'):22} |")
row("basic-pitch, weights load", "basic_pitch_load_ms")
PY
