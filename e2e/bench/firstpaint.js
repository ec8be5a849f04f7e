// First paint benchmark (not a test): from navigation to the first map frame drawn with data (the
// choropleth's legend is up and the map has drawn since), in a fresh browser context each time
// (nothing cached), at 1920×1080 and 7680×2160; and what crossed the wire (bytes as sent, after
// compression) for the app and the map layers. Also how much later that frame was committed, at
// most (`watchFirstPaint` in lib/pages.js). In software raster the commit carries out the
// canvases' recorded drawing (`Commit` takes about 0.2 s of that task at 7680×2160 in
// `firstpaint-trace.js`); the screen shows the frame later still, once the compositor has drawn it.
// Then the same page reloaded in its tab 5 s later, as a wall that reloads itself: the app's
// files come from the browser's cache (their names change with their content), and in a trace
// V8 took the app's compiled module from its cache (`wasm.GetNativeModuleFromCache`) and compiled
// no function on the main thread, against about 2,500 on a first load.
//
//   node bench/firstpaint.js [runs=7]
import { launchBrowser, serve, closeAll } from '../lib/harness.js';
import { watchFirstPaint } from '../lib/pages.js';
import { loadavg, cpus } from 'node:os';

const runs = Number(process.argv[2] ?? 7);
const server = await serve();
let browser;

const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
console.log(`first paint: navigation → first map frame with data (and how much later it was committed) in a fresh context, then reloaded 5 s later, ${runs} runs; machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
try {
  browser = await launchBrowser();
  for (const [width, height] of [[1920, 1080], [7680, 2160]]) {
    const [times, later, reloaded] = [[], [], []];
    let wire = {};
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ viewport: { width, height } });
      const page = await context.newPage();
      await page.addInitScript(watchFirstPaint);
      const sizes = [];
      page.on('requestfinished', (r) => sizes.push(r.sizes().then((s) => [new URL(r.url()).pathname, s.responseBodySize, r.response()])));
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => window.__committed !== null, null, { timeout: 60_000, polling: 100 });
      const [at, done] = await page.evaluate(() => [window.__firstPaint, window.__committed]);
      times.push(at);
      later.push(done - at);
      wire = {};
      for (const [path, bytes, resp] of await Promise.all(sizes)) {
        const kind = path.endsWith('.wasm') ? 'wasm' : path.startsWith('/geo/') ? 'map layers' : path.startsWith('/api/') ? 'api' : 'html, js, css';
        const enc = (await resp)?.headers()['content-encoding'] ?? 'identity';
        wire[kind] = wire[kind] ?? { bytes: 0, enc: new Set() };
        wire[kind].bytes += bytes;
        wire[kind].enc.add(enc);
      }
      await page.waitForTimeout(5000);
      await page.reload();
      await page.waitForFunction(() => window.__committed !== null, null, { timeout: 60_000, polling: 100 });
      reloaded.push(await page.evaluate(() => window.__firstPaint));
      await context.close();
    }
    const detail = Object.entries(wire).map(([k, v]) => `${k} ${(v.bytes / 1024).toFixed(0)} KiB (${[...v.enc].join('/')})`).join(', ');
    console.log(`  ${width}×${height}: p50 ${q(times, 0.5).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms (committed p50 ${q(later, 0.5).toFixed(0)} ms later); reloaded: p50 ${q(reloaded, 0.5).toFixed(0)} ms, max ${Math.max(...reloaded).toFixed(0)} ms; on the wire: ${detail}`);
  }
} finally {
  await closeAll(browser, server);
}
