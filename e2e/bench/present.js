// Presenting latency: from a console action (a touch on a button or on the miniature, in the
// console's page) to the frame in which the wall shows it (the wall notes the time after the
// first animation frame that follows the control has been drawn and committed,
// `window.yipingPresentFrames`), over the real websocket, with the
// simulator feeding the server. Both pages are on this machine, so their clocks
// (performance.timeOrigin + now) are one clock. Prints p50/p99 by kind of control.
//
//   node bench/present.js [N=200] [WIDTHxHEIGHT=1920x1080] [quiet]
//
// `quiet`: no simulator (no data moving, no alerts pulsing on the map), to separate what the
// wall's own redrawing costs from what presenting costs. NORINGS=1: the simulator runs but the
// alerts' rings do not pulse on the wall. Headless Chromium composites in software: while a ring
// pulses at 7680×2160 its display compositor spends 40–50 ms on every frame (a trace's
// VizCompositorThread), on the cores the pages and the server share; a wall's GPU does not.
import { launchBrowser, serve, closeAll, until } from '../lib/harness.js';
import { runYiping } from '../lib/cli.js';
import { openPage, untilConn } from '../lib/pages.js';
import { loadavg, cpus } from 'node:os';

// 200 each by default: a p99 needs at least 100 samples to be more than the largest one.
const n = Number(process.argv[2] ?? 200);
const [width, height] = (process.argv[3] ?? '1920x1080').split('x').map(Number);
const PW = 'long-enough-pw';
const quiet = process.argv[4] === 'quiet';
const server = await serve({ args: quiet ? ['--no-simulator'] : [] });
runYiping(['user', 'add', '--name', 'bench', '--role', 'presenter', '--data', server.dataDir], { input: `${PW}\n` });
const browser = await launchBrowser();
const { page: wall } = await openPage(browser, `${server.url}/?wall=bench`, { width, height });
await untilConn(wall, 'live', 30_000, 'the wall live');
if (process.env.NORINGS) await wall.addStyleTag({ content: '.map-ring { animation: none !important; display: none !important }' });
const { page: con } = await openPage(browser, `${server.url}/present?wall=bench`, { width: 1280, height: 800 });
await con.fill('[data-testid=login-name]', 'bench');
await con.fill('[data-testid=login-password]', PW);
await con.click('[data-testid=login-submit]');
await until(() => con.isVisible('[data-testid=take]'), 20_000, 'the console');
await con.click('[data-testid=take]');
await until(() => con.getAttribute('[data-testid=present-status]', 'data-yours').then((y) => y === 'true'), 5_000, 'in control');
await con.waitForTimeout(3_000); // the miniature loads

const frames = () => wall.evaluate(() => (window.yipingPresentFrames ?? []).length);
const lastFrame = () => wall.evaluate(() => { const f = window.yipingPresentFrames; return f[f.length - 1][1]; });

/** Run `act` in the console (it returns the time it acted) and wait for the wall's frame. */
async function measure(act, arg) {
  const before = await frames();
  const t0 = await con.evaluate(act, arg);
  await until(async () => (await frames()) > before, 5_000, 'the wall\'s frame');
  return (await lastFrame()) - t0;
}

const now = 'performance.timeOrigin + performance.now()';
const click = new Function('sel', `const t = ${now}; document.querySelector(sel).click(); return t;`);
const point = new Function('f', `
  const o = document.querySelector('[data-testid=mini-overlay]');
  const r = o.getBoundingClientRect();
  const t = ${now};
  o.dispatchEvent(new PointerEvent('pointerdown', { clientX: r.left + r.width * f, clientY: r.top + r.height / 2, pointerId: 1, bubbles: true }));
  return t;`);

// Region changes measured from the select's change event.
const region = new Function('code', `const s = document.querySelector('[data-testid=region]'); const t = ${now}; s.value = code; s.dispatchEvent(new Event('change', { bubbles: true })); return t;`);
const screens = ['yangtze', 'rivers', 'projects', 'poverty', 'overview'];
const regions = ['420200', '420100', '420500', ''];
const kinds = { screen: [], region: [], pointer: [] };
const byScreen = Object.fromEntries(screens.map((k) => [k, []]));
// Warm-up, not counted: the first visit to each screen (code compiled on first use, first
// fetches). It is printed apart.
const first = [];
for (const s of screens) {
  first.push(await measure(click, `[data-testid=screen-${s}]`));
  await con.waitForTimeout(300);
}
for (let i = 0; i < n; i++) {
  const ms = await measure(click, `[data-testid=screen-${screens[i % screens.length]}]`);
  kinds.screen.push(ms);
  byScreen[screens[i % screens.length]].push(ms);
  await con.waitForTimeout(150);
  // A region for the next screen change (its frame awaited, so that it is not taken for the
  // next change's).
  await measure(region, regions[i % regions.length]);
  await con.waitForTimeout(150);
}
await con.click('[data-testid=mode-point]');
for (let i = 0; i < n; i++) {
  kinds.pointer.push(await measure(point, 0.1 + 0.8 * (i / n)));
  await con.waitForTimeout(60);
}
await con.click('[data-testid=mode-operate]');
for (let i = 0; i < n; i++) {
  kinds.region.push(await measure(region, regions[i % regions.length]));
  await con.waitForTimeout(150);
}
// Nearest rank: the smallest value with at least p of the samples at or below it.
const q = (v, p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))].toFixed(1);
console.log(`console action → wall frame, wall ${width}×${height}, ${n} each, ${quiet ? 'no data' : 'simulator on'}${process.env.NORINGS ? ', rings not pulsing' : ''}; machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const [k, v] of Object.entries(kinds)) {
  v.sort((a, b) => a - b);
  console.log(`  ${k.padEnd(8)} p50 ${q(v, 0.5)} ms  p90 ${q(v, 0.9)} ms  p99 ${q(v, 0.99)} ms  max ${v[v.length - 1].toFixed(1)} ms`);
  if (process.env.ALL) console.log(v.map((x) => x.toFixed(0)).join(" "));
}
console.log(`  first visit to each screen (not counted above): ${first.map((x) => x.toFixed(0)).join(' ')} ms`);
if (process.env.ALL) for (const [k, v] of Object.entries(byScreen)) console.log(`  to ${k}: ${v.map((x) => x.toFixed(0)).join(' ')}`);
await closeAll(browser, server);
