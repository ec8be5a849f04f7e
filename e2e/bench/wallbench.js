// Benchmark of /wallbench (not a test): the peers' fixed wall workload (../shared/WALLBENCH.md)
// on the product's map and widgets. What the peer's driver (measure.mjs) cannot see, because
// yiping draws in animation frames rather than inside update():
// - first paint: navigation → `window.wall.ready` (the first frame with the map's 1,000 markers
//   and the 12 charts drawn), as `timings.readyMs`;
// - update → the map's frame drawn with it (`data-frame-at` of the map canvas) and → the first
//   animation frame after that one (what is on screen), one update a second;
// - stress: N updates as fast as the page allows (a macrotask after each, as measure.mjs does),
//   JS heap after GC and the wasm memory every N/10 updates.
//
//   node bench/wallbench.js [seconds=30] [updates=10000] [viewports=7680x2160,1920x1080]
import { serve, closeAll, launchBrowser } from '../lib/harness.js';
import { openPage } from '../lib/pages.js';
import os from 'node:os';

const seconds = Number(process.argv[2] ?? 30);
const updates = Number(process.argv[3] ?? 10_000);
const viewports = (process.argv[4] ?? '7680x2160,1920x1080').split(',').map((v) => v.split('x').map(Number));

const q = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};
const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const mib = (b) => (b / 1048576).toFixed(2);
const load = () => os.loadavg()[0].toFixed(2);

async function open(browser, url, w, h) {
  const { page, errors } = await openPage(browser, `${url}/wallbench?auto=0`, { width: w, height: h });
  await page.waitForFunction(() => window.wall && window.wall.ready, null, { timeout: 30_000 });
  await page.evaluate(() => window.wall.ready);
  const cdp = await page.context().newCDPSession(page);
  const memory = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    return { heap: heap.usedSize, wasm: await page.evaluate(() => window.wall.memoryBytes()) };
  };
  return { page, errors, memory };
}

async function steady(browser, url, w, h) {
  const { page, errors, memory } = await open(browser, url, w, h);
  const ready = await page.evaluate(() => window.wall.timings.readyMs);
  const m0 = await memory();
  const r = await page.evaluate(async (ms) => {
    const map = document.querySelector('.wallbench canvas[data-testid="map"]');
    const frames = [];
    const toMap = [];
    const toScreen = [];
    let done = false;
    let last = null;
    const loop = (t) => { if (last !== null) frames.push(t - last); last = t; if (!done) requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
    const one = () => new Promise((resolve) => {
      const before = Number(map.dataset.frameAt ?? 0);
      const t0 = performance.now();
      window.wall.update();
      const seen = new MutationObserver(() => {
        const at = Number(map.dataset.frameAt);
        if (at <= before) return;
        seen.disconnect();
        toMap.push(at - t0);
        requestAnimationFrame(() => { toScreen.push(performance.now() - t0); resolve(); });
      });
      seen.observe(map, { attributes: true, attributeFilter: ['data-frame-at'] });
    });
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      const t = performance.now();
      await one();
      await new Promise((r2) => setTimeout(r2, Math.max(0, 1000 - (performance.now() - t))));
    }
    done = true;
    return { frames, toMap, toScreen };
  }, seconds * 1000);
  const m1 = await memory();
  await page.close();
  return { ready, ...r, m0, m1, errors };
}

async function stress(browser, url, w, h) {
  const { page, errors, memory } = await open(browser, url, w, h);
  const samples = [{ n: 0, ...(await memory()) }];
  const step = Math.max(1, Math.round(updates / 10));
  const t0 = Date.now();
  const times = [];
  for (let n = 0; n < updates; n += step) {
    times.push(...(await page.evaluate(async (k) => {
      const ch = new MessageChannel();
      const yieldTask = () => new Promise((r) => { ch.port1.onmessage = r; ch.port2.postMessage(0); });
      const out = [];
      for (let i = 0; i < k; i++) {
        const t = performance.now();
        window.wall.update();
        out.push(performance.now() - t);
        await yieldTask();
      }
      return out;
    }, Math.min(step, updates - n))));
    samples.push({ n: Math.min(updates, n + step), ...(await memory()) });
  }
  const secs = (Date.now() - t0) / 1000;
  await page.waitForTimeout(1500);
  const end = await memory();
  await page.close();
  return { samples, end, secs, times, errors };
}

const browser = await launchBrowser();
const server = await serve({ args: ['--no-simulator'] });
try {
  console.log(`machine: ${os.cpus().length} cores, load ${load()} at start`);
  for (const [w, h] of viewports) {
    const r = await steady(browser, server.url, w, h);
    console.log(`${w}×${h} steady, ${seconds} s at 1 update/s (load ${load()}):`);
    console.log(`  first paint (navigation → ready: map and 12 charts drawn) ${f(r.ready)} ms`);
    console.log(`  frame interval p50/p95/max ${f(q(r.frames, 0.5))}/${f(q(r.frames, 0.95))}/${f(Math.max(...r.frames))} ms, ${(1000 * r.frames.length / r.frames.reduce((a, b) => a + b, 0)).toFixed(1)} fps, ${r.frames.filter((x) => x > 50).length} frames over 50 ms`);
    console.log(`  update → map frame drawn p50/p95/max ${f(q(r.toMap, 0.5))}/${f(q(r.toMap, 0.95))}/${f(Math.max(...r.toMap))} ms; → the frame after it ${f(q(r.toScreen, 0.5))}/${f(q(r.toScreen, 0.95))}/${f(Math.max(...r.toScreen))} ms (${r.toMap.length} updates)`);
    console.log(`  JS heap ${mib(r.m0.heap)} → ${mib(r.m1.heap)} MiB, wasm ${mib(r.m0.wasm)} → ${mib(r.m1.wasm)} MiB; page errors ${r.errors.length}`);
  }
  if (updates > 0) {
    const [w, h] = viewports[0];
    const s = await stress(browser, server.url, w, h);
    console.log(`${w}×${h} stress, ${updates} updates in ${s.secs.toFixed(0)} s (${(updates / s.secs).toFixed(1)}/s, load ${load()}): update() p50/p95/max ${f(q(s.times, 0.5))}/${f(q(s.times, 0.95))}/${f(Math.max(...s.times))} ms`);
    console.log(`  JS heap MiB by updates: ${s.samples.map((x) => `${x.n}: ${mib(x.heap)}`).join(', ')}; end ${mib(s.end.heap)}`);
    console.log(`  wasm MiB by updates:    ${s.samples.map((x) => `${x.n}: ${mib(x.wasm)}`).join(', ')}; end ${mib(s.end.wasm)}`);
    console.log(`  page errors ${s.errors.length}`);
  }
} finally {
  await closeAll(browser, server);
}
