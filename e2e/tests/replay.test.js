// Time travel: a wall opened at `/?at=…` shows every panel as of that instant, marked as a replay;
// it plays on and its figures move; one touch brings it back to live. A live wall beside it is
// never disturbed. The as-of figures are recounted here from the exported log, by event time.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { serve, closeAll, launchBrowser, tempDir, until } from '../lib/harness.js';
import { runYiping } from '../lib/cli.js';
import { openPage, screenshot, untilConn } from '../lib/pages.js';

let browser;
let server;

before(async () => {
  browser = await launchBrowser();
});

after(() => closeAll(browser, server));

/** Beijing's date `days` before today, `YYYY-MM-DD`. */
function beijingDate(daysBack) {
  return new Date(Date.now() + 8 * 3600_000 - daysBack * 86_400_000).toISOString().slice(0, 10);
}

test('a wall replays any past instant, marked on every panel, plays on, and goes back to live; a live wall beside it is untouched', async () => {
  // Three days of history at the real volume, written straight into the log; no live simulator,
  // so the live figures hold still while they are compared.
  const dir = tempDir('replay');
  runYiping(['simulate', '--from', beijingDate(3), '--to', 'now', '--data', dir]);
  const log = runYiping(['export', '--data', dir]).trim().split('\n').map((l) => JSON.parse(l).event);
  server = await serve({ dataDir: dir, args: ['--no-simulator'] });

  // 09:00 in Beijing two days ago, written as people write it.
  const at = `${beijingDate(2)}T09:00+08:00`;
  const t = Date.parse(`${beijingDate(2)}T09:00:00+08:00`);
  const upTo = (kind, until) => log.filter((e) => e.type === kind && Date.parse(e.time) <= until).length;
  const want = { readings: upTo('water.reading', t), patrols: upTo('river.patrol', t), fishing: upTo('water.fishing_patrol', t) };
  const all = { readings: upTo('water.reading', Infinity), patrols: upTo('river.patrol', Infinity) };
  assert.ok(want.readings > 100 && want.readings < all.readings, JSON.stringify({ want, all }));

  const value = (page, id) => page.locator(`[data-testid="${id}"]`).getAttribute('data-value').then((v) => (v === null ? null : Number(v)));
  const { page: live } = await openPage(browser, server.url + '/');
  await until(async () => (await value(live, 'readings-total')) === all.readings, 20_000, 'the live wall');

  const { page, errors } = await openPage(browser, `${server.url}/?at=${encodeURIComponent(at)}`);
  await until(async () => (await value(page, 'readings-total')) === want.readings, 20_000, 'the as-of readings');
  assert.equal(await page.getByTestId('conn').getAttribute('data-state'), 'replay');
  assert.equal(await page.getByTestId('wall').getAttribute('data-replay'), new Date(t).toISOString().replace('.000Z', 'Z'));
  assert.equal(await value(page, 'patrols-total'), want.patrols);
  assert.equal(await value(page, 'fishing'), want.fishing);
  // Every panel of every screen carries the mark, and so does the alert strip.
  const mark = `回放 ${Number(beijingDate(2).slice(5, 7))}月${Number(beijingDate(2).slice(8, 10))}日 09:00`;
  for (const screen of ['overview', 'yangtze', 'rivers', 'projects', 'poverty']) {
    await page.getByTestId(`tab-${screen}`).click();
    await until(async () => (await page.locator('.wall').getAttribute('data-screen')) === screen, 5_000, screen);
    const panels = await page.locator('.wall-body .panel:not(.pane-off .panel)').count();
    const marked = await page.locator('.wall-body .panel:not(.pane-off .panel) [data-testid=replay-mark]').count();
    assert.ok(panels >= 4, `${screen}: ${panels} panels`);
    assert.equal(marked, panels, `${screen}: every panel is marked`);
    assert.equal(await page.locator('.wall-body .panel:not(.pane-off .panel) [data-testid=replay-mark]').first().textContent(), mark);
  }
  assert.equal(await page.locator('.wall-alerts [data-testid=replay-mark]').count(), 1);
  await page.getByTestId('tab-overview').click();
  await screenshot(page, 'replay-paused.png');

  // Play at 3600×: an hour of events a second; the figures move with the replayed clock.
  await page.getByTestId('replay-speed').selectOption('3600');
  await page.getByTestId('replay-play').click();
  await until(async () => (await page.getByTestId('timebar').getAttribute('data-playing')) === 'true', 5_000, 'playing');
  await until(async () => (await value(page, 'readings-total')) > want.readings + 30, 15_000, 'the readings to grow');
  const clock = Date.parse(await page.getByTestId('replay-clock').getAttribute('data-at'));
  assert.ok(clock > t + 2 * 3600_000, `the clock moved on: ${new Date(clock).toISOString()}`);
  // The figures stay those of the replayed clock: never ahead of it.
  await page.getByTestId('replay-play').click();
  await until(async () => (await page.getByTestId('timebar').getAttribute('data-playing')) === 'false', 5_000, 'paused');
  await page.waitForTimeout(600);
  const paused = Date.parse(await page.getByTestId('replay-clock').getAttribute('data-at'));
  await until(async () => (await value(page, 'readings-total')) === upTo('water.reading', paused), 5_000, 'the readings of the paused instant');
  await screenshot(page, 'replay-played.png');

  // The live wall beside it saw none of this.
  assert.equal(await live.getByTestId('conn').getAttribute('data-state'), 'live');
  assert.equal(await live.locator('[data-testid=replay-mark]').count(), 0);
  assert.equal(await value(live, 'readings-total'), all.readings);

  // One touch: back to live.
  await page.getByTestId('replay-live').click();
  await untilConn(page, 'live', 10_000, 'live again');
  await until(async () => (await value(page, 'readings-total')) === all.readings, 10_000, 'the live readings');
  assert.equal(await page.locator('[data-testid=replay-mark]').count(), 0);
  assert.equal(await page.getByTestId('wall').getAttribute('data-replay'), null);
  assert.deepEqual(errors, []);
});

