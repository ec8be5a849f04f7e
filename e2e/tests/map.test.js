// The map as an interactive object: wheel, drag, pinch and keyboard move the view; hover and tap
// identify what is under the pointer; live markers and pulsing alerts keep drawing without
// redrawing the static tiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shareBrowserAndServer, serve, killServer, until } from '../lib/harness.js';
import { createToken } from '../lib/cli.js';
import { eventLine, postEvents } from '../lib/events.js';
import { openPage, screenshot, untilConn } from '../lib/pages.js';

const shared = shareBrowserAndServer();

/** The share of inked pixels of the map's ground and of its live canvas. */
const inks = (page) => page.evaluate(() => ['map-ground', 'map'].map((id) => {
  const c = document.querySelector(`canvas[data-testid="${id}"]`);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0;
  for (let i = 3; i < d.length; i += 256) if (d[i] > 0) ink++;
  return ink / (d.length / 256);
}));
/** The box shown, [min_lon, min_lat, max_lon, max_lat]. */
const box = (page) => page.locator('canvas[data-testid="map"]').getAttribute('data-box').then((b) => b.split(',').map(Number));
const span = (b) => b[2] - b[0];

const R = 6378137;
const merc = (lo, la) => [R * lo * Math.PI / 180, R * Math.log(Math.tan(Math.PI / 4 + la * Math.PI / 360))];

/** How the map fits the box `b` into a w×h (CSS px, DPR 1) canvas: the map's own fit (Web
 *  Mercator, centred, margin 24 units, unit = min(w, 1.6 h) / 900): scale, offsets, and the
 *  box's west and north edges in Mercator metres. */
function fit(b, w, h) {
  const unit = Math.max(Math.min(w, h * 1.6) / 900, 0.5);
  const m = 24 * unit;
  const [ax, ay] = merc(b[0], b[1]);
  const [bx, by] = merc(b[2], b[3]);
  const s = Math.min((w - 2 * m) / (bx - ax), (h - 2 * m) / (by - ay));
  return { s, ox: (w - (bx - ax) * s) / 2, oy: (h - (by - ay) * s) / 2, ax, by };
}

/** Where (lon, lat) is drawn in a w×h map showing `b`. */
function toScreen(b, w, h, lon, lat) {
  const { s, ox, oy, ax, by } = fit(b, w, h);
  const [x, y] = merc(lon, lat);
  return [(x - ax) * s + ox, (by - y) * s + oy];
}

/** The (lon, lat) drawn at (x, y) in a w×h map showing `b`. */
function toLonLat(b, w, h, x, y) {
  const { s, ox, oy, ax, by } = fit(b, w, h);
  const [mx, my] = [(x - ox) / s + ax, by - (y - oy) / s];
  return [mx / R * 180 / Math.PI, (2 * Math.atan(Math.exp(my / R)) - Math.PI / 2) * 180 / Math.PI];
}

/** The names the map drew, by name: their boxes [x0, y0, x1, y1] in CSS pixels. */
async function namesDrawn(canvas) {
  const list = ((await canvas.getAttribute('data-names')) ?? '').split(';').filter(Boolean);
  return Object.fromEntries(list.map((n) => {
    const [name, b] = n.split(':');
    return [name, b.split(',').map(Number)];
  }));
}

async function openMap(page) {
  const canvas = page.locator('canvas[data-testid="map"]');
  await until(async () => Number(await canvas.getAttribute('data-static-draws')) >= 1, 20_000, 'a drawn map');
  const r = await canvas.boundingBox();
  return { canvas, r, cx: r.x + r.width / 2, cy: r.y + r.height / 2 };
}

