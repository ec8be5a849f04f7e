// /wallbench: the peers' fixed wall workload (../shared/WALLBENCH.md) on the product's own map and
// widgets, and the page contract the peer's driver (measure.mjs) relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shareBrowserAndServer, until, sleep } from '../lib/harness.js';
import { openPage, screenshot } from '../lib/pages.js';

const shared = shareBrowserAndServer();

/** Every canvas of the page: its test id, draws, size against CSS × dpr, and its share of ink. */
function canvases(page) {
  return page.evaluate(() => [...document.querySelectorAll('.wallbench canvas')].map((c) => {
    const d = c.width && c.height ? c.getContext('2d').getImageData(0, 0, c.width, c.height).data : [];
    let ink = 0;
    for (let i = 3; i < d.length; i += 256) if (d[i] > 0) ink++;
    return {
      id: c.dataset.testid,
      draws: Number(c.dataset.draws ?? 0),
      markers: Number(c.dataset.markers ?? 0),
      frameAt: Number(c.dataset.frameAt ?? 0),
      sized: c.width === Math.round(c.clientWidth * devicePixelRatio) && c.height === Math.round(c.clientHeight * devicePixelRatio),
      ink: d.length ? ink / (d.length / 256) : 0,
    };
  }));
}

test('the wall workload draws the map and 12 charts, at 1920×1080 and 7680×2160, and keeps the contract', async () => {
  for (const [w, h] of [[1920, 1080], [7680, 2160]]) {
    const { page, errors } = await openPage(shared.browser, `${shared.server.url}/wallbench?auto=0`, { width: w, height: h });
    await page.waitForFunction(() => window.wall && window.wall.ready, null, { timeout: 20_000 });
    await page.evaluate(() => Promise.race([window.wall.ready, new Promise((_, no) => setTimeout(() => no(new Error('not ready in 30 s')), 30_000))]));
    const info = await page.evaluate(() => ({ info: window.wall.info, timings: window.wall.timings, memory: window.wall.memoryBytes() }));
    assert.equal(info.info.impl, 'yiping');
    assert.equal(info.info.seed, 1);
    assert.equal(info.info.counties, 103);
    for (const k of ['initMs', 'dataMs', 'readyMs']) assert.ok(info.timings[k] > 0, `timings.${k} is given`);
    assert.ok(info.timings.initMs <= info.timings.dataMs && info.timings.dataMs <= info.timings.readyMs, 'timings in order');
    assert.ok(info.memory > 1e6, 'wasm memory is reported');

    // Ready means drawn: the map with every marker, and the 12 charts, at device pixels.
    const all = await canvases(page);
    const map = all.find((c) => c.id === 'map');
    assert.equal(map.markers, 1000, 'the map takes the 1,000 markers');
    const charts = all.filter((c) => c.id && c.id.startsWith('wb-'));
    assert.deepEqual(charts.map((c) => c.id).sort(), [...Array(4).fill('wb-bars'), ...Array(2).fill('wb-gauge'), ...Array(4).fill('wb-line'), ...Array(2).fill('wb-ring')]);
    for (const c of [map, ...charts]) {
      assert.ok(c.draws > 0 && c.sized, `${c.id} drawn at device pixels (${w}×${h}): ${JSON.stringify(c)}`);
      assert.ok(c.ink > 0.01, `${c.id} is not blank (${w}×${h}): ${JSON.stringify(c)}`);
    }
    // The layout: columns 25 % | 50 % | 25 %, a header of 4.5 % of the height.
    const boxes = await page.evaluate(() => [...document.querySelectorAll('.wallbench-head, .wallbench-side, .wallbench-map')].map((el) => {
      const r = el.getBoundingClientRect();
      return { cls: el.className, x: r.x, w: r.width, h: r.height };
    }));
    assert.deepEqual(boxes.map((b) => b.cls), ['wallbench-head', 'wallbench-side', 'wallbench-map', 'wallbench-side']);
    assert.ok(Math.abs(boxes[0].h - 0.045 * h) < 2, `header ${boxes[0].h} px of ${h}`);
    const columns = boxes.slice(1).map((b) => Math.round((100 * b.w) / w));
    assert.deepEqual(columns, [25, 50, 25], `columns ${JSON.stringify(boxes)}`);
    // Each side a 2×3 grid in the stated order, every panel inside its column.
    const sides = await page.evaluate(() => [...document.querySelectorAll('.wallbench-side')].map((side) => {
      const s = side.getBoundingClientRect();
      return {
        ids: [...side.querySelectorAll('canvas')].map((c) => c.dataset.testid),
        inside: [...side.querySelectorAll('.panel')].every((p) => { const r = p.getBoundingClientRect(); return r.left >= s.left - 1 && r.right <= s.right + 1 && r.bottom <= s.bottom + 1; }),
      };
    }));
    for (const side of sides) {
      assert.deepEqual(side.ids, ['wb-line', 'wb-line', 'wb-bars', 'wb-bars', 'wb-ring', 'wb-gauge']);
      assert.ok(side.inside, 'every panel inside its column');
    }

    // auto=0: nothing ticks by itself; each update() is one tick, drawn in a later frame.
    await sleep(1500);
    assert.equal(await page.locator('[data-testid=wallbench]').getAttribute('data-ticks'), '0', 'no tick of its own with auto=0');
    const frame0 = map.frameAt;
    await page.evaluate(() => { window.wall.update(); window.wall.update(); window.wall.update(); });
    assert.equal(await page.locator('[data-testid=wallbench]').getAttribute('data-ticks'), '3', 'three updates, three ticks');
    assert.equal(await page.evaluate(() => window.wall.tick), 3, 'window.wall.tick counts them for the driver');
    await until(async () => (await canvases(page)).find((c) => c.id === 'map').frameAt > frame0, 10_000, 'the map to draw the ticks');
    assert.match(await page.locator('[data-testid=wallbench-ticks]').innerText(), /第 3 次更新/);
    // Fills that change with every update are drawn into the map's frame with the land, over an
    // empty ground (composing them in the ground too would cost a second full-size canvas).
    const now = await canvases(page);
    const [ground, live] = ['map-ground', 'map'].map((id) => now.find((c) => c.id === id).ink);
    assert.equal(ground, 0, 'the ground is empty while the fills change');
    assert.ok(live > 0.3, `the frame holds the land and the fills (${live})`);
    await sleep(800);
    await screenshot(page, `wallbench-${w}x${h}.png`);
    assert.deepEqual(errors, [], 'no page errors');
    await page.close();
  }
});

test('without auto=0 the wall ticks once a second by itself', async () => {
  const { page, errors } = await openPage(shared.browser, `${shared.server.url}/wallbench?seed=7`);
  await page.waitForFunction(() => window.wall && window.wall.ready, null, { timeout: 20_000 });
  await page.evaluate(() => window.wall.ready);
  assert.equal(await page.evaluate(() => window.wall.info.seed), 7);
  const ticks = () => page.locator('[data-testid=wallbench]').getAttribute('data-ticks').then(Number);
  await until(async () => (await ticks()) >= 2, 5_000, 'two ticks of its own');
  const t = await ticks();
  await sleep(2200);
  const n = (await ticks()) - t;
  assert.ok(n >= 1 && n <= 3, `about one tick a second, got ${n} in 2.2 s`);
  assert.deepEqual(errors, []);
  await page.close();
});
