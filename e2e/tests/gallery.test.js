// The widget gallery (/gallery): every widget renders, at native resolution, and reports touches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shareBrowserAndServer, until } from '../lib/harness.js';
import { openPage, screenshot } from '../lib/pages.js';

const shared = shareBrowserAndServer();

const CHARTS = ['w-series', 'w-ranking', 'w-stacked', 'w-ring', 'w-gauge', 'w-pipeline', 'w-compare'];

/** Per chart canvas: its size against CSS × devicePixelRatio, and the share of non-transparent pixels. */
function charts(page) {
  return page.evaluate((ids) => ids.map((id) => {
    const c = document.querySelector(`canvas[data-testid="${id}"]`);
    if (!c) return { id, missing: true };
    const dpr = window.devicePixelRatio;
    const d = c.width && c.height ? c.getContext('2d').getImageData(0, 0, c.width, c.height).data : [];
    let ink = 0;
    for (let i = 3; i < d.length; i += 64) if (d[i] > 0) ink++;
    return {
      id,
      width: c.width,
      height: c.height,
      expectWidth: Math.round(c.clientWidth * dpr),
      expectHeight: Math.round(c.clientHeight * dpr),
      ink: d.length ? ink / (d.length / 64) : 0,
      draws: Number(c.dataset.draws ?? 0),
    };
  }), CHARTS);
}

async function checkRendered(page, label) {
  const rows = await until(async () => {
    const r = await charts(page);
    return r.every((c) => !c.missing && c.draws > 0 && c.ink > 0.005) ? r : null;
  }, 20_000, `every chart drawn at ${label}`);
  for (const c of rows) {
    assert.equal(c.width, c.expectWidth, `${c.id} is drawn at device pixels (${label})`);
    assert.equal(c.height, c.expectHeight, `${c.id} is drawn at device pixels (${label})`);
  }
  // The DOM widgets: KPI numbers and the ticker's alerts.
  const kpi = await page.locator('[data-testid="w-kpi"] .kpi-number').innerText();
  assert.match(kpi, /^\d+(\.\d+)?$/, `KPI shows a number, got ${kpi}`);
  assert.ok(await page.locator('[data-testid="w-ticker"] .tick:not([hidden])').count() >= 4, 'ticker shows the alerts');
  assert.equal(await page.locator('section.g-stale').getAttribute('data-freshness'), 'stale', 'an old panel shows stale');
  return rows;
}

test('every widget renders non-blank at device pixels at 1920×1080 and 7680×2160', async () => {
  for (const [w, h] of [[1920, 1080], [7680, 2160]]) {
    const { page, errors } = await openPage(shared.browser, `${shared.server.url}/gallery`, { width: w, height: h });
    await checkRendered(page, `${w}×${h}`);
    // Live: the ranking redraws as the sample data moves, without re-creating its canvas.
    const handle = await page.locator('canvas[data-testid="w-ranking"]').elementHandle();
    const before = Number(await handle.getAttribute('data-draws'));
    await until(async () => Number(await handle.getAttribute('data-draws')) > before + 1, 10_000, 'ranking redraws');
    assert.ok(await handle.evaluate((el) => el.isConnected), 'the same canvas is kept');
    // The KPI counts to each new value and keeps up with the data.
    const kpi = page.locator('[data-testid="w-kpi"]');
    const v0 = await kpi.getAttribute('data-value');
    await until(async () => (await kpi.getAttribute('data-value')) !== v0, 5_000, 'the KPI value to move');
    await until(async () => {
      const [n, v] = [await kpi.locator('.kpi-number').innerText(), Number(await kpi.getAttribute('data-value'))];
      return Math.abs(Number(n) * 1e4 - v) < 100; // 万 with two decimals shows it within 50
    }, 5_000, 'the shown KPI to reach its value');
    await screenshot(page, `gallery-${w}x${h}.png`);
    assert.deepEqual(errors, [], 'no page errors');
    await page.close();
  }
});

