// The HTML report in a real browser: builds a small MPD-Open corpus, trains an MPJudge run and a
// late-fusion baseline and the paper-small ablation for a few steps, writes `mpjudge report`, opens the file in Debian's chromium
// (playwright-core) with the network blocked, and checks that the table, the charts and the modulation-map
// images render. usage: node report_e2e.js MPJUDGE_BINARY SOURCE_DIR TMP_DIR NODE_MODULES
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const assert = require('assert');

const [bin, src, tmp, nodeModules] = process.argv.slice(2);
const { chromium } = require(path.resolve(nodeModules, 'playwright-core'));
const run = (args) => execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

async function main() {
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const data = path.join(tmp, 'corpus'), cache = path.join(tmp, 'cache');
  run(['corpus', 'build', '--out', data, '--seed', '2', '--clips', '30', '--paintings', '30', '--pairs', '200',
       '--preferences', '60', '--clip-seconds', '6', '--quiet', '--shared-data', 'none',
       '--debian-root', path.join(src, 'deps/media')]);
  for (const [name, variant, steps] of [['mpjudge', 'man', '6'], ['late', 'late_fusion', '6'], ['paper', 'paper_small', '2']])
    run(['train', '--data', data, '--out', path.join(tmp, name), '--variant', variant, '--steps', steps, '--batch', '16',
         '--quiet', '--cache-dir', cache]);
  const out = path.join(tmp, 'report.html');
  const summary = JSON.parse(run(['report', '--runs', 'MPJudge=' + path.join(tmp, 'mpjudge'), 'late fusion=' + path.join(tmp, 'late'),
                                  'paper-small=' + path.join(tmp, 'paper'),
                                  '--data', data, '--split', 'val', '--out', out, '--bootstrap', '50',
                                  '--gallery-songs', '2', '--cache-dir', cache, '--json']));
  assert.strictEqual(summary.runs.length, 3);
  for (const r of summary.runs.slice(1)) {  // the first run's paired advantage over each other run
    const d = r.first_minus_this.srcc;
    assert.ok(d.ci95.length === 2 && d.ci95[0] <= d.point && d.point <= d.ci95[1], JSON.stringify(r));
  }
  assert.ok(summary.gallery_images >= 2, 'gallery images: ' + summary.gallery_images);

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const external = [];
    await page.route('**/*', (route) => {  // a self-contained file needs nothing but itself
      const u = route.request().url();
      if (u.startsWith('file://') || u.startsWith('data:')) return route.continue();
      external.push(u);
      return route.abort();
    });
    await page.goto('file://' + out);
    const rows = await page.locator('#comparison tbody tr').allTextContents();
    assert.ok(rows.length >= 2, 'table rows: ' + rows.length);
    assert.ok(rows[0].startsWith('MPJudge') && rows[1].startsWith('late fusion'), rows.join(' | '));
    assert.match(rows[0], /\[\d\.\d{3}, \d\.\d{3}\]/, 'intervals shown');
    assert.ok(rows[2].startsWith('paper-small'), rows.join(' | '));
    const paired = await page.locator('#paired tbody tr').allTextContents();
    assert.strictEqual(paired.length, 2, 'paired rows: ' + paired.join(' | '));
    assert.ok(paired[0].startsWith('late fusion') && paired[1].startsWith('paper-small'), paired.join(' | '));
    assert.match(paired[0], /[+-]\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]/, 'paired intervals shown');
    const svgs = await page.locator('svg').count();
    assert.ok(svgs >= 4 + 2 + 1, 'charts: ' + svgs);  // 4 bar charts, a scatter per run, calibration
    const bars = await page.locator('svg rect[fill]').count();
    assert.ok(bars >= 8, 'bars drawn: ' + bars);
    const images = await page.evaluate(() => [...document.querySelectorAll('#gallery img')].map((i) => [i.complete, i.naturalWidth]));
    assert.ok(images.length >= 2, 'gallery images in the page: ' + images.length);
    for (const [complete, w] of images) assert.ok(complete && w > 0, 'an image did not render');
    const box = await page.locator('#gallery img').first().boundingBox();
    assert.ok(box && box.width > 50 && box.height > 50, 'gallery image is laid out');
    assert.deepStrictEqual(external, []);
    console.log(`report e2e: ${rows.length} table rows, ${paired.length} paired rows, ${svgs} charts, ${images.length} map images rendered, no network`);
    console.log('1 passed, 0 failed');
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