test('wheel, drag, pinch and keys move the view; taps after a drag do not drill down', async () => {
  const { page, errors } = await openPage(shared.browser, shared.server.url + '/');
  const { canvas, cx, cy } = await openMap(page);
  const home = await box(page);

  // Wheel up over the centre: zoom in about the pointer.
  await page.mouse.move(cx, cy);
  await page.mouse.wheel(0, -400);
  await until(async () => span(await box(page)) < span(home) * 0.8, 5_000, 'the wheel to zoom in');
  const zoomed = await box(page);
  const mid = (b) => [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
  assert.ok(Math.abs(mid(zoomed)[0] - mid(home)[0]) < span(home) * 0.02, 'zoomed about the centre');

  // Drag right by 300 px: the map follows, we see what is west; no drill-down. While it moves,
  // the compositor moves the ground (a transform of its canvas; noted as it changes).
  await page.evaluate(() => {
    const g = document.querySelector('canvas[data-testid="map-ground"]');
    window.__groundStyles = [];
    new MutationObserver(() => window.__groundStyles.push(g.getAttribute('style'))).observe(g, { attributes: true, attributeFilter: ['style'] });
  });
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(cx + 30 * i, cy);
  await page.mouse.up();
  const dragged = await box(page);
  assert.ok(dragged[0] < zoomed[0] - span(zoomed) * 0.1, `dragged west: ${zoomed} → ${dragged}`);
  assert.ok(Math.abs(span(dragged) - span(zoomed)) < 1e-4, 'a drag does not zoom');
  assert.equal(await canvas.getAttribute('data-view'), '420000', 'a drag is not a tap');
  const moved = await page.evaluate(() => window.__groundStyles.filter((t) => t && t.startsWith('transform: matrix(')));
  assert.ok(moved.length > 0, 'the ground moves with the drag by a transform');
  // At rest the ground is shown where it is laid out (no transform).
  await until(() => page.evaluate(() => !document.querySelector('canvas[data-testid="map-ground"]').hasAttribute('style')), 3_000, 'the ground at rest');

  // Keys: Home resets, + zooms in, arrows pan.
  await canvas.focus();
  await page.keyboard.press('Home');
  await until(async () => span(await box(page)) === span(home), 5_000, 'Home to reset the view');
  await page.keyboard.press('+');
  assert.ok(span(await box(page)) < span(home) / 1.3);
  const before = await box(page);
  await page.keyboard.press('ArrowRight');
  assert.ok((await box(page))[0] > before[0], 'ArrowRight shows what is east');
  await page.keyboard.press('Home');

  // Pinch with two fingers (pointer events, as a touch wall sends them): spreading them 2× zooms 2×.
  const tops = Number(await canvas.getAttribute('data-top-draws'));
  const b0 = await box(page);
  await page.evaluate(([x, y]) => {
    const c = document.querySelector('canvas[data-testid="map"]');
    const fire = (type, id, px) => c.dispatchEvent(new PointerEvent(type, { pointerId: id, pointerType: 'touch', clientX: px, clientY: y, bubbles: true, isPrimary: id === 1 }));
    fire('pointerdown', 1, x - 100);
    fire('pointerdown', 2, x + 100);
    for (let i = 1; i <= 10; i++) {
      fire('pointermove', 1, x - 100 - 10 * i);
      fire('pointermove', 2, x + 100 + 10 * i);
    }
    fire('pointerup', 1, x - 200);
    fire('pointerup', 2, x + 200);
  }, [cx, cy]);
  const b1 = await until(async () => { const b = await box(page); return span(b) < span(b0) * 0.9 ? b : null; }, 5_000, 'the pinch to zoom');
  const pinch = span(b0) / span(b1);
  assert.ok(Math.abs(pinch - 2) < 0.1, `pinch zoom factor ${pinch}`);
  assert.equal(await canvas.getAttribute('data-view'), '420000', 'a pinch is not a tap');
  await screenshot(page, 'map-pinched-1920x1080.png');

  // The view rests: the tiers are drawn sharp again for it.
  await until(async () => Number(await canvas.getAttribute('data-top-draws')) > tops, 3_000, 'a sharp redraw after the pinch');
  assert.deepEqual(errors, []);
  await page.close();
});

test('hover identifies the county under the pointer; a tap on a section names it', async () => {
  const { page } = await openPage(shared.browser, shared.server.url + '/');
  const { cx, cy } = await openMap(page);
  // The middle of Hubei's box is in 钟祥市 (荆门).
  await page.mouse.move(cx - 3, cy);
  await page.mouse.move(cx, cy);
  const tip = page.getByTestId('map-tip');
  await until(async () => (await tip.getAttribute('data-kind')) === 'county', 5_000, 'the tooltip to name a county');
  assert.match(await tip.getAttribute('data-key'), /^4208/);
  assert.match(await tip.innerText(), /荆门市 · /);
  await page.mouse.move(5, 5);
  await until(async () => await tip.isHidden(), 5_000, 'the tooltip to go when the pointer leaves');
  await page.close();
});

test('1,000 live markers cluster, alerts pulse without redrawing the map, and only the live tier redraws', async () => {
  const { page, errors } = await openPage(shared.browser, shared.server.url + '/mapbench');
  const canvas = page.locator('canvas[data-testid="map"]');
  const root = page.getByTestId('mapbench');
  await until(async () => Number(await root.getAttribute('data-updates')) >= 3, 20_000, 'three marker updates');
  const n = async (k) => Number(await canvas.getAttribute(k));
  const [d0, t0, g0] = [await n('data-draws'), await n('data-top-draws'), await n('data-ground-draws')];
  await page.waitForTimeout(1000);
  // Alerts pulse by the compositor: the canvas is drawn once per update (once a second), not
  // every frame, and each alert on screen has a ring whose animation runs.
  assert.ok((await n('data-draws')) - d0 <= 3, `the map drew ${(await n('data-draws')) - d0} frames in a second`);
  assert.equal(await n('data-top-draws'), t0, 'water and borders are not redrawn for live data');
  // The choropleth stays: the ground (land, fills, water, borders), a canvas under the live one,
  // took it by the second frame that showed it, and the frames since draw only the live canvas.
  assert.ok(g0 >= 1, 'the fills are cached in the ground');
  assert.equal(await n('data-ground-draws'), g0, 'the ground is not redrawn for live data');
  const [groundInk, liveInk] = await inks(page);
  assert.ok(groundInk > 0.3, `the ground holds the map (${groundInk})`);
  // Nothing twice: the live canvas holds the names and marks alone, not the land again.
  assert.ok(liveInk < groundInk / 2, `the live canvas holds marks alone (${liveInk} against the ground's ${groundInk})`);
  const rings = await page.evaluate(() => [...document.querySelectorAll('[data-testid=map-ring]')].map((e) => {
    const b = e.getBoundingClientRect();
    return { x: b.left + b.width / 2, y: b.top + b.height / 2, running: e.getAnimations().some((a) => a.playState === 'running') };
  }));
  assert.equal(rings.length, 20, 'a ring for each of the 20 alerts');
  assert.ok(rings.every((g) => g.running), 'every ring pulses');
  // Dense markers are drawn as clusters.
  assert.ok((await n('data-clusters')) > 10, 'markers are clustered');
  // The first marker is a pulsing alert (never folded into a cluster): hovering it names it.
  const [lon, lat] = (await root.getAttribute('data-first-marker')).split(',').map(Number);
  const r = await canvas.boundingBox();
  const [x, y] = toScreen(await box(page), r.width, r.height, lon, lat);
  // The ring is centred on its alert (a ring's transform scales it about its centre).
  assert.ok(rings.some((g) => Math.hypot(g.x - (r.x + x), g.y - (r.y + y)) < 1.5), 'a ring over the first alert');
  await page.mouse.move(r.x + x - 2, r.y + y);
  await page.mouse.move(r.x + x, r.y + y);
  const tip = page.getByTestId('map-tip');
  await until(async () => (await tip.getAttribute('data-kind')) === 'marker', 5_000, 'the alert marker to be identified');
  assert.equal(await tip.getAttribute('data-key'), 'P0000');
  await screenshot(page, 'mapbench-1920x1080.png');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a touch on a county in a prefecture opens its records and frames it (the third level); Escape goes up one level', async () => {
  const { page } = await openPage(shared.browser, shared.server.url + '/#420300');
  const { canvas, r } = await openMap(page);
  const view = () => canvas.getAttribute('data-view');
  await until(async () => (await view()) === '420300', 10_000, 'the 十堰 view');
  await page.waitForTimeout(900); // the fly-to
  const prefectureBox = await box(page);
  // The middle of the prefecture's part of the map (the right 38 % is left for the records).
  const [x, y] = [r.x + r.width * 0.31, r.y + r.height * 0.5];
  await page.mouse.move(x - 3, y);
  await page.mouse.move(x, y);
  const tip = page.getByTestId('map-tip');
  await until(async () => (await tip.getAttribute('data-kind')) === 'county', 5_000, 'a county under the pointer');
  const county = await tip.getAttribute('data-key');
  assert.match(county, /^4203/);
  await page.mouse.click(x, y);
  await until(async () => (await view()) === county, 5_000, 'the county to be selected');
  // Framed: the box shown is smaller than the prefecture's.
  await page.waitForTimeout(900);
  assert.ok(span(await box(page)) < span(prefectureBox) * 0.9, 'the map frames the county');
  // Its records: the region drawer holds the county's figures.
  const drawer = page.getByTestId('drill');
  await until(async () => (await drawer.getAttribute('data-adcode')) === county && !(await drawer.isHidden()), 5_000, 'the county records');
  await until(async () => (await drawer.locator('h3').innerText()).length > 0, 5_000, 'the county name');
  // The breadcrumb reads province › prefecture › county.
  assert.equal(await page.getByTestId('crumb-prefecture').innerText(), '十堰市');
  await screenshot(page, 'map-county-1920x1080.png');
  // Escape goes up to the prefecture, then to the province.
  await page.keyboard.press('Escape');
  await until(async () => (await view()) === '420300', 5_000, 'Escape to the prefecture');
  await page.keyboard.press('Escape');
  await until(async () => (await view()) === '420000', 5_000, 'Escape to the province');
  await page.close();
});

test('a name steps aside for a marker on its label point, and is still shown', async () => {
  const server = await serve({ args: ['--no-simulator'] });
  try {
    const token = createToken(server.dataDir, 'hbsthj');
    const { page, errors } = await openPage(shared.browser, `${server.url}/yangtze`);
    await untilConn(page, 'live', 15_000, 'the wall live');
    const { canvas, r } = await openMap(page);
    // Where 荆门's name is drawn while nothing is in its way, once the sections are on the map
    // (the names keep clear of them too): the same in two frames.
    await until(async () => (await page.locator('[data-testid=section-list] li').count()) > 0, 10_000, 'the sections');
    let before = null;
    await until(async () => {
      await page.waitForTimeout(300);
      const now = (await namesDrawn(canvas))['荆门'];
      const same = now && before && now.join() === before.join();
      before = now;
      return same;
    }, 10_000, '荆门 named on the map, in the same place twice');
    const [cx, cy] = [(before[0] + before[2]) / 2, (before[1] + before[3]) / 2];
    // A sewage outlet reported right there: its marker lands on the name's place.
    const [lon, lat] = toLonLat(await box(page), r.width, r.height, cx, cy);
    const outlet = { outlet: 'PK-NAME', name: '名称避让测试排口', river: '竹皮河', lon, lat, status: 'identified' };
    await postEvents(server.url, token, [eventLine('water.outlet', 'name-1', outlet)]);
    await until(async () => ((await canvas.getAttribute('data-single-marker')) ?? '').includes('PK-NAME'), 10_000, 'the outlet on the map');
    const [mx, my] = (await canvas.getAttribute('data-single-marker')).split(',').slice(1).map(Number);
    assert.ok(Math.hypot(mx - cx, my - cy) < 1.5, `the marker (${mx}, ${my}) is where the name was (${cx}, ${cy})`);
    // The name is still shown, and its box keeps clear of the marker's dot and ring (radius
    // 4.2 units and half of a 1.47-unit ring; a unit is min(w, 1.6 h) / 900 CSS pixels here).
    const after = (await namesDrawn(canvas))['荆门'];
    assert.ok(after, '荆门 is still named');
    // Beside its place: above, below, left or right of it.
    const [ax, ay] = [(after[0] + after[2]) / 2, (after[1] + after[3]) / 2];
    assert.ok(Math.abs(ax - cx) <= (before[2] - before[0]) && Math.abs(ay - cy) <= (before[3] - before[1]), `荆门 moved from (${cx}, ${cy}) to (${ax}, ${ay})`);
    const radius = 4.9 * Math.max(Math.min(r.width, r.height * 1.6) / 900, 0.5);
    const [nx, ny] = [Math.max(after[0], Math.min(mx, after[2])), Math.max(after[1], Math.min(my, after[3]))];
    assert.ok(Math.hypot(nx - mx, ny - my) > radius, `荆门 at ${after} is clear of the marker at (${mx}, ${my})`);
    await screenshot(page, 'map-name-aside-1920x1080.png');
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await killServer(server);
  }
});