test('charts follow resizes and the device pixel ratio', async () => {
  const context = await shared.browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(`${shared.server.url}/gallery?frozen`);
  const small = await checkRendered(page, '1280×720 at 2×');
  assert.ok(small.every((c) => c.width >= c.expectWidth && c.expectWidth > 0));
  const ranking = small.find((c) => c.id === 'w-ranking');
  assert.equal(ranking.width, ranking.expectWidth, 'twice the CSS width');
  await page.setViewportSize({ width: 1920, height: 1080 });
  await until(async () => {
    const r = (await charts(page)).find((c) => c.id === 'w-ranking');
    return r.width === r.expectWidth && r.width > ranking.width ? r : null;
  }, 10_000, 'the ranking to redraw at its new size');
  await checkRendered(page, '1920×1080 at 2× after a resize');
  await context.close();
});

test('a touch on a bar reports the right region, on every row and in English too', async () => {
  const { page } = await openPage(shared.browser, `${shared.server.url}/gallery?frozen`);
  await checkRendered(page, 'frozen');
  const canvas = page.locator('canvas[data-testid="w-ranking"]');
  const box = await canvas.boundingBox();
  const rows = 10;
  const picks = [];
  for (let i = 0; i < rows; i++) {
    await canvas.click({ position: { x: box.width * 0.5, y: (box.height / rows) * (i + 0.5) } });
    const out = page.locator('[data-testid="last-pick"]');
    picks.push({ widget: await out.getAttribute('data-widget'), key: await out.getAttribute('data-key'), value: Number(await out.getAttribute('data-value')), text: await out.innerText() });
  }
  assert.ok(picks.every((p) => p.widget === 'ranking'));
  // The sample patrols put 武汉 (420100) first, then 襄阳 (420600) and 宜昌 (420500).
  assert.deepEqual(picks.slice(0, 3).map((p) => p.key), ['420100', '420600', '420500']);
  assert.match(picks[0].text, /武汉/);
  for (let i = 1; i < rows; i++) assert.ok(picks[i].value <= picks[i - 1].value, `row ${i} is not above row ${i - 1}`);
  assert.equal(new Set(picks.map((p) => p.key)).size, rows, 'each row reports its own region');

  // The comparison: the left bar of the first pair is this period's 武汉.
  const cmp = page.locator('canvas[data-testid="w-compare"]');
  const cb = await cmp.boundingBox();
  // Bars stand on the axis: click low in the first slot, left of its centre.
  const plotLeft = await cmp.evaluate(() => 4.2 * parseFloat(getComputedStyle(document.documentElement).fontSize));
  const slot = (cb.width - plotLeft) / 5;
  await cmp.click({ position: { x: plotLeft + slot * 0.5 - 8, y: cb.height * 0.8 } });
  const out = page.locator('[data-testid="last-pick"]');
  assert.equal(await out.getAttribute('data-widget'), 'comparison');
  assert.equal(await out.getAttribute('data-key'), '420100');
  assert.equal(await out.getAttribute('data-series'), '本期');

  // The ticker reports the alert touched.
  // (It scrolls, so it is never "stable" for a pointer click: dispatch the click to it.)
  await page.locator('[data-testid="w-ticker"] .tick[data-alert="A-1002"]').dispatchEvent('click');
  assert.equal(await out.getAttribute('data-key'), 'A-1002');
  await page.close();

  const { page: en } = await openPage(shared.browser, `${shared.server.url}/gallery?frozen&lang=en`);
  await checkRendered(en, 'English');
  const c2 = en.locator('canvas[data-testid="w-ranking"]');
  const b2 = await c2.boundingBox();
  await c2.click({ position: { x: b2.width * 0.5, y: b2.height / 20 } });
  assert.match(await en.locator('[data-testid="last-pick"]').innerText(), /Wuhan/);
  await screenshot(en, 'gallery-en-1920x1080.png');
  await en.close();
});
