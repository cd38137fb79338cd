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

function fillTable(table, obj) {
  const body = table.tBodies[0];
  body.replaceChildren();
  const add = (k, v) => {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = k;
    tr.appendChild(th);
    const td = tr.insertCell();
    td.textContent = typeof v === 'number' ? (Math.round(v * 1000) / 1000).toString() : String(v);
    if (typeof v === 'number') td.className = 'num';
  };
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) add(k + '.' + k2, v2);
    } else if (!Array.isArray(v)) {
      add(k, v);
    }
  }
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
