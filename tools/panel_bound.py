# A diagnostic for MPD-Open: how well does the reference panel's own latent score predict the MOS of a split
#   (a) with the music's valence/arousal from media.csv (the vgmidi human labels the panel used);
#   (b) with valence/arousal estimated from the audio descriptors by the panel's own estimator;
#   (c) with valence/arousal from a ridge regression on the audio descriptors, fitted on the train split's
#       labelled clips (ridge strength chosen on val): what a judge that learned the panel's formulas
#       exactly, and the labels as well as a linear model of the descriptors can, would reach;
#   (d) with the human labels, but each music origin's valence and arousal sign kept with probability q and
#       flipped otherwise: how often a judge must get the sign of the labels right to reach a given SRCC.
# The panel's formulas mirror src/corpus/panel.cpp; its weights come from the binary (`mpjudge corpus panel
# --json`), and `--self-check` recomputes the binary's reference samples with the formulas below and fails
# when any differs (a CTest test runs it), so the two cannot drift apart. Descriptors come from
# `mpjudge describe`.
# usage: /usr/bin/python3 tools/panel_bound.py CORPUS_DIR build/mpjudge [SPLIT] [--cache DIR]
#        /usr/bin/python3 tools/panel_bound.py --self-check build/mpjudge
#   About 1 s per clip and painting the first time (the train clips too, for (c)); --cache keeps the
#   descriptors as JSON for the next run.
import argparse
import csv
import hashlib
import json
import math
import os
import random
import subprocess
import sys

import torch

WEIGHTS = None  # ReferencePanel::base_weights(), read from the binary by load_panel()
sq = math.tanh


def load_panel(binary):
    global WEIGHTS
    out = subprocess.run([binary, 'corpus', 'panel', '--json'], capture_output=True, text=True, check=True)
    panel = json.loads(out.stdout)
    WEIGHTS = panel['base_weights']
    return panel


def clamp1(x):
    return max(-1.0, min(1.0, x))


def spearman(a, b):
    """Pearson correlation of tie-averaged ranks."""
    def ranks(x):
        t = torch.tensor(x, dtype=torch.float64)
        r = torch.empty_like(t)
        r[t.argsort()] = torch.arange(len(x), dtype=torch.float64)
        ties = {}
        for i, v in enumerate(x):
            ties.setdefault(v, []).append(i)
        for idx in ties.values():
            if len(idx) > 1:
                r[idx] = r[idx].mean()
        return r - r.mean()
    ra, rb = ranks(a), ranks(b)
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))


def describe(binary, kind, path, cache=None):
    if cache:
        key = os.path.join(cache, hashlib.sha256((kind + ':' + os.path.abspath(path)).encode()).hexdigest() + '.json')
        if os.path.exists(key):
            return json.load(open(key))
    out = subprocess.run([binary, 'describe', '--' + kind, path, '--json'], capture_output=True, text=True, check=True)
    d = json.loads(out.stdout)
    if cache:
        os.makedirs(cache, exist_ok=True)
        with open(key + '.tmp', 'w') as f:
            json.dump(d, f)
        os.replace(key + '.tmp', key)
    return d


def panel_music(d, va):
    m = dict(d, major=d['mode'] == 'major')
    if va is None:  # panel_music()'s estimate: mode and tempo carry valence; tempo, loudness, onsets arousal
        mode = (1 if m['major'] else -1) * max(0.0, min(1.0, d['key_strength']))
        m['valence'] = clamp1(0.55 * mode + 0.3 * sq((d['tempo_bpm'] - 100) / 40) +
                              0.15 * sq((d['spectral_centroid_hz'] - 1500) / 1000))
        m['arousal'] = clamp1(0.4 * sq((d['tempo_bpm'] - 100) / 40) + 0.3 * sq((d['loudness_lufs'] + 23) / 8) +
                              0.3 * sq((d['onset_rate_hz'] - 3) / 2))
    else:
        m['valence'], m['arousal'] = clamp1(va[0]), clamp1(va[1])
    return m


