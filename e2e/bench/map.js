// Benchmark of the map engine (not a test): frame interval and update-to-next-frame times with
// the 103-county choropleth, rivers, lakes, names and 1,000 live markers (20 pulsing) updating
// every second, at 1920×1080 and 7680×2160; the same with every frame a full redraw, for
// comparison; and JS heap and wasm memory after 10,000 updates.
//
//   node bench/map.js [seconds=10] [updates=10000]
//
// Chromium here rasterises in software on busy cores: compare the two modes and the memory
// figures, rather than reading the absolute times as a GPU wall's.
import { serve, closeAll, launchBrowser, until } from '../lib/harness.js';
import { openPage } from '../lib/pages.js';

const seconds = Number(process.argv[2] ?? 10);
const updates = Number(process.argv[3] ?? 10_000);

const q = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const f = (x) => (Number.isFinite(x) ? x.toFixed(1).padStart(7) : '      —');

async function measure(browser, url, w, h) {
  const { page, errors } = await openPage(browser, url, { width: w, height: h });
  await until(() => page.locator('[data-testid="mapbench"]').getAttribute('data-updates').then((v) => Number(v) >= 2), 60_000, 'the map under load');
  await page.waitForTimeout(1500);
  const result = await page.evaluate(async (ms) => {
    const canvas = document.querySelector('canvas[data-testid="map"]');
    const root = document.querySelector('[data-testid="mapbench"]');
    const num = (el, k) => Number(el.getAttribute(k));
    const start = { live: num(canvas, 'data-live-draws'), liveMs: num(canvas, 'data-live-ms-total'), stat: num(canvas, 'data-static-draws'), statMs: num(canvas, 'data-static-ms-total') };
    // Update → the first frame drawn after it.
    const latencies = [];
    let pending = null;
    const onUpdate = new MutationObserver(() => { pending = num(root, 'data-update-at'); });
    onUpdate.observe(root, { attributes: true, attributeFilter: ['data-update-at'] });
    const onFrame = new MutationObserver(() => {
      if (pending !== null) { latencies.push(num(canvas, 'data-frame-at') - pending); pending = null; }
    });
    onFrame.observe(canvas, { attributes: true, attributeFilter: ['data-frame-at'] });
    // Frame intervals from requestAnimationFrame.
    const intervals = [];
    await new Promise((done) => {
      let last = null;
      const t0 = performance.now();
      const tick = (t) => {
        if (last !== null) intervals.push(t - last);
        last = t;
        if (t - t0 < ms) requestAnimationFrame(tick); else done();
      };
      requestAnimationFrame(tick);
    });
    onUpdate.disconnect();
    onFrame.disconnect();
    const end = { live: num(canvas, 'data-live-draws'), liveMs: num(canvas, 'data-live-ms-total'), stat: num(canvas, 'data-static-draws'), statMs: num(canvas, 'data-static-ms-total') };
    return {
      intervals,
      latencies,
      liveMs: (end.liveMs - start.liveMs) / Math.max(1, end.live - start.live),
      liveN: end.live - start.live,
      staticMs: (end.statMs - start.statMs) / Math.max(1, end.stat - start.stat),
      staticN: end.stat - start.stat,
      canvas: `${canvas.width}×${canvas.height}`,
    };
  }, seconds * 1000);
  await page.close();
  if (errors.length) throw new Error(`the page failed: ${errors.join('; ')}`);
  return result;
}

const server = await serve();
const browser = await launchBrowser();
try {
  console.log(`map benchmark: 103-county choropleth, rivers, lakes, names, 1,000 markers (20 pulsing) moving every second; ${seconds} s per row`);
  console.log('size        mode          frame p50  p95 ms   update→frame p50  p95 ms   draw ms (frames)');
  for (const [w, h] of [[1920, 1080], [7680, 2160]]) {
    for (const [mode, suffix] of [['live tiers', ''], ['full redraw', '?full']]) {
      const r = await measure(browser, `${server.url}/mapbench${suffix}`, w, h);
      const draw = mode === 'full redraw' ? `${r.staticMs.toFixed(2)} (${r.staticN} full)` : `${r.liveMs.toFixed(2)} (${r.liveN} live), tiers ${r.staticN ? r.staticMs.toFixed(1) : '—'}`;
      console.log(`${`${w}×${h}`.padEnd(11)} ${mode.padEnd(12)} ${f(q(r.intervals, 0.5))} ${f(q(r.intervals, 0.95))}   ${f(q(r.latencies, 0.5))}      ${f(q(r.latencies, 0.95))}   ${draw}`);
    }
  }

  // Memory: the same page through 10,000 updates, twice.
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const cdp = await page.context().newCDPSession(page);
  const memory = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    const wasm = Number(await page.locator('[data-testid="mapbench"]').getAttribute('data-wasm-bytes'));
    const dom = await page.evaluate(() => document.getElementsByTagName('*').length);
    return { heap: heap.usedSize, wasm, dom };
  };
  const done = () => page.locator('[data-testid="mapbench"][data-bench-done="1"]').count();
  await page.goto(`${server.url}/mapbench?bench=300&more=${updates}&per_frame=10`);
  await until(done, 300_000, 'warm-up');
  await page.waitForTimeout(1500);
  const m0 = await memory();
  await page.locator('[data-testid="bench-more"]').dispatchEvent('click');
  await until(done, 1_800_000, 'updates');
  await page.waitForTimeout(1500);
  const m1 = await memory();
  await page.locator('[data-testid="bench-more"]').dispatchEvent('click');
  await until(done, 1_800_000, 'updates again');
  await page.waitForTimeout(1500);
  const m2 = await memory();
  const mb = (b) => (b / 1048576).toFixed(2);
  console.log(`memory at 1920×1080: after 300 updates JS heap ${mb(m0.heap)} MB, wasm ${mb(m0.wasm)} MB, ${m0.dom} DOM elements`);
  console.log(`                     after ${updates} more  JS heap ${mb(m1.heap)} MB, wasm ${mb(m1.wasm)} MB, ${m1.dom} DOM elements`);
  console.log(`                     after ${updates} more  JS heap ${mb(m2.heap)} MB, wasm ${mb(m2.wasm)} MB, ${m2.dom} DOM elements`);
} finally {
  await closeAll(browser, server);
}
