# A diagnostic for MPD-Open: how well does the reference panel's own latent score predict the MOS of a split
#   (a) with the music's valence/arousal from media.csv (the vgmidi human labels the panel used), and
#   (b) with valence/arousal estimated from the audio descriptors by the panel's own estimator, i.e. what a
#       judge that learned the panel's formulas exactly but hears only audio reaches with that estimator.
# Mirrors src/corpus/panel.cpp (keep the two in step); descriptors come from `mpjudge describe`.
# usage: /usr/bin/python3 tools/panel_bound.py CORPUS_DIR build/mpjudge [SPLIT]   (about 1.5 min for test)
import csv
import json
import math
import subprocess
import sys

import torch

WEIGHTS = [0.9, 0.7, 0.45, 0.35, 0.3, 0.45, 0.4]  # ReferencePanel::base_weights()
sq = math.tanh


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


def describe(binary, kind, path):
    out = subprocess.run([binary, 'describe', '--' + kind, path, '--json'], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def panel_music(d, va):
    m = dict(d, major=d['mode'] == 'major')
    if va is None:  # panel_music()'s estimate: mode and tempo carry valence; tempo, loudness, onsets arousal
        mode = (1 if m['major'] else -1) * max(0.0, min(1.0, d['key_strength']))
        m['v'] = clamp1(0.55 * mode + 0.3 * sq((d['tempo_bpm'] - 100) / 40) +
                        0.15 * sq((d['spectral_centroid_hz'] - 1500) / 1000))
        m['a'] = clamp1(0.4 * sq((d['tempo_bpm'] - 100) / 40) + 0.3 * sq((d['loudness_lufs'] + 23) / 8) +
                        0.3 * sq((d['onset_rate_hz'] - 3) / 2))
    else:
        m['v'], m['a'] = va
    return m


def panel_painting(d):
    e = d['emotion']
    p = dict(d)
    p['v'] = clamp1(1.2 * (e['happy'] - e['sad']) + 0.3 * sq((d['lightness'] - 55) / 20) + 0.2 * sq(d['b'] / 25))
    p['a'] = clamp1(1.0 * (e['angry'] + 0.2) + 0.4 * sq((d['chroma'] - 25) / 15) + 0.3 * sq((d['contrast'] - 20) / 10))
    return p


def latent(m, p):  # panel_terms() weighted by the base weights
    fast_major = sq((m['tempo_bpm'] - 100) / 40) + (0.5 if m['major'] else -0.5)
    light_yellow = sq((p['lightness'] - 55) / 20) + 0.5 * sq(p['b'] / 25)
    loud = sq((m['loudness_lufs'] + 23) / 8) + 0.5 * m['a']
    red_sat = sq(p['a'] / 20) + sq((p['chroma'] - 25) / 15)
    terms = [
        1 - abs(m['v'] - p['v']),
        1 - abs(m['a'] - p['a']),
        sq(fast_major * light_yellow),
        sq(loud * red_sat),
        sq(sq((m['pitch_height'] - 66) / 10) * sq((p['lightness'] - 55) / 20) * 2),
        sq(2 * sq((m['onset_rate_hz'] - 3) / 2) * sq((p['edge_density'] - 0.08) / 0.05)),
        sq(2 * sq((m['spectral_centroid_hz'] - 1500) / 800) * sq((p['angularity'] - 0.2) / 0.15)),
    ]
    return sum(w * t for w, t in zip(WEIGHTS, terms))


def main():
    root, binary = sys.argv[1], sys.argv[2]
    split_name = sys.argv[3] if len(sys.argv) > 3 else 'test'
    split = json.load(open(root + '/split.json'))['pairs']
    pairs = [r for r in csv.DictReader(open(root + '/pairs.csv')) if split.get(r['pair_id']) == split_name]
    media = {r['path']: r for r in csv.DictReader(open(root + '/media.csv'))}
    musics = sorted({p['music'] for p in pairs})
    music_desc = {f: describe(binary, 'music', root + '/' + f) for f in musics}
    paintings = {f: panel_painting(describe(binary, 'painting', root + '/' + f)) for f in {p['painting'] for p in pairs}}
    labels = {f: (float(media[f]['valence']), float(media[f]['arousal'])) for f in musics}
    mos = [float(p['score']) for p in pairs]
    with_labels = [latent(panel_music(music_desc[p['music']], labels[p['music']]), paintings[p['painting']]) for p in pairs]
    estimated = [latent(panel_music(music_desc[p['music']], None), paintings[p['painting']]) for p in pairs]
    print(json.dumps({'split': split_name, 'pairs': len(pairs), 'music': len(musics),
                      'music_with_human_va': sum(media[f]['va_from'] != 'estimate' for f in musics),
                      'srcc_latent_media_va': round(spearman(with_labels, mos), 4),
                      'srcc_latent_estimated_va': round(spearman(estimated, mos), 4)}))


if __name__ == '__main__':
    main()
