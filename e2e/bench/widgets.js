// Benchmark of the wall widgets (not a test): redraw time per widget at 3840×2160, and memory
// after 10,000 data updates. Runs the real server and the /gallery page in Debian's Chromium.
//
//   node bench/widgets.js [updates=10000] [per_frame=10] [noflush]
//
// By default each chart waits for its pixels after drawing (`flush`), so the time includes
// rasterisation; `noflush` times only the drawing calls.
//
// Chromium here renders in software on busy cores: compare widgets with each other and memory
// before and after, rather than reading the absolute times as a GPU wall's.
import { serve, closeAll, launchBrowser, until } from '../lib/harness.js';

const CHARTS = ['w-series', 'w-ranking', 'w-stacked', 'w-ring', 'w-gauge', 'w-pipeline', 'w-compare'];
const updates = Number(process.argv[2] ?? 10_000);
const perFrame = Number(process.argv[3] ?? 10);
const flush = process.argv[4] !== 'noflush';
// ONLY=w-ranking,w-ring restricts the page to some widgets (to find which one costs what).
const only = process.env.ONLY ? `&only=${process.env.ONLY}` : '';
const charts = CHARTS.filter((id) => !process.env.ONLY || process.env.ONLY.split(',').includes(id));

const server = await serve();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 3840, height: 2160 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const cdp = await page.context().newCDPSession(page);
  const memory = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    const dom = await page.evaluate(() => document.getElementsByTagName('*').length);
    const wasm = Number(await page.locator('[data-testid="gallery"]').getAttribute('data-wasm-bytes'));
    return { heap: heap.usedSize, dom, wasm };
  };
  const draws = () => page.evaluate((ids) => Object.fromEntries(ids.map((id) => {
    const c = document.querySelector(`canvas[data-testid="${id}"]`);
    return [id, { draws: Number(c.dataset.draws), total: Number(c.dataset.drawMsTotal), w: c.width, h: c.height }];
  })), charts);

  // Warm up: a few hundred updates so everything has drawn and been compiled; then the measured
  // run on the same page.
  await page.goto(`${server.url}/gallery?bench=300&more=${updates}&per_frame=${perFrame}${flush ? '&flush' : ''}${only}`);
  await until(() => page.locator('[data-testid="gallery"][data-bench-done="1"]').count(), 120_000, 'warm-up');
  await page.waitForTimeout(1500);
  const before = await memory();
  const d0 = await draws();
  const t0 = Date.now();
  await page.locator('[data-testid="bench-more"]').dispatchEvent('click');
  await until(() => page.locator('[data-testid="gallery"][data-bench-done="1"]').count(), 1_800_000, 'bench run');
  const seconds = (Date.now() - t0) / 1000;
  await page.waitForTimeout(1500); // let the last animation frames finish
  const d1 = await draws();
  const after = await memory();
  // Once more: memory that grows again is a leak; memory that stays is the working set.
  await page.locator('[data-testid="bench-more"]').dispatchEvent('click');
  await until(() => page.locator('[data-testid="gallery"][data-bench-done="1"]').count(), 1_800_000, 'second run');
  await page.waitForTimeout(1500);
  const again = await memory();

  if (errors.length) throw new Error(`the page failed: ${errors.join('; ')}`);
  console.log(`widgets at 3840×2160 (dpr 1), ${updates} updates, ${perFrame} per frame${flush ? ', drawing + rasterisation' : ', drawing calls only'}, ${seconds.toFixed(1)} s`);
  console.log('widget        canvas      draws  mean redraw ms');
  for (const id of charts) {
    const r = d1[id];
    const n = r.draws - d0[id].draws;
    console.log(`${id.padEnd(13)} ${`${r.w}×${r.h}`.padEnd(11)} ${String(n).padStart(6)}  ${((r.total - d0[id].total) / n).toFixed(2).padStart(8)}`);
  }
  const mb = (b) => (b / 1048576).toFixed(2);
  console.log(`after 300 warm-up updates: JS heap ${mb(before.heap)} MB, wasm ${mb(before.wasm)} MB, ${before.dom} DOM elements`);
  console.log(`after ${updates} more updates:    JS heap ${mb(after.heap)} MB, wasm ${mb(after.wasm)} MB, ${after.dom} DOM elements`);
  console.log(`after ${updates} more again:      JS heap ${mb(again.heap)} MB, wasm ${mb(again.wasm)} MB, ${again.dom} DOM elements`);
} finally {
  await closeAll(browser, server);
}
