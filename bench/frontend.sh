#!/usr/bin/env bash
# Front-end benchmark, mpjudge vs its Python peer (bench/frontend_peer.py) in the same run, on the same
# inputs, with the same thread count. usage: bench/frontend.sh [THREADS] [RUNS]
# Music: the first 30 s of a real recording (../shared/data when present, else the generated example),
# as Ogg Vorbis (decode-bound) and as 16-bit WAV (the same audio, decode nearly free).
# Painting: a real painting (../shared/data when present, else the generated example).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
runs=${2:-20}
[ -x build/bench_frontend ] || scripts/build.sh >/dev/null
music=../shared/data/music/librosa/Kevin_MacLeod_-_Vibe_Ace.hq.ogg
painting=../shared/data/paintings/classics/starry_night.jpg
[ -f "$music" ] || music=build/examples/music.wav
[ -f "$painting" ] || painting=build/examples/painting.png
mkdir -p build/bench
/usr/bin/python3 - "$music" <<'PY'
import sys, soundfile as sf
x, sr = sf.read(sys.argv[1], frames=int(30 * sf.info(sys.argv[1]).samplerate), dtype="float32")
sf.write("build/bench/clip30.ogg", x, sr, format="OGG", subtype="VORBIS")
sf.write("build/bench/clip30.wav", x, sr, subtype="PCM_16")
PY

run() {  # $1 = music file; prints "ours|peer" JSON pair
  local o p
  o=$(OMP_NUM_THREADS=$threads build/bench_frontend --music "$1" --painting "$painting" --threads "$threads" --runs "$runs")
  p=$(OMP_NUM_THREADS=$threads /usr/bin/python3 bench/frontend_peer.py --music "$1" --painting "$painting" --threads "$threads" --runs "$runs")
  echo "$o|$p"
}
ogg=$(run build/bench/clip30.ogg)
wav=$(run build/bench/clip30.wav)

/usr/bin/python3 - "$ogg" "$wav" "$threads" "$music" "$painting" <<'PY'
import json, sys
(o_ogg, p_ogg), (o_wav, p_wav) = [[json.loads(x) for x in a.split("|")] for a in sys.argv[1:3]]
cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t")
print(f"machine: {cpu}, {sys.argv[3]} thread(s); music: first 30 s of {sys.argv[4].split('/')[-1]}; painting: {sys.argv[5].split('/')[-1]}")
rows = [("decode+resample+log-mel, 30 s Ogg Vorbis", o_ogg, p_ogg, "audio_path_ms", 2.0),
        ("  cold (first call in the process)", o_ogg, p_ogg, "audio_path_cold_ms", None),
        ("decode+resample+log-mel, 30 s WAV", o_wav, p_wav, "audio_path_ms", 2.0),
        ("  cold (first call in the process)", o_wav, p_wav, "audio_path_cold_ms", None),
        ("log-mel only (30 s at 22.05 kHz)", o_wav, p_wav, "mel_ms", 3.0),
        ("  cold (first call in the process)", o_wav, p_wav, "mel_cold_ms", None),
        ("decode+resize+descriptors, painting", o_wav, p_wav, "painting_path_ms", 2.0),
        ("  cold (first call in the process)", o_wav, p_wav, "painting_path_cold_ms", None)]
print(f"| {'stage':42} | {'mpjudge ms':>10} | {'python ms':>10} | {'speed-up':>8} | target        |")
print(f"|{'-'*44}|{'-'*12}|{'-'*12}|{'-'*10}|---------------|")
for name, o, p, key, target in rows:
    r = p[key] / o[key]
    t = f">= {target:.0f}x {'met' if r >= target else 'MISSED'}" if target else ""
    print(f"| {name:42} | {o[key]:10.2f} | {p[key]:10.2f} | {r:7.2f}x | {t:13} |")
PY