test('周期对比 shows today, this week, month and year from the log, with 环比 and 同比 where it reaches back', async () => {
  assert.ok(server, 'the server of the first test');
  const log = runYiping(['export', '--data', server.dataDir]).trim().split('\n').map((l) => JSON.parse(l).event);
  const midnight = Date.parse(`${beijingDate(0)}T00:00:00+08:00`);
  const today = log.filter((e) => e.type === 'river.patrol' && Date.parse(e.time) >= midnight).length;
  const { page, errors } = await openPage(browser, server.url + '/');
  await page.getByTestId('periods-open').click();
  await until(async () => (await page.getByTestId('periods').getAttribute('data-loaded')) === 'true', 20_000, 'the periods');
  await page.locator('[data-testid=period-chips] [data-period=today]').click();
  const row = page.locator('[data-testid=period-table] tr[data-indicator=Patrols]');
  await until(async () => Number(await row.getAttribute('data-value')) === today, 5_000, `today's patrols (${today})`);
  // Yesterday is in the log; a year ago is not, and the wall says since when the data runs.
  assert.match(await row.locator('[data-testid=period-previous]').textContent(), /^[\d.万]+ \(/);
  assert.match(await row.locator('[data-testid=period-last-year]').textContent(), /^— 数据始于 \d{4}-\d{2}-\d{2}$/);
  assert.match(await page.getByTestId('period-windows').textContent(), /^今日 /);
  await page.locator('[data-testid=period-chips] [data-period=month]').click();
  // The prefectures side by side for the chosen indicator and period.
  assert.equal(await page.getByTestId('period-compare').count(), 1);
  await page.waitForTimeout(500);
  await screenshot(page, 'periods.png');
  // The headline counts follow the period chosen in the header: today's patrols, 环比 beside.
  await page.getByTestId('periods-close').click();
  await page.locator('[data-testid=kpi-period] [data-period=today]').click();
  const kpi = page.getByTestId('patrols-total');
  await until(async () => Number(await kpi.getAttribute('data-value')) === today, 10_000, "today's patrols on the KPI");
  assert.match(await kpi.textContent(), /今日巡河/);
  assert.match(await kpi.textContent(), /同比 — 数据始于/);
  await page.locator('[data-testid=kpi-period] [data-period=total]').click();
  await until(async () => Number(await kpi.getAttribute('data-value')) === log.filter((e) => e.type === 'river.patrol').length, 5_000, 'the cumulative patrols again');
  assert.deepEqual(errors, []);
});
