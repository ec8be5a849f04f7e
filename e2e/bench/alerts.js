// Alert latency: how long from POSTing the event that breaks a rule to the red alert on the
// wall's ticker, in Chromium, over N incidents (each a village whose households at risk jump from
// 0 to 12). Prints the distribution.
//
//   node bench/alerts.js [N=30]
import { execFileSync } from 'node:child_process';
import { launchBrowser, startServer, freePort, killServer, serverBin } from '../lib/harness.js';

const n = Number(process.argv[2] ?? 30);
const server = await startServer(await freePort(), undefined, ['--no-simulator']);
const token = execFileSync(serverBin, ['token', 'create', '--source', 'bench', '--data', server.dataDir]).toString().trim();
const village = (v, id, risk) => JSON.stringify({
  type: 'poverty.village', id, time: new Date().toISOString(),
  data: { village: v, name: `测试村${v}`, lon: 114.3, lat: 30.6, lifted_households: 80, monitored_households: 15, risk_households: risk, income_yuan: 13500, assistance_wan: 8 },
});
const post = async (line) => {
  const r = await fetch(`${server.url}/api/v1/events`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: line });
  if (r.status !== 200) throw new Error(await r.text());
};
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
await page.goto(`${server.url}/`);
await page.waitForFunction(() => document.querySelector('[data-testid=conn]')?.dataset.state === 'live');
const times = [];
for (let i = 0; i < n; i++) {
  await post(village(`B${i}`, `b${i}-0`, 0));
  const before = new Set((await (await fetch(`${server.url}/api/v1/alerts?state=all`)).json()).alerts.map((a) => a.id));
  const t0 = performance.now();
  await post(village(`B${i}`, `b${i}-1`, 12));
  // The alert's id: the one the server has now and did not have before.
  const after = (await (await fetch(`${server.url}/api/v1/alerts?state=all`)).json()).alerts;
  const id = after.find((a) => !before.has(a.id) && a.rule === 'relapse_jump')?.id;
  if (!id) throw new Error('no alert raised');
  await page.waitForSelector(`[data-testid=ticker] button.tick[data-alert=${id}]`, { state: 'attached', timeout: 10_000 });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(0);
console.log(`red alert from POST to the wall's ticker, ${n} incidents: p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${times[times.length - 1].toFixed(0)} ms`);
await browser.close();
await killServer(server);
