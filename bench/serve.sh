#!/usr/bin/env bash
# Server load benchmark: `mpjudge serve` on loopback, 32 concurrent clients for 60 s POSTing the same
# (cached) music+painting pair to /v1/score. Samples the server's resident memory every second and prints
# throughput, p50/p99 latency, errors and memory (after warm-up vs the end) beside the targets.
# usage: bench/serve.sh [CLIENTS=32] [SECONDS=60] [WORKERS=0 (one per core)] [QUEUE=64]
#        MPJUDGE_BIN=path/to/mpjudge bench/serve.sh ...   another build of the server (before/after runs)
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-32}
seconds=${2:-60}
workers=${3:-0}
queue=${4:-64}
[ -x build/bench_serve_load ] || scripts/build.sh >/dev/null
work=build/bench/serve
rm -rf "$work" && mkdir -p "$work"
music=build/examples/music.wav
painting=build/examples/painting.png
"${MPJUDGE_BIN:-build/mpjudge}" serve --port 0 --model models/default.mpjc --web-dir web --workers "$workers" --queue "$queue" --work-dir "$work/work" --cache-dir "$work/cache" \
  >"$work/server.out" 2>"$work/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.out" | head -1)
# Warm-up: the first request computes features and maps; then 30 s of the same load, in which the
# connection threads, their request buffers (32 x the 6.6 MB upload) and the allocator reach steady state.
curl -s -o /dev/null -F music=@$music -F painting=@$painting "http://127.0.0.1:$port/v1/score"
build/bench_serve_load "$port" "$music" "$painting" "$clients" 30 >/dev/null
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
rss_start=$(rss)
( while kill -0 $pid 2>/dev/null; do echo "$(date +%s) $(rss)"; sleep 1; done ) >"$work/rss.txt" &
sampler=$!
result=$(build/bench_serve_load "$port" "$music" "$painting" "$clients" "$seconds")
kill $sampler 2>/dev/null || true
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
rss_end=$(rss)
metrics=$(curl -s "http://127.0.0.1:$port/metrics" | grep -E '^mpjudge_requests_total\{route="/v1/score"' || true)
/usr/bin/python3 - "$result" "$rss_start" "$rss_end" "$hwm" "$work/rss.txt" "$workers" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); start, end, hwm = (int(x) / 1024 for x in sys.argv[2:5])
samples = [int(l.split()[1]) / 1024 for l in open(sys.argv[5]) if len(l.split()) == 2]
half = samples[len(samples) // 2:] if samples else [0]
print(f"bench/serve: {r['clients']} clients, {r['seconds']:.0f} s, /v1/score on cached media (workers {sys.argv[6] or 'auto'})")
print(f"{'metric':<34}{'measured':>14}  target")
print(f"{'throughput (req/s)':<34}{r['rps']:>14.2f}  -")
print(f"{'latency p50 (ms)':<34}{r['p50_ms']:>14.1f}  -")
print(f"{'latency p99 (ms)':<34}{r['p99_ms']:>14.1f}  -")
print(f"{'requests ok':<34}{r['ok']:>14d}  -")
print(f"{'errors (non-200 + failed)':<34}{r['errors']:>14d}  0")
print(f"{'RSS after warm-up (MiB)':<34}{start:>14.1f}  -")
print(f"{'RSS at end (MiB)':<34}{end:>14.1f}  flat: within 5% of the value after warm-up")
print(f"{'RSS range, 2nd half (MiB)':<34}{min(half):>6.1f}-{max(half):<7.1f}  -")
print(f"{'peak RSS VmHWM (MiB)':<34}{hwm:>14.1f}  -")
ok = r["errors"] == 0 and end <= start * 1.05
print("targets:", "met" if ok else "MISSED")
PY
echo "$metrics"
