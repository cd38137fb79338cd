#!/usr/bin/python3
"""Judging benchmark driver (bench/judge.sh): mpjudge against its Python peer (bench/judge_peer.py), in one
run, on the same files, each row a fresh process whose wall time and peak RSS (wait4's ru_maxrss, the
whole process: interpreter or libtorch start-up included) are measured here.

Rows (targets from the speed issue, for the shipped default model):
  new pair, cold process        mpjudge score --no-cache  vs  peer score          target: >= 2x peer (wall)
  cached pair, cold process     mpjudge score (warm cache) vs peer score --cache (warm)
  rank 1 x 1000, cached         mpjudge rank (warm cache)  vs peer rank --cache (warm)  target: >= 300 pairs/s
  rank 1 x 1000 new paintings   mpjudge rank (empty cache) vs peer rank --cache (empty)
  batch of 200 new pairs        mpjudge score --pairs (empty cache) vs peer batch (one process)  target: >= peer
  peak RSS: target <= the peer's in each row.
usage: judge_bench.py WORK_DIR MPJUDGE MODEL [--quick]"""
import json
import os
import shutil
import subprocess
import sys
import time

work, binary, model = sys.argv[1:4]
quick = "--quick" in sys.argv
peer = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "judge_peer.py")]
music = os.path.join(work, "music.ogg")
gallery = os.path.join(work, "gallery")
pairs = os.path.join(work, "pairs.csv")
painting = os.path.join(gallery, sorted(os.listdir(gallery))[0])
n_gallery = len(os.listdir(gallery))
with open(pairs) as f:
    n_pairs = sum(1 for _ in f) - 1


def run(cmd):
    """Wall seconds and peak RSS (MiB) of one fresh process; fails loudly on a non-zero exit."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"judge bench: {' '.join(cmd)} failed ({os.waitstatus_to_exitcode(status)}): {err.decode()[-500:]}")
    return wall, ru.ru_maxrss / 1024.0, out.decode()


def fresh(name):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def best_of(n, make_cmd, prepare=None):
    """The fastest of n runs (and its RSS): the run least disturbed by the rest of the machine."""
    runs = []
    for _ in range(n):
        if prepare:
            prepare()
        runs.append(run(make_cmd()))
    return min(runs, key=lambda r: r[0])


ours = [binary]
m = ["--model", model]
rows = []
reps = 1 if quick else 3

# new pair, cold process: nothing cached on either side
rows.append(("new pair, cold process", 1,
             best_of(reps, lambda: ours + ["score", "--music", music, "--painting", painting, "--no-cache"] + m),
             best_of(reps, lambda: peer + ["score", music, painting])))

# cached pair, cold process: a warm cache on both sides
oc, pc = fresh("cache_ours_pair"), fresh("cache_peer_pair")
run(ours + ["score", "--music", music, "--painting", painting, "--cache-dir", oc] + m)
run(peer + ["score", music, painting, "--cache", pc])
rows.append(("cached pair, cold process", 1,
             best_of(reps, lambda: ours + ["score", "--music", music, "--painting", painting, "--cache-dir", oc] + m),
             best_of(reps, lambda: peer + ["score", music, painting, "--cache", pc])))

# rank 1 x N new paintings (empty caches, which they fill), then the same ranking cached
oc, pc = fresh("cache_ours_rank"), fresh("cache_peer_rank")
new_ours = run(ours + ["rank", "--music", music, "--paintings", gallery, "--top", "0", "--cache-dir", oc] + m)
new_peer = run(peer + ["rank", music, gallery, "--cache", pc])
rows.append((f"rank 1 x {n_gallery}, cached", n_gallery,
             best_of(reps, lambda: ours + ["rank", "--music", music, "--paintings", gallery, "--top", "0",
                                           "--cache-dir", oc] + m),
             best_of(reps, lambda: peer + ["rank", music, gallery, "--cache", pc])))
rows.append((f"rank 1 x {n_gallery} new paintings", n_gallery, new_ours, new_peer))

# a batch of new pairs: one process each side, nothing cached
oc = fresh("cache_ours_batch")
rows.append((f"batch of {n_pairs} new pairs", n_pairs,
             run(ours + ["score", "--pairs", pairs, "--out", os.path.join(work, "batch.jsonl"), "--cache-dir", oc] + m),
             run(peer + ["batch", pairs])))

print(f"judging benchmark: {binary} ({model}) vs bench/judge_peer.py; {os.cpu_count()} cores; best of {reps} for "
      "the repeated rows")
print()
print("| row | mpjudge wall | peer wall | mpjudge pairs/s | peer pairs/s | speed ratio (mpjudge / peer) "
      "| mpjudge peak RSS | peer peak RSS | RSS ratio |")
print("|---|---|---|---|---|---|---|---|---|")
summary = []
for name, n, (ow, orss, _), (pw, prss, _) in rows:
    print(f"| {name} | {ow:.2f} s | {pw:.2f} s | {n / ow:.1f} | {n / pw:.1f} | {pw / ow:.2f}x | {orss:.0f} MiB "
          f"| {prss:.0f} MiB | {orss / prss:.2f} |")
    summary.append(dict(row=name, pairs=n, ours_s=ow, peer_s=pw, ours_rss_mib=orss, peer_rss_mib=prss))
with open(os.path.join(work, "judge_bench.json"), "w") as f:
    json.dump(summary, f, indent=1)
