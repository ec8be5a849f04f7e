// Alert latency: how long from POSTing the event that breaks a rule to the red alert on the
// wall's ticker, in Chromium, over N incidents (each a village whose households at risk jump from
// 0 to 12). Prints the distribution.
//
//   node bench/alerts.js [N=30]
import { launchBrowser, serve, closeAll } from '../lib/harness.js';
import { createToken } from '../lib/cli.js';
import { eventLine, postEvents, fetchJson } from '../lib/events.js';
import { openPage, untilConn } from '../lib/pages.js';

const n = Number(process.argv[2] ?? 30);
const server = await serve({ args: ['--no-simulator'] });
const token = createToken(server.dataDir, 'bench');
const village = (v, id, risk) => eventLine('poverty.village', id,
  { village: v, name: `测试村${v}`, lon: 114.3, lat: 30.6, lifted_households: 80, monitored_households: 15, risk_households: risk, income_yuan: 13500, assistance_wan: 8 });
const post = (line) => postEvents(server.url, token, [line]);
const browser = await launchBrowser();
const { page } = await openPage(browser, `${server.url}/`);
await untilConn(page, 'live', 30_000, 'the wall live');
const times = [];
for (let i = 0; i < n; i++) {
  await post(village(`B${i}`, `b${i}-0`, 0));
  const before = new Set((await fetchJson(`${server.url}/api/v1/alerts?state=all`)).alerts.map((a) => a.id));
  const t0 = performance.now();
  await post(village(`B${i}`, `b${i}-1`, 12));
  // The alert's id: the one the server has now and did not have before.
  const after = (await fetchJson(`${server.url}/api/v1/alerts?state=all`)).alerts;
  const id = after.find((a) => !before.has(a.id) && a.rule === 'relapse_jump')?.id;
  if (!id) throw new Error('no alert raised');
  await page.waitForSelector(`[data-testid=ticker] button.tick[data-alert=${id}]`, { state: 'attached', timeout: 10_000 });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(0);
console.log(`red alert from POST to the wall's ticker, ${n} incidents: p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${times[times.length - 1].toFixed(0)} ms`);
await closeAll(browser, server);