def panel_painting(d):
    # 'a' stays the CIELAB a* channel; the panel's valence and arousal get their own keys.
    e = d['emotion']
    p = dict(d)
    p['valence'] = clamp1(1.2 * (e['happy'] - e['sad']) + 0.3 * sq((d['lightness'] - 55) / 20) + 0.2 * sq(d['b'] / 25))
    p['arousal'] = clamp1(1.0 * (e['angry'] + 0.2) + 0.4 * sq((d['chroma'] - 25) / 15) +
                          0.3 * sq((d['contrast'] - 20) / 10))
    return p


def terms(m, p):  # panel_terms()
    fast_major = sq((m['tempo_bpm'] - 100) / 40) + (0.5 if m['major'] else -0.5)
    light_yellow = sq((p['lightness'] - 55) / 20) + 0.5 * sq(p['b'] / 25)
    loud = sq((m['loudness_lufs'] + 23) / 8) + 0.5 * m['arousal']
    red_sat = sq(p['a'] / 20) + sq((p['chroma'] - 25) / 15)
    return [
        1 - abs(m['valence'] - p['valence']),
        1 - abs(m['arousal'] - p['arousal']),
        sq(fast_major * light_yellow),
        sq(loud * red_sat),
        sq(sq((m['pitch_height'] - 66) / 10) * sq((p['lightness'] - 55) / 20) * 2),
        sq(2 * sq((m['onset_rate_hz'] - 3) / 2) * sq((p['edge_density'] - 0.08) / 0.05)),
        sq(2 * sq((m['spectral_centroid_hz'] - 1500) / 800) * sq((p['angularity'] - 0.2) / 0.15)),
    ]


def latent(m, p):  # the base-weighted sum of the terms
    return sum(w * t for w, t in zip(WEIGHTS, terms(m, p)))


def self_check(binary):
    """Recomputes the binary's reference samples; exit 1 when the formulas here and in panel.cpp differ."""
    panel = load_panel(binary)
    worst = 0.0
    for s in panel['samples']:
        m = panel_music(s['music'], s['human_va'])
        p = panel_painting(s['painting'])
        got = [m['valence'], m['arousal'], p['valence'], p['arousal']] + terms(m, p) + [latent(m, p)]
        want = s['music_va'] + s['painting_va'] + s['terms'] + [s['latent']]
        worst = max(worst, max(abs(a - b) for a, b in zip(got, want)))
    print(f'panel_bound self-check: {len(panel["samples"])} samples, max diff {worst:.3g} against {binary}')
    return 0 if worst < 1e-9 else 1


def audio_vector(d):
    """Every scalar `mpjudge describe --music` gives, with mode as +-1 and mode x key strength."""
    mode = 1.0 if d['mode'] == 'major' else -1.0
    return [mode, mode * d['key_strength'], d['key_strength'], d['tempo_bpm'], d['tempo_confidence'],
            d['onset_rate_hz'], d['loudness_lufs'], d['loudness_range_lu'], d['spectral_centroid_hz'],
            d['pitch_height'], d['pitch_confidence'], d['rms_db'], d['dynamic_range_db']]


