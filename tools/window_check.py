# Is the window the judge hears fair to labels given for a whole excerpt? For every Emotify excerpt (60 s)
# this describes the whole excerpt and the middle 30 s (what MPD-Open v2 keeps and the judge hears), and
# prints the Spearman correlation between the two for each descriptor and for the panel's valence/arousal
# estimate, and how each relates to the listeners' valence/arousal (media.csv of a v2 corpus).
# usage: /usr/bin/python3 tools/window_check.py EMOTIFY_DIR build/mpjudge CORPUS_DIR [--jobs 2]
import argparse
import concurrent.futures as cf
import csv
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import panel_bound  # noqa: E402  (the panel's formulas, checked against the binary by its --self-check)

KEYS = ['tempo_bpm', 'onset_rate_hz', 'loudness_lufs', 'spectral_centroid_hz', 'pitch_height', 'key_strength']


def describe(binary, path, window):
    extra = ['--offset', '15', '--duration', '30'] if window else []
    out = subprocess.run([binary, 'describe', '--music', path, '--json'] + extra, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('emotify')
    ap.add_argument('binary')
    ap.add_argument('corpus')
    ap.add_argument('--jobs', type=int, default=2)
    args = ap.parse_args()
    panel_bound.load_panel(args.binary)
    media = {os.path.basename(r['path']): r for r in csv.DictReader(open(args.corpus + '/media.csv'))
             if r['va_from'] == 'listeners'}
    files = sorted(f for f in os.listdir(args.emotify + '/audio') if f in media)
    with cf.ThreadPoolExecutor(args.jobs) as ex:
        whole = list(ex.map(lambda f: describe(args.binary, args.emotify + '/audio/' + f, False), files))
        window = list(ex.map(lambda f: describe(args.binary, args.emotify + '/audio/' + f, True), files))
    sp = panel_bound.spearman
    out = {'excerpts': len(files), 'window': 'middle 30 s (15-45 s) of each 60 s excerpt'}
    out['window_vs_whole'] = {k: round(sp([w[k] for w in window], [w[k] for w in whole]), 3) for k in KEYS}
    out['mode_agreement'] = round(sum(a['mode'] == b['mode'] for a, b in zip(window, whole)) / len(files), 3)
    est = lambda ds: [panel_bound.panel_music(d, None) for d in ds]
    ew, ea = est(window), est(whole)
    lv = [float(media[f]['valence']) for f in files]
    la = [float(media[f]['arousal']) for f in files]
    out['estimate_window_vs_whole'] = {'valence': round(sp([m['valence'] for m in ew], [m['valence'] for m in ea]), 3),
                                       'arousal': round(sp([m['arousal'] for m in ew], [m['arousal'] for m in ea]), 3)}
    out['listeners_vs_estimate'] = {
        'window': {'valence': round(sp(lv, [m['valence'] for m in ew]), 3),
                   'arousal': round(sp(la, [m['arousal'] for m in ew]), 3)},
        'whole': {'valence': round(sp(lv, [m['valence'] for m in ea]), 3),
                  'arousal': round(sp(la, [m['arousal'] for m in ea]), 3)}}
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
