// Where the first paint's time goes (not a test; `firstpaint.js` gives the figures): one run at
// each size, traced by Chromium, in a fresh context. Prints when the legend appeared and the first
// map frame with data was drawn (as `firstpaint.js` measures them, but slower: tracing and the
// canvas wrapper cost time, so compare these only with each other), and every task of the page's
// main thread over 8 ms from navigation to that frame, with the largest steps inside it (wasm
// compiling, `FunctionCall` for the app's own code, `Layout`, `FireAnimationFrame` for a frame,
// `Commit` to the compositor). Then, in another run, what the canvas calls of the same span cost
// (in software raster, a canvas call pays for the drawing recorded before it, and for its bitmap
// on first touch). Times are ms from navigation.
//
//   node bench/firstpaint-trace.js
import { launchBrowser, serve, closeAll } from '../lib/harness.js';
import { watchFirstPaint } from '../lib/pages.js';
import { loadavg } from 'node:os';

const server = await serve();
let browser;

// In the page, with `wrap`: the time spent in each canvas call before the first map frame with
// data (`watchFirstPaint`), by call and canvas size.
const wrapCanvas = () => {
  window.__calls = {};
  const proto = CanvasRenderingContext2D.prototype;
  for (const name of ['fill', 'stroke', 'drawImage', 'clearRect', 'fillRect', 'strokeRect', 'fillText', 'strokeText', 'measureText', 'getImageData', 'putImageData']) {
    const call = proto[name];
    proto[name] = function (...args) {
      const t = performance.now();
      const out = call.apply(this, args);
      if (window.__firstPaint === null) {
        const key = `${name} on ${this.canvas.width}×${this.canvas.height}`;
        const e = (window.__calls[key] ??= [0, 0]);
        e[0] += performance.now() - t;
        e[1] += 1;
      }
      return out;
    };
  }
};

async function open(width, height, wrap) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  await page.addInitScript(watchFirstPaint);
  if (wrap) await page.addInitScript(wrapCanvas);
  return { context, page };
}

const done = (page) => page.waitForFunction(() => window.__firstPaint !== null, null, { timeout: 60_000, polling: 100 });

console.log(`first paint, where the time goes; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
try {
  browser = await launchBrowser();
  for (const [width, height] of [[1920, 1080], [7680, 2160]]) {
    // (1) The main thread's tasks.
    const { context, page } = await open(width, height, false);
    const cdp = await context.newCDPSession(page);
    const events = [];
    cdp.on('Tracing.dataCollected', (d) => events.push(...d.value));
    const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['devtools.timeline', 'blink.user_timing', 'v8.execute', 'disabled-by-default-devtools.timeline'] }, transferMode: 'ReportEvents' });
    await page.goto(`${server.url}/`);
    await done(page);
    const marks = await page.evaluate(() => ({ legend: window.__legendAt, frame: window.__firstPaint }));
    await cdp.send('Tracing.end');
    await complete;
    await context.close();
    const thread = (e) => `${e.pid}:${e.tid}`;
    // The navigation to the wall (its main frame's document): where the times start, and on the
    // thread that loads it.
    const nav = events.find((e) => e.name === 'navigationStart' && e.args?.data?.isLoadingMainFrame && e.args.data.documentLoaderURL?.startsWith(server.url));
    if (!nav) throw new Error('the trace holds no navigation to the wall');
    const [start, end] = [nav.ts, nav.ts + marks.frame * 1000];
    const spans = events.filter((e) => e.ph === 'X' && e.dur && thread(e) === thread(nav));
    const tasks = spans.filter((e) => e.name === 'RunTask' && e.ts >= start && e.ts <= end && e.dur >= 8000);
    console.log(`${width}×${height}: legend at ${marks.legend.toFixed(0)}, first map frame with data at ${marks.frame.toFixed(0)}; main-thread tasks ≥ 8 ms before it:`);
    let busy = 0;
    for (const t of tasks) {
      busy += Math.min(t.ts + t.dur, end) - t.ts;
      const inside = spans
        .filter((e) => thread(e) === thread(t) && e !== t && e.name !== 'RunTask' && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && e.dur >= 3000)
        .sort((a, b) => b.dur - a.dur)
        .slice(0, 5)
        .map((e) => `${e.name} ${(e.dur / 1000).toFixed(0)}`);
      console.log(`  ${((t.ts - start) / 1000).toFixed(0)} + ${(t.dur / 1000).toFixed(0)}: ${inside.join(', ')}`);
    }
    console.log(`  (${(busy / 1000).toFixed(0)} ms in these tasks up to the frame)`);
    // (2) The canvas calls.
    const run = await open(width, height, true);
    await run.page.goto(`${server.url}/`);
    await done(run.page);
    const calls = await run.page.evaluate(() => window.__calls);
    await run.context.close();
    const top = Object.entries(calls).sort((a, b) => b[1][0] - a[1][0]).slice(0, 6);
    console.log(`  canvas calls before the frame: ${top.map(([k, [ms, n]]) => `${k} ${ms.toFixed(0)} ms (${n}×)`).join(', ')}`);
  }
} finally {
  await closeAll(browser, server);
}