class Ridge:
    """Linear least squares with an L2 penalty on standardised inputs."""

    def __init__(self, x, y, lam):
        x = torch.tensor(x, dtype=torch.float64)
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-9
        a = self.design(x)
        eye = torch.eye(a.shape[1], dtype=torch.float64)
        eye[0, 0] = 0  # no penalty on the intercept
        self.w = torch.linalg.solve(a.T @ a + lam * eye, a.T @ torch.tensor(y, dtype=torch.float64))

    def design(self, x):
        return torch.cat([torch.ones(len(x), 1, dtype=torch.float64), (x - self.mu) / self.sd], 1)

    def __call__(self, x):
        return (self.design(torch.tensor(x, dtype=torch.float64)) @ self.w).clamp(-1, 1).tolist()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--self-check':
        sys.exit(self_check(sys.argv[2]))
    ap = argparse.ArgumentParser()
    ap.add_argument('corpus')
    ap.add_argument('binary')
    ap.add_argument('split', nargs='?', default='test')
    ap.add_argument('--cache', default=None, help='keep descriptors as JSON in this folder')
    args = ap.parse_args()
    load_panel(args.binary)
    root = args.corpus
    split = json.load(open(root + '/split.json'))['pairs']
    all_pairs = list(csv.DictReader(open(root + '/pairs.csv')))
    media = {r['path']: r for r in csv.DictReader(open(root + '/media.csv'))}
    music_split = {}
    for p in all_pairs:
        music_split.setdefault(p['music'], set()).add(split.get(p['pair_id']))
    pairs = [p for p in all_pairs if split.get(p['pair_id']) == args.split]
    musics = sorted({p['music'] for p in pairs})
    labelled = lambda f: media[f]['va_from'] != 'estimate'
    fit = {s: sorted(f for f, ss in music_split.items() if ss == {s} and labelled(f)) for s in ('train', 'val')}
    music_desc = {f: describe(args.binary, 'music', root + '/' + f, args.cache)
                  for f in sorted(set(musics) | set(fit['train']) | set(fit['val']))}
    paintings = {f: panel_painting(describe(args.binary, 'painting', root + '/' + f, args.cache))
                 for f in sorted({p['painting'] for p in pairs})}
    labels = {f: (float(media[f]['valence']), float(media[f]['arousal'])) for f in music_desc}
    mos = [float(p['score']) for p in pairs]

    def srcc_with(va):
        return spearman([latent(panel_music(music_desc[p['music']], va[p['music']]), paintings[p['painting']])
                         for p in pairs], mos)

    # (c) ridge on the descriptors: fitted on train, strength chosen by val sign accuracy of valence+arousal.
    vec = lambda fs: [audio_vector(music_desc[f]) for f in fs]
    lab = lambda fs: [labels[f] for f in fs]
    best = None
    for lam in (0.1, 1.0, 10.0, 100.0, 1000.0):
        r = Ridge(vec(fit['train']), lab(fit['train']), lam)
        acc = sum((a > 0) == (b > 0) for pv, t in zip(r(vec(fit['val'])), lab(fit['val'])) for a, b in zip(pv, t))
        if best is None or acc > best[0]:
            best = (acc, lam, r)
    _, lam, ridge = best
    scored = [f for f in musics if labelled(f)]
    learned = dict(zip(musics, map(tuple, ridge(vec(musics)))))
    for f in musics:
        if not labelled(f):
            learned[f] = labels[f]  # the panel itself used its estimate there; the judge can learn it exactly
    sign_acc = [sum((learned[f][k] > 0) == (labels[f][k] > 0) for f in scored) / max(1, len(scored)) for k in (0, 1)]

    # (d) sign kept with probability q per origin, 20 draws each.
    rng = random.Random(1)
    origins = sorted({media[f]['origin'] for f in scored})
    curve = {}
    for q in (0.6, 0.7, 0.8, 0.9, 0.95):
        runs = []
        for _ in range(20):
            keep = {o: (rng.random() < q, rng.random() < q) for o in origins}
            va = {f: (labels[f][0] * (1 if keep[media[f]['origin']][0] else -1),
                      labels[f][1] * (1 if keep[media[f]['origin']][1] else -1)) if labelled(f) else labels[f]
                  for f in musics}
            runs.append(srcc_with(va))
        curve[str(q)] = round(sum(runs) / len(runs), 4)

    print(json.dumps({'split': args.split, 'pairs': len(pairs), 'music': len(musics),
                      'music_with_human_va': len(scored),
                      'srcc_latent_media_va': round(srcc_with(labels), 4),
                      'srcc_latent_estimated_va': round(srcc_with({f: None for f in musics}), 4),
                      'srcc_latent_ridge_va': round(srcc_with(learned), 4),
                      'ridge': {'lambda': lam, 'train_clips': len(fit['train']), 'val_clips': len(fit['val']),
                                'sign_acc_valence': round(sign_acc[0], 3), 'sign_acc_arousal': round(sign_acc[1], 3)},
                      'srcc_latent_sign_kept_with_p': curve}))


if __name__ == '__main__':
    main()
