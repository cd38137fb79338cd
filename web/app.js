// mpjudge web page: score a music-painting pair, show the modulation maps over the painting, and the
// annotation tool. Plain JavaScript, no network beyond this server, no build step.
'use strict';
const $ = (id) => document.getElementById(id);

// ---- mode tabs ----
function showMode(annotate) {
  $('score-view').hidden = annotate;
  $('annotate-view').hidden = !annotate;
  $('tab-score').setAttribute('aria-pressed', String(!annotate));
  $('tab-annotate').setAttribute('aria-pressed', String(annotate));
}
$('tab-score').addEventListener('click', () => showMode(false));
$('tab-annotate').addEventListener('click', () => showMode(true));

// ---- scoring ----
let lastMaps = [];

function setStatus(el, text, isError) {
  el.textContent = text;
  el.classList.toggle('error', !!isError);
}

function useFile(input, file) {
  const dt = new DataTransfer();
  dt.items.add(file);
  input.files = dt.files;
  input.dispatchEvent(new Event('change'));
}

for (const [zone, input] of [['drop-music', 'music-file'], ['drop-painting', 'painting-file']]) {
  const z = $(zone);
  z.addEventListener('dragover', (e) => { e.preventDefault(); z.classList.add('over'); });
  z.addEventListener('dragleave', () => z.classList.remove('over'));
  z.addEventListener('drop', (e) => {
    e.preventDefault();
    z.classList.remove('over');
    if (e.dataTransfer.files.length) useFile($(input), e.dataTransfer.files[0]);
  });
}

$('music-file').addEventListener('change', () => {
  const f = $('music-file').files[0];
  const p = $('player');
  if (f) { p.src = URL.createObjectURL(f); p.hidden = false; }
});

$('painting-file').addEventListener('change', () => {
  const f = $('painting-file').files[0];
  if (f) $('painting-img').src = URL.createObjectURL(f);
});

// Plain labels and units for the descriptors (docs/descriptors.md defines each); a key without one is
// shown as it is. Each row keeps its JSON key in data-key.
const NOTE_NAMES = ['C', 'C♯', 'D', 'D♯', 'E', 'F', 'F♯', 'G', 'G♯', 'A', 'A♯', 'B'];
const fixed = (d, unit = '') => (v) => v.toFixed(d) + (unit ? ' ' + unit : '');
const yesNo = (v) => (v ? 'yes' : 'no');
const percent = (v) => Math.round(v * 100) + ' %';
const signed = (v) => (v > 0 ? '+' : '') + v.toFixed(2);
const LABELS = {
  descriptor_version: ['Descriptor version', String],
  duration_s: ['Duration', fixed(1, 's')],
  tempo_bpm: ['Tempo', fixed(0, 'BPM')],
  tempo_confidence: ['Beat clarity (0–1)', fixed(2)],
  tempo_source: ['Tempo read from', (v) => (v === 'beat' ? 'a steady beat' : 'the rate of events (no steady beat)')],
  steady_beat: ['Steady beat', yesNo],
  onset_rate_hz: ['Note onsets', fixed(1, 'per second')],
  key: ['Key', String],
  mode: ['Mode', String],
  key_strength: ['Key clarity (0–1)', fixed(2)],
  mode_confidence: ['Major/minor certainty (0–1)', fixed(2)],
  mode_clear: ['Major/minor clear', yesNo],
  loudness_lufs: ['Loudness', fixed(1, 'LUFS')],
  loudness_range_lu: ['Loudness range', fixed(1, 'LU')],
  spectral_centroid_hz: ['Brightness (spectral centroid)', fixed(0, 'Hz')],
  pitch_height: ['Typical pitch', (v) => NOTE_NAMES[((Math.round(v) % 12) + 12) % 12] + (Math.floor(Math.round(v) / 12) - 1) + ' (MIDI ' + v.toFixed(1) + ')'],
  pitch_confidence: ['Frames with a clear pitch', percent],
  rms_db: ['Level (RMS)', fixed(1, 'dBFS')],
  dynamic_range_db: ['Dynamic range', fixed(1, 'dB')],
  valence: ['Valence (sad −1 … happy +1)', signed],
  arousal: ['Arousal (calm −1 … excited +1)', signed],
  emotion_model: ['Emotion estimated by', String],
  width: ['Width', (v) => v + ' px'],
  height: ['Height', (v) => v + ' px'],
  lightness: ['Lightness (L*, 0–100)', fixed(1)],
  chroma: ['Colour strength (C*)', fixed(1)],
  a: ['Red (+) or green (−) (a*)', signed],
  b: ['Yellow (+) or blue (−) (b*)', signed],
  contrast: ['Contrast (spread of L*)', fixed(1)],
  edge_density: ['Edges (share of pixels)', percent],
  angularity: ['Angularity (0–1)', fixed(2)],
  colourfulness: ['Colourfulness (Hasler–Süsstrunk)', fixed(1)],
  'emotion.happy': ['Colour emotion: happy (−1 … +1)', signed],
  'emotion.sad': ['Colour emotion: sad (−1 … +1)', signed],
  'emotion.angry': ['Colour emotion: angry (−1 … +1)', signed],
};

