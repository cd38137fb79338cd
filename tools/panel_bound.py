# A diagnostic for MPD-Open: how well does the reference panel's own latent score predict the MOS of a split
# (a) with the music's valence/arousal from media.csv (the vgmidi human labels the panel used) and (b) with
# valence/arousal estimated from the audio descriptors by the panel's own estimator, i.e. what a judge that
# learned the panel's formulas exactly but hears only audio reaches with that estimator. Mirrors
# src/corpus/panel.cpp (keep the two in step); descriptors come from `mpjudge describe`.
# usage: /usr/bin/python3 tools/panel_bound.py CORPUS_DIR build/mpjudge [SPLIT]   (about 1.5 min for test)
import csv, json, math, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
import torch


def spearmanr(a, b):  # tie-averaged ranks, Pearson of the ranks
    def rank(x):
        t = torch.tensor(x, dtype=torch.float64); o = t.argsort(); r = torch.empty_like(t)
        r[o] = torch.arange(len(x), dtype=torch.float64)
        # average ties
        vals = {}
        for i, v in enumerate(x): vals.setdefault(v, []).append(i)
        for idx in vals.values():
            if len(idx) > 1: r[idx] = r[idx].mean()
        return r
    ra, rb = rank(a), rank(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return (float((ra * rb).sum() / (ra.norm() * rb.norm())),)
root = sys.argv[1]; binp = sys.argv[2]; split_name = sys.argv[3] if len(sys.argv) > 3 else 'test'
split = json.load(open(root + '/split.json'))['pairs']
pairs = [r for r in csv.DictReader(open(root + '/pairs.csv')) if split.get(r['pair_id']) == split_name]
media = {r['path']: r for r in csv.DictReader(open(root + '/media.csv'))}
musics = sorted({p['music'] for p in pairs}); paints = sorted({p['painting'] for p in pairs})
def desc(kind, f):
    out = subprocess.run([binp, 'describe', '--' + kind, root + '/' + f, '--json'], capture_output=True, text=True, check=True).stdout
    j = json.loads(out); return j.get(kind, j)
with ThreadPoolExecutor(1) as ex:
    md = dict(zip(musics, ex.map(lambda f: desc('music', f), musics)))
    pd = dict(zip(paints, ex.map(lambda f: desc('painting', f), paints)))
sq = math.tanh; cl = lambda x: max(-1.0, min(1.0, x))
def music(d, va):
    major = d['mode'] == 'major'
    if va is None:
        mode = (1 if major else -1) * max(0.0, min(1.0, d['key_strength']))
        v = cl(0.55 * mode + 0.3 * sq((d['tempo_bpm'] - 100) / 40) + 0.15 * sq((d['spectral_centroid_hz'] - 1500) / 1000))
        a = cl(0.4 * sq((d['tempo_bpm'] - 100) / 40) + 0.3 * sq((d['loudness_lufs'] + 23) / 8) + 0.3 * sq((d['onset_rate_hz'] - 3) / 2))
    else:
        v, a = va
    return dict(d, major=major, v=v, a=a)
def painting(d):
    e = d['emotion']
    v = cl(1.2 * (e['happy'] - e['sad']) + 0.3 * sq((d['lightness'] - 55) / 20) + 0.2 * sq(d['b'] / 25))
    a = cl(1.0 * (e['angry'] + 0.2) + 0.4 * sq((d['chroma'] - 25) / 15) + 0.3 * sq((d['contrast'] - 20) / 10))
    return dict(d, v=v, a=a)
W = [0.9, 0.7, 0.45, 0.35, 0.3, 0.45, 0.4]
def latent(m, p):
    t = [1 - abs(m['v'] - p['v']), 1 - abs(m['a'] - p['a'])]
    fm = sq((m['tempo_bpm'] - 100) / 40) + (0.5 if m['major'] else -0.5)
    ly = sq((p['lightness'] - 55) / 20) + 0.5 * sq(p['b'] / 25)
    t.append(sq(fm * ly))
    loud = sq((m['loudness_lufs'] + 23) / 8) + 0.5 * m['a']
    rs = sq(p['a'] / 20) + sq((p['chroma'] - 25) / 15)
    t.append(sq(loud * rs))
    t.append(sq(sq((m['pitch_height'] - 66) / 10) * sq((p['lightness'] - 55) / 20) * 2))
    t.append(sq(2 * sq((m['onset_rate_hz'] - 3) / 2) * sq((p['edge_density'] - 0.08) / 0.05)))
    t.append(sq(2 * sq((m['spectral_centroid_hz'] - 1500) / 800) * sq((p['angularity'] - 0.2) / 0.15)))
    return sum(w * x for w, x in zip(W, t))
mos = [float(p['score']) for p in pairs]
P = {f: painting(pd[f]) for f in paints}
lab = {f: (float(media[f]['valence']), float(media[f]['arousal'])) for f in musics}
human = [latent(music(md[p['music']], lab[p['music']]), P[p['painting']]) for p in pairs]
est = [latent(music(md[p['music']], None), P[p['painting']]) for p in pairs]
n_h = sum(media[f]['va_from'] != 'estimate' for f in musics)
print(json.dumps({'split': split_name, 'pairs': len(pairs), 'music': len(musics), 'music_with_human_va': n_h,
                  'srcc_latent_true_va': round(spearmanr(human, mos)[0], 4),
                  'srcc_latent_estimated_va': round(spearmanr(est, mos)[0], 4)}))
