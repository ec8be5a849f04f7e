// Soak benchmark (not a test): a wall left on the carousel, stepping through every screen, with the
// simulator running fast, for a long time. Every minute it prints what must stay flat on a wall
// that runs for weeks: requests per minute (by endpoint), JS heap and wasm memory (after a
// garbage collection), DOM nodes, event listeners, and the intervals, resize observers and
// websockets the page holds open (counted by wrapping their constructors before the app starts).
// It also prints how much the wall has to hold: the river problems open then (the simulator's
// slow problems take about 30 simulated days to close, so their number grows through a soak and
// the wall's memory with it: judge wasm memory against it). At the end it compares the first
// measured minutes with the last.
//
//   node bench/soak.js [minutes=30] [dwell-seconds=5] [simulator-speed=600] [WIDTHxHEIGHT=1920x1080]
import { launchBrowser, serve, closeAll } from '../lib/harness.js';
import { untilConn } from '../lib/pages.js';
import { loadavg, cpus } from 'node:os';

const minutes = Number(process.argv[2] ?? 30);
const dwell = Number(process.argv[3] ?? 5);
const speed = Number(process.argv[4] ?? 600);
const [width, height] = (process.argv[5] ?? '1920x1080').split('x').map(Number);

const server = await serve({ args: ['--speed', String(speed)] });
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width, height } });
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
// Count what the page keeps alive: intervals, resize observers, websockets; and keep the wasm
// module's exports (its memory) when Trunk's loader announces them.
await page.addInitScript(() => {
  const live = { intervals: new Set(), observers: new Set(), sockets: new Set() };
  window.__soak = live;
  const si = window.setInterval.bind(window);
  const ci = window.clearInterval.bind(window);
  window.setInterval = (...a) => { const id = si(...a); live.intervals.add(id); return id; };
  window.clearInterval = (id) => { live.intervals.delete(id); return ci(id); };
  const RO = window.ResizeObserver;
  window.ResizeObserver = class extends RO {
    constructor(cb) { super(cb); this.__n = 0; }
    observe(t, o) { this.__n++; live.observers.add(this); return super.observe(t, o); }
    unobserve(t) { this.__n = Math.max(0, this.__n - 1); if (!this.__n) live.observers.delete(this); return super.unobserve(t); }
    disconnect() { this.__n = 0; live.observers.delete(this); return super.disconnect(); }
  };
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...a) { super(...a); live.sockets.add(this); this.addEventListener('close', () => live.sockets.delete(this)); }
  };
  addEventListener('TrunkApplicationStarted', (e) => { window.__wasm = e.detail.wasm; });
});
const requests = new Map();
page.on('request', (r) => {
  const u = new URL(r.url());
  if (!u.pathname.startsWith('/api/') && u.pathname !== '/ws') return;
  const key = u.pathname.replace(/\/api\/v1\/entities\/.*/, '/api/v1/entities/…').replace(/\/api\/v1\/regions\/.*/, '/api/v1/regions/…');
  requests.set(key, (requests.get(key) ?? 0) + 1);
});
const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable');
await page.goto(`${server.url}/?carousel=${dwell}`);
await untilConn(page, 'live', 30_000, 'the wall live');

async function sample() {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  const page_ = await page.evaluate(() => ({
    wasm: window.__wasm?.memory?.buffer?.byteLength ?? NaN,
    intervals: window.__soak.intervals.size,
    observers: window.__soak.observers.size,
    sockets: [...window.__soak.sockets].filter((s) => s.readyState <= 1).length,
    screen: document.querySelector('[data-testid=wall]')?.getAttribute('data-screen'),
  }));
  const overview = await fetch(`${server.url}/api/v1/overview`).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  const open = overview?.rivers?.problems_open ?? NaN;
  return { heap: m.JSHeapUsedSize, nodes: m.Nodes, listeners: m.JSEventListeners, open, ...page_ };
}

const mb = (b) => (b / 1048576).toFixed(2);
const rows = [];
const started = Date.now();
console.log(`soak: /?carousel=${dwell} at ${width}×${height}, simulator ×${speed}, ${minutes} min; machine: ${cpus().length} cores`);
console.log('min  requests/min (by endpoint)                                   JS heap MB  wasm MB  DOM nodes  listeners  intervals  observers  sockets  open problems  load');
const screens = new Set();
for (let minute = 1; minute <= minutes; minute++) {
  requests.clear();
  const until = started + minute * 60_000;
  while (Date.now() < until) {
    screens.add(await page.evaluate(() => document.querySelector('[data-testid=wall]')?.getAttribute('data-screen')));
    await page.waitForTimeout(Math.min(2_000, Math.max(0, until - Date.now())));
  }
  const per = Object.fromEntries([...requests].sort());
  const total = [...requests.values()].reduce((a, b) => a + b, 0);
  const s = await sample();
  rows.push({ minute, total, per, ...s });
  const detail = Object.entries(per).map(([k, v]) => `${k.replace('/api/v1/', '')} ${v}`).join(', ');
  console.log(`${String(minute).padStart(3)}  ${String(total).padStart(4)} (${detail})`.padEnd(64).slice(0, 64) +
    `  ${mb(s.heap).padStart(9)}  ${mb(s.wasm).padStart(7)}  ${String(s.nodes).padStart(9)}  ${String(s.listeners).padStart(9)}  ${String(s.intervals).padStart(9)}  ${String(s.observers).padStart(9)}  ${String(s.sockets).padStart(7)}  ${String(s.open).padStart(13)}  ${loadavg()[0].toFixed(2)}`);
}
// First measured minutes (after one of warm-up) against the last ones.
const k = Math.max(1, Math.floor((rows.length - 1) / 3));
// Over the samples that have the figure (a failed read of the overview gives none).
const avg = (xs, f) => {
  const v = xs.map(f).filter(Number.isFinite);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
};
const first = rows.slice(1, 1 + k);
const last = rows.slice(-k);
if (first.length && last.length) {
  console.log(`\nminutes ${first[0].minute}–${first.at(-1).minute} against ${last[0].minute}–${last.at(-1).minute} (averages):`);
  for (const [name, f, unit] of [
    ['requests/min', (r) => r.total, ''], ['JS heap', (r) => r.heap / 1048576, ' MB'], ['wasm memory', (r) => r.wasm / 1048576, ' MB'],
    ['DOM nodes', (r) => r.nodes, ''], ['listeners', (r) => r.listeners, ''], ['intervals', (r) => r.intervals, ''],
    ['observers', (r) => r.observers, ''], ['sockets', (r) => r.sockets, ''], ['open problems', (r) => r.open, ''],
  ]) {
    console.log(`  ${name.padEnd(13)} ${avg(first, f).toFixed(1).padStart(9)}${unit} → ${avg(last, f).toFixed(1).padStart(9)}${unit}`);
  }
}
console.log(`screens shown: ${[...screens].filter(Boolean).sort().join(', ')}; page errors: ${errors.length}${errors.length ? ` (${errors[0]})` : ''}`);
await closeAll(browser, server);
