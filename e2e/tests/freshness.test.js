// Each source's panels show its own data time and turn stale when the source misses its expected
// report (configured per theme on the server), never because a burst made its pace look fast;
// they recover without a reload when it sends again. Real data is never marked simulated.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { serve, withServer, closeAll, launchBrowser, sleep, tempDir, writeRules, until } from '../lib/harness.js';
import { createToken, simulate, importEvents } from '../lib/cli.js';
import { eventLine, isoSeconds, postEvents } from '../lib/events.js';
import { openPage, FULL_HD } from '../lib/pages.js';

let browser;
let server;

before(async () => {
  browser = await launchBrowser();
});

after(() => closeAll(browser, server));

/** The data of a reading of 官渡口: every indicator class Ⅱ or better. */
const GUANDUKOU = { section: 'cj-guandukou', ph: 7.6, do_mg_l: 8.1, codmn_mg_l: 2.4, nh3n_mg_l: 0.15, tp_mg_l: 0.08 };

test('a source that stops turns only its own panels stale, soon, and they recover', async () => {
  const dir = tempDir('fresh');
  const token = createToken(dir, 'e2e-monitoring');
  // This deployment's monitoring source is expected every 3 s.
  const rules = writeRules(dir, '[freshness]\nwater = 3\n');
  server = await serve({ dataDir: dir, args: ['--no-simulator', '--rules', rules] });
  let n = 0;
  // A monitoring source: one reading of 官渡口 every 400 ms, stamped now.
  let lastDataMs = 0;
  const send = async () => {
    n += 1;
    const time = isoSeconds();
    lastDataMs = Date.parse(time);
    await postEvents(server.url, token, [eventLine('water.reading', `e2e-reading-${n}`, GUANDUKOU, time)]);
  };
  let sending = true;
  const loop = (async () => { while (sending) { await send(); await sleep(400); } })();

  const { page } = await openPage(browser, server.url + '/');
  const state = (cls) => page.locator(`section.${cls}`).getAttribute('data-freshness');
  await until(async () => (await state('panel-water')) === 'fresh', 15_000, 'the water panel to be fresh');
  await sleep(2000);
  assert.equal(await state('panel-water'), 'fresh');
  // The other sources have sent nothing: their panels say so, they do not pretend.
  assert.equal(await state('panel-rivers'), 'nodata');
  assert.equal(await state('panel-poverty'), 'nodata');

  // The source stops: once it misses its expected report (3 s) the water panels are stale.
  sending = false;
  await loop;
  const stopped = Date.now();
  await until(async () => (await state('panel-water')) === 'stale', 10_000, 'the water panel to turn stale');
  const took = Date.now() - stopped;
  // Stale once the newest data is older than the 3 s expected: counted from that data's time.
  const age = Date.now() - lastDataMs;
  assert.ok(age >= 3000 && took <= 4500, `stale at data age ${age} ms, ${took} ms after the source stopped (expected: 3 s + the clock's 0.5 s tick + slack)`);
  assert.equal(await state('panel-classes'), 'stale', 'every panel of the source');
  assert.match(await page.locator('section.panel-water .panel-time').innerText(), /数据中断/);

  // It sends again: fresh, without a reload.
  await page.evaluate(() => { window.__noReload = true; });
  sending = true;
  const again = (async () => { while (sending) { await send(); await sleep(400); } })();
  await until(async () => (await state('panel-water')) === 'fresh', 5_000, 'the water panel to recover');
  assert.equal(await page.evaluate(() => window.__noReload), true);
  sending = false;
  await again;
  await page.close();
});

test('a monthly source is not interrupted after a burst and a minute, only after a missed month; real data is not marked simulated', async () => {
  const dir = tempDir('monthly');
  const token = createToken(dir, 'e2e-villages');
  await withServer({ dataDir: dir, args: ['--no-simulator'] }, async (own) => {
    // A burst of three village reports a second apart, as a monthly source sends at start-up.
    const now = Date.now();
    const lines = [0, 1, 2].map((i) => eventLine('poverty.village', `e2e-village-${i}`,
      { village: `E2E-${i}`, name: '试点村', lon: 114.98, lat: 30.10, lifted_households: 80, monitored_households: 15, risk_households: 2, income_yuan: 13500, assistance_wan: 8 },
      new Date(now - (2 - i) * 1000).toISOString()));
    await postEvents(own.url, token, lines);
    const page = await browser.newPage({ viewport: FULL_HD });
    await page.clock.install();
    await page.goto(own.url + '/');
    const state = (cls) => page.locator(`section.${cls}`).getAttribute('data-freshness');
    await until(async () => (await state('panel-poverty')) === 'fresh', 15_000, 'the poverty panel to be fresh');
    // A minute later (the page's clock), nothing new: still fresh, not 数据中断.
    await page.clock.fastForward(65_000);
    await page.waitForTimeout(300);
    assert.equal(await state('panel-poverty'), 'fresh');
    assert.equal(await state('panel-water'), 'nodata', 'a theme with no data says so, it is not interrupted');
    // No simulated event anywhere: no 模拟数据 on any screen.
    for (const screen of ['overview', 'yangtze', 'rivers', 'projects', 'poverty']) {
      await page.getByTestId(`tab-${screen}`).click();
      await page.waitForTimeout(200);
      assert.equal(await page.getByTestId('sim-badge').count(), 0, screen);
      assert.ok(!(await page.locator('body').innerText()).includes('模拟数据'), screen);
    }
    await page.getByTestId('tab-overview').click();
    // The prefecture ranking lists all 17.
    const ranking = page.locator('canvas[data-testid="ranking"]');
    await until(async () => Number(await ranking.getAttribute('data-hits')) === 17, 5_000, 'all 17 prefectures ranked');
    // 36 days without a report: the monthly source has missed its month.
    await page.clock.fastForward(36 * 86_400_000);
    await until(async () => (await state('panel-poverty')) === 'stale', 5_000, 'the poverty panel to turn stale');
    await page.close();
  });
});

test('a mixed log names the simulated themes, and only them', async () => {
  const dir = tempDir('mixed');
  // Simulated history of every theme but 长江大保护, whose readings come from a real source.
  const sim = simulate(3000, 3);
  importEvents(dir, 'sim.ndjson', sim.split('\n').filter((l) => l && !JSON.parse(l).type.startsWith('water.')).join('\n') + '\n', 'simulator');
  const token = createToken(dir, 'hbsthj');
  await withServer({ dataDir: dir, args: ['--no-simulator'] }, async (own) => {
    await postEvents(own.url, token, [eventLine('water.reading', 'real-1', GUANDUKOU)]);
    const { page } = await openPage(browser, own.url + '/');
    const badge = page.getByTestId('sim-badge');
    await until(async () => (await badge.count()) === 1, 15_000, 'the simulated badge');
    assert.equal(await badge.getAttribute('data-themes'), 'rivers,projects,poverty');
    assert.match(await badge.innerText(), /^模拟数据: 河湖长制、重大项目、精准脱贫$/);
    await page.close();
  });
});
