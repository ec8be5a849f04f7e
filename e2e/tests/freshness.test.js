// Each source's panels show its own data time and turn stale, within twice the source's normal
// period, when it stops; they recover without a reload when it sends again.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer, killServer, launchBrowser, serverBin, until } from '../lib/harness.js';

let browser;
let server;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  if (server) await killServer(server);
  await browser?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a source that stops turns only its own panels stale, soon, and they recover', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'yiping-e2e-fresh-'));
  const token = execFileSync(serverBin, ['token', 'create', '--source', 'e2e-monitoring', '--data', dir]).toString().trim();
  server = await startServer(await freePort(), dir, ['--no-simulator']);
  let n = 0;
  // A monitoring source: one reading of 官渡口 every 400 ms, stamped now.
  const send = async () => {
    n += 1;
    const line = JSON.stringify({
      type: 'water.reading',
      id: `e2e-reading-${n}`,
      time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      data: { section: 'cj-guandukou', ph: 7.6, do_mg_l: 8.1, codmn_mg_l: 2.4, nh3n_mg_l: 0.15, tp_mg_l: 0.08 },
    });
    const r = await fetch(`${server.url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body: line + '\n' });
    assert.equal(r.status, 200, await r.text());
  };
  let sending = true;
  const loop = (async () => { while (sending) { await send(); await sleep(400); } })();

  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(server.url + '/');
  const state = (cls) => page.locator(`section.${cls}`).getAttribute('data-freshness');
  await until(async () => (await state('panel-water')) === 'fresh', 15_000, 'the water panel to be fresh');
  await sleep(4000); // the wall learns the source's period from a few readings
  assert.equal(await state('panel-water'), 'fresh');
  // The other sources have sent nothing: their panels say so, they do not pretend.
  assert.equal(await state('panel-rivers'), 'nodata');
  assert.equal(await state('panel-poverty'), 'nodata');

  // The source stops: within twice its period (at least 3 s) the water panels are stale.
  sending = false;
  await loop;
  const stopped = Date.now();
  await until(async () => (await state('panel-water')) === 'stale', 10_000, 'the water panel to turn stale');
  const took = Date.now() - stopped;
  assert.ok(took <= 4500, `stale after ${took} ms (limit: 3 s floor + the clock's 0.5 s tick + slack)`);
  assert.equal(await state('panel-classes'), 'stale', 'every panel of the source');
  assert.match(await page.locator('section.panel-water .panel-time').innerText(), /数据中断/);

  // It sends again: fresh, without a reload.
  await page.evaluate(() => { window.__noReload = true; });
  sending = true;
  const again = (async () => { while (sending) { await send(); await sleep(400); } })();
  await until(async () => (await state('panel-water')) === 'fresh', 5_000, 'the water panel to recover');
  assert.equal(await page.evaluate(() => window.__noReload), true);
  sending = false;
  await again;
  await page.close();
});