function fillTable(table, obj) {
  const body = table.tBodies[0];
  body.replaceChildren();
  const add = (k, v) => {
    const tr = body.insertRow();
    tr.dataset.key = k;
    const th = document.createElement('th');
    th.scope = 'row';
    const known = LABELS[k];
    th.textContent = known ? known[0] : k;
    tr.appendChild(th);
    const td = tr.insertCell();
    if (v === null || v === undefined) td.textContent = '—';
    else if (known) td.textContent = known[1](v);
    else td.textContent = typeof v === 'number' ? (Math.round(v * 1000) / 1000).toString() : String(v);
    if (typeof v === 'number') td.className = 'num';
  };
  // Flattened ("emotion.happy"), in the order of LABELS (the server's JSON comes sorted by key), then the rest.
  const rows = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) rows.push([k + '.' + k2, v2]);
    } else if (!Array.isArray(v)) {
      rows.push([k, v]);
    }
  }
  const order = Object.keys(LABELS);
  const rank = (k) => (order.indexOf(k) < 0 ? order.length : order.indexOf(k));
  rows.sort((x, y) => rank(x[0]) - rank(y[0]));
  for (const [k, v] of rows) add(k, v);
}

// "higher than 92 % of the scores this model gave on its test pairs (MPD-Open ..., split test, 1818 pairs)"
function percentileText(j) {
  if (j.percentile === null || j.percentile === undefined) return 'This model has no reference scores to compare with.';
  return `Higher than ${Math.round(j.percentile)} % of the scores this model gave on its own test pairs` +
    (j.percentile_reference ? ` (${j.percentile_reference}).` : '.');
}

function showBlock(i) {
  const m = lastMaps[i];
  // A map the server could not store has no URL (the response's warnings say why): show none.
  if (m && m.url) $('overlay-img').src = m.url;
  else $('overlay-img').removeAttribute('src');
}

$('block').addEventListener('change', () => showBlock(Number($('block').value)));
$('opacity').addEventListener('input', () => {
  const v = $('opacity').value;
  $('overlay-img').style.opacity = String(v / 100);
  $('opacity-val').textContent = v + '%';
});

$('score-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const music = $('music-file').files[0], painting = $('painting-file').files[0];
  if (!music || !painting) { setStatus($('status'), 'Choose a music file and a painting first.', true); return; }
  const fd = new FormData();
  fd.append('music', music);
  fd.append('painting', painting);
  $('score-btn').disabled = true;
  setStatus($('status'), 'Scoring…');
  try {
    const r = await fetch('/v1/score', { method: 'POST', body: fd });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error ? j.error.message : 'HTTP ' + r.status);
    $('score').textContent = j.score.toFixed(3);
    $('percentile').textContent = percentileText(j);
    $('model-id').textContent = `Model ${j.model_version} (sha256 ${j.model_sha256.slice(0, 12)}…).`;
    lastMaps = j.maps;
    const sel = $('block');
    sel.replaceChildren();
    j.maps.forEach((m, i) => {
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = `Block ${i + 1}: ${m.layer} (${m.width}×${m.height})`;
      sel.appendChild(o);
    });
    sel.value = String(j.maps.length - 1);
    showBlock(j.maps.length - 1);
    fillTable($('music-desc'), j.music.descriptors);
    fillTable($('painting-desc'), j.painting.descriptors);
    $('result').hidden = false;
    setStatus($('status'), j.warnings && j.warnings.length ? 'Done. ' + j.warnings.join(' ') : 'Done.');
  } catch (err) {
    setStatus($('status'), 'Could not score: ' + err.message, true);
  } finally {
    $('score-btn').disabled = false;
  }
});

// ---- annotation ----
let token = sessionStorage.getItem('mpjudge-token') || '';
let current = null;
const blobUrls = [];

async function api(path, opts = {}) {
  const r = await fetch(path, { ...opts, headers: { ...(opts.headers || {}), Authorization: 'Bearer ' + token } });
  if (!r.ok) {
    let msg = 'HTTP ' + r.status;
    try { const j = await r.json(); if (j.error) msg = j.error.message; } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}

async function mediaUrl(url) {  // media need the token, so they come as blobs
  const b = await (await api(url)).blob();
  const u = URL.createObjectURL(b);
  blobUrls.push(u);
  return u;
}

function showProgress(p) {
  $('progress').textContent = `${p.annotator}: ${p.answered} of ${p.total} tasks answered`;
}

async function loadNext() {
  while (blobUrls.length) URL.revokeObjectURL(blobUrls.pop());
  const j = await (await api('/v1/annotate/next')).json();
  showProgress(j.progress);
  current = j.task;
  $('rate-form').hidden = true;
  $('compare-form').hidden = true;
  if (!current) { $('task').hidden = true; $('done').hidden = false; return; }
  $('done').hidden = true;
  $('task').hidden = false;
  $('task-audio').src = await mediaUrl(current.music.url);
  if (current.kind === 'rate') {
    $('rate-img').src = await mediaUrl(current.painting.url);
    $('rate-form').reset();
    $('rate-form').hidden = false;
  } else {
    $('cmp-a').src = await mediaUrl(current.a.url);
    $('cmp-b').src = await mediaUrl(current.b.url);
    $('compare-form').hidden = false;
  }
}

async function answer(body) {
  try {
    await api('/v1/annotate/answer', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                       body: JSON.stringify({ task: current.id, ...body }) });
    setStatus($('ann-status'), 'Saved.');
    await loadNext();
  } catch (err) {
    setStatus($('ann-status'), 'Not saved: ' + err.message, true);
  }
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  try {
    await api('/v1/annotate/login', { method: 'POST' });
    sessionStorage.setItem('mpjudge-token', token);
    setStatus($('ann-status'), 'Signed in.');
    await loadNext();
  } catch (err) {
    setStatus($('ann-status'), 'Sign-in failed: ' + err.message, true);
  }
});

$('rate-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const v = new FormData($('rate-form')).get('rating');
  if (v) answer({ rating: Number(v) });
});
$('choose-a').addEventListener('click', () => answer({ choice: 'a' }));
$('choose-b').addEventListener('click', () => answer({ choice: 'b' }));
