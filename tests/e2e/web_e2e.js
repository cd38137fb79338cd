// End-to-end test of the web page in a real browser: Debian's chromium driven by playwright-core.
// Scores a pair (upload, score, overlay, block selector, descriptors), then annotates as a signed-in
// annotator (a rating chosen with the keyboard, a comparison), and checks the MPD export.
// usage: node web_e2e.js MPJUDGE_BINARY SOURCE_DIR TMP_DIR NODE_MODULES
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const assert = require('assert');

const [bin, src, tmp, nodeModules] = process.argv.slice(2);
const { chromium } = require(path.resolve(nodeModules, 'playwright-core'));
const data = (f) => path.join(src, 'tests/data', f);

function cli(args) {
  return execFileSync(bin, args, { encoding: 'utf8' });
}

function startServer(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) resolve({ proc: p, url: `http://127.0.0.1:${m[1]}` });
    });
    p.on('exit', (code) => reject(new Error('server exited with ' + code + ': ' + out)));
  });
}

async function main() {
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, 'src'), { recursive: true });
  for (const f of ['pitch_3s_22k.wav', 'painting_224_a.png', 'painting_224_b.png']) fs.copyFileSync(data(f), path.join(tmp, 'src', f));
  fs.writeFileSync(path.join(tmp, 'src/tasks.json'), JSON.stringify({
    rate: [{ music: 'pitch_3s_22k.wav', painting: 'painting_224_a.png' }],
    compare: [{ music: 'pitch_3s_22k.wav', a: 'painting_224_a.png', b: 'painting_224_b.png' }],
  }));
  const project = path.join(tmp, 'project');
  cli(['annotate', 'load', '--project', project, '--tasks', path.join(tmp, 'src/tasks.json')]);
  const token = JSON.parse(cli(['annotate', 'add-annotator', '--project', project, '--name', 'e2e'])).token;

  const server = await startServer(['--project', project, '--work-dir', path.join(tmp, 'work'), '--cache-dir', path.join(tmp, 'cache')]);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  const requests = [];
  let score = NaN;
  try {
    const page = await browser.newPage();
    page.on('request', (r) => requests.push(r.url()));
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url + '/');
    assert.strictEqual(await page.title(), 'mpjudge: does this painting reflect the music?');

    // ---- drag and drop: a file dropped on a zone becomes that field's file ----
    const dropped = await page.evaluate(async () => {
      const c = document.createElement('canvas');
      c.width = c.height = 8;
      const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'dropped.png', { type: 'image/png' }));
      document.getElementById('drop-painting').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      return document.getElementById('painting-file').files[0].name;
    });
    assert.strictEqual(dropped, 'dropped.png');

    // ---- score a pair ----
    await page.setInputFiles('#music-file', data('pitch_3s_22k.wav'));
    await page.setInputFiles('#painting-file', data('painting_224_a.png'));
    assert.ok(await page.isVisible('#player'), 'the audio player appears for the chosen music');
    await page.click('#score-btn');
    await page.waitForSelector('#result:not([hidden])', { timeout: 120000 });
    score = Number(await page.textContent('#score'));
    assert.ok(score > 0 && score < 1, 'score in (0, 1): ' + score);
    // The overlay image has loaded from the server, and both blocks can be chosen.
    await page.waitForFunction(() => { const i = document.getElementById('overlay-img'); return i.complete && i.naturalWidth > 0; });
    const overlaySrc = await page.getAttribute('#overlay-img', 'src');
    assert.match(overlaySrc, /^\/v1\/maps\/[0-9a-f]{32}\/1\.png$/);
    assert.strictEqual(await page.locator('#block option').count(), 2);
    await page.selectOption('#block', '0');
    assert.match(await page.getAttribute('#overlay-img', 'src'), /\/0\.png$/);
    await page.waitForFunction(() => { const i = document.getElementById('overlay-img'); return i.complete && i.naturalWidth > 0; });
    await page.fill('#opacity', '25');
    assert.strictEqual(await page.evaluate(() => document.getElementById('overlay-img').style.opacity), '0.25');
    const painted = await page.evaluate(() => document.getElementById('painting-img').naturalWidth);
    assert.strictEqual(painted, 224);
    assert.ok(await page.locator('#music-desc tbody tr').count() >= 10, 'music descriptors shown');
    assert.ok(await page.locator('#painting-desc tbody tr').count() >= 8, 'painting descriptors shown');
    // Plain labels with units, the JSON key kept on the row.
    const tempoRow = page.locator('#music-desc tr[data-key="tempo_bpm"]');
    assert.strictEqual(await tempoRow.locator('th').textContent(), 'Tempo');
    assert.match(await tempoRow.locator('td').textContent(), /^\d+ BPM$/);
    assert.match(await page.locator('#music-desc tr[data-key="loudness_lufs"] td').textContent(), /^-?\d+\.\d LUFS$/);
    assert.match(await page.locator('#painting-desc tr[data-key="lightness"] th').textContent(), /^Lightness/);
    assert.match(await page.locator('#painting-desc tr[data-key="width"] td').textContent(), /^224 px$/);
    // The score's percentile among the shipped model's own test scores (models/README.md), and its model.
    assert.match(await page.textContent('#percentile'), /^Higher than \d+ % of the scores this model gave on its own test pairs \(MPD-Open/);
    assert.match(await page.textContent('#model-id'), /^Model default-2026-12c \(sha256 [0-9a-f]{12}…\)\.$/);
    assert.ok((await page.textContent('#result')).includes('simulated expert panel'));
    // Every input has a label (accessibility), and no script error happened.
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select')]
      .filter((e) => e.type !== 'radio' && !(e.labels && e.labels.length)).map((e) => e.id));
    assert.deepStrictEqual(unlabelled, []);

    // ---- annotate ----
    await page.click('#tab-annotate');
    await page.fill('#token', 'wrong-token');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('ann-status').textContent.includes('failed'));
    await page.fill('#token', token);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#rate-form:not([hidden])');
    await page.waitForFunction(() => { const i = document.getElementById('rate-img'); return i.complete && i.naturalWidth > 0; });
    assert.match(await page.textContent('#progress'), /0 of 2/);
    // Keyboard only: focus the first rating, arrow to 4, Enter submits.
    await page.focus('input[name=rating][value="1"]');
    for (let k = 0; k < 3; ++k) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#compare-form:not([hidden])');
    assert.match(await page.textContent('#progress'), /1 of 2/);
    await page.waitForFunction(() => ['cmp-a', 'cmp-b'].every((id) => document.getElementById(id).naturalWidth > 0));
    await page.click('#choose-b');
    await page.waitForSelector('#done:not([hidden])');
    assert.deepStrictEqual(errors, []);
  } finally {
    await browser.close();
    server.proc.kill('SIGTERM');
  }
  // No request left this machine.
  const external = requests.filter((u) => !u.startsWith(server.url) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepStrictEqual(external, []);

  // ---- the export has both answers ----
  const out = path.join(tmp, 'mpd');
  const summary = JSON.parse(cli(['annotate', 'export', '--project', project, '--out', out]));
  assert.strictEqual(summary.ratings, 1);
  assert.strictEqual(summary.preferences, 1);
  assert.match(fs.readFileSync(path.join(out, 'ratings.csv'), 'utf8'), /,e2e,4/);
  assert.match(fs.readFileSync(path.join(out, 'preferences.csv'), 'utf8'), /pitch_3s_22k\.wav,painting_224_b\.png,painting_224_a\.png,1,1/);
  cli(['data', 'validate', out]);  // throws on a nonzero exit
  console.log(`web e2e: score ${score.toFixed(4)}, overlay and blocks shown, rating 4 by keyboard, comparison b, export valid`);
  console.log('1 passed, 0 failed');
}

main().catch((e) => { console.error(e); process.exit(1); });
