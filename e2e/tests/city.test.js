// One build for the province and a city. A 黄石 deployment (deploy/huangshi.toml: root region
// 420200, its title, sections on 黄石's rivers and lakes) shows 黄石 and its six counties on every
// screen at 1920×1080 and 7680×2160, with no text of the province's, figures equal to a recount
// of the raw events for 黄石, and drill-down to a county. And on the province's server, a user
// scoped to 黄石 logs in to the wall and sees 黄石 alone.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serve, closeAll, killServer, launchBrowser, tempDir, until, root } from '../lib/harness.js';
import { runYiping, simulate, importEvents } from '../lib/cli.js';
import { openPage, screenshot } from '../lib/pages.js';

const CONFIG = join(root, 'deploy', 'huangshi.toml');
const HUANGSHI = { YIPING_CONFIG: CONFIG };
const COUNTIES = ['420202', '420203', '420204', '420205', '420222', '420281'];
const PW = 'long-enough-pw';

let browser;
let city;

before(async () => {
  browser = await launchBrowser();
});

after(() => closeAll(browser, city));

const SCREENS = {
  overview: { kpi: 'readings-total', ranking: 'ranking' },
  yangtze: { kpi: 'y-readings' },
  rivers: { kpi: 'r-patrols', ranking: 'r-ranking' },
  projects: { kpi: 'p-projects', ranking: 'p-ranking' },
  poverty: { kpi: 'v-monitored' },
};

/** The text a leader reads on the page, without the map's own labels (canvas). */
const text = (page) => page.locator('[data-testid=wall]').innerText();

test('a 黄石 deployment shows 黄石 and its counties on every screen, with figures equal to the recount', async () => {
  // A log of simulated 黄石 events, imported as a source would send them; no simulator runs, so
  // the figures hold still while they are compared.
  const dir = tempDir('city');
  importEvents(dir, 'events.ndjson', simulate(3000, 5, HUANGSHI), 'e2e', HUANGSHI);
  city = await serve({ dataDir: dir, args: ['--config', CONFIG, '--no-simulator'] });
  const truth = JSON.parse(runYiping(['audit', '--data', dir, '--figures', '420200'], { env: HUANGSHI }));
  assert.ok(truth.water.readings > 0 && truth.rivers.patrols > 0 && truth.projects.projects > 0, 'every theme has 黄石 data');

  for (const [w, h] of [[1920, 1080], [7680, 2160]]) {
    for (const [name, s] of Object.entries(SCREENS)) {
      const path = name === 'overview' ? '/' : `/${name}`;
      const { page, errors } = await openPage(browser, `${city.url}${path}`, { width: w, height: h });
      await until(async () => /^\d+(\.\d+)?$/.test(await page.locator(`[data-testid="${s.kpi}"] .kpi-number`).innerText()), 20_000, `${name}: a live figure`);
      assert.equal(await page.locator('header h1').innerText(), '智慧黄石 · 一屏全览');
      assert.equal(await page.title(), '智慧黄石 · 一屏全览');
      assert.equal(await page.getByTestId('map').getAttribute('data-view'), '420200');
      if (s.ranking) {
        const ranking = page.locator(`canvas[data-testid="${s.ranking}"]`);
        await until(async () => Number(await ranking.getAttribute('data-hits')) === COUNTIES.length, 10_000, `${name}: the six counties ranked`);
      }
      await page.waitForTimeout(800);
      const words = await text(page);
      for (const province of ['湖北', '市州', '全省', '17个']) {
        assert.ok(!words.includes(province), `${name} ${w}×${h}: province-only text ${province}: ${words}`);
      }
      await screenshot(page, `city-${name}-${w}x${h}.png`);
      assert.deepEqual(errors, [], `${name} ${w}×${h}`);
      await page.close();
    }
  }

  // The headline figures are the recount's for 黄石.
  const { page } = await openPage(browser, `${city.url}/`);
  const value = (id) => page.locator(`[data-testid="${id}"]`).getAttribute('data-value').then((v) => (v === null ? null : Number(v)));
  await until(async () => (await value('readings-total')) !== null, 20_000, 'the overview');
  const expected = {
    'readings-total': truth.water.readings,
    'patrols-total': truth.rivers.patrols,
    'problems-open': truth.rivers.problems_open,
    'projects': truth.projects.projects,
    'overdue': truth.overdue.steps,
    'monitored': truth.poverty.monitored_households,
    'risk': truth.poverty.risk_households,
  };
  for (const [id, want] of Object.entries(expected)) {
    const got = await value(id);
    assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${id}: wall ${got}, recount ${want}`);
  }
  // The map's title counts 黄石's counties; a touch on a ranking bar drills into a county, whose
  // records are the recount's too.
  assert.match(await page.locator('.panel-map h2, .panel-map .panel-title').first().innerText(), /黄石市 · 6个区县/);
  const ranking = page.locator('canvas[data-testid="ranking"]');
  await until(async () => Number(await ranking.getAttribute('data-hits')) === COUNTIES.length, 10_000, 'the ranking');
  const box = await ranking.boundingBox();
  await ranking.click({ position: { x: box.width / 4, y: box.height / 14 } });
  const county = await page.getByTestId('drill-from').getAttribute('data-key');
  assert.ok(COUNTIES.includes(county), county);
  await until(async () => (await page.getByTestId('map').getAttribute('data-view')) === county, 5_000, 'the map on the county');
  await until(async () => (await page.getByTestId('drill').getAttribute('data-adcode')) === county, 5_000, 'the county\'s records');
  assert.equal(await page.getByTestId('crumb-province').innerText(), '黄石市');
  const recount = JSON.parse(runYiping(['audit', '--data', dir, '--figures', county], { env: HUANGSHI }));
  const names = Object.fromEntries((await (await fetch(`${city.url}/api/v1/site`)).json()).children.map((c) => [c.adcode, c.name]));
  assert.equal(await page.getByTestId('crumb-current').innerText(), names[county]);
  await until(async () => (await value('drill-patrols')) !== null, 5_000, 'the county\'s figures');
  for (const [id, want] of [['drill-patrols', recount.rivers.patrols], ['drill-projects', recount.projects.projects], ['drill-risk', recount.poverty.risk_households]]) {
    assert.equal(await value(id), want, `${county} ${id}`);
  }
  await screenshot(page, 'city-county.png');
  await page.close();
  await killServer(city);
  city = null;
});

test('on the province server, a user scoped to 黄石 logs in to the wall and sees 黄石 alone', async () => {
  const province = await serve({ args: ['--anonymous', 'off', '--speed', '600'] });
  try {
    runYiping(['user', 'add', '--name', 'hs', '--role', 'viewer', '--scope', '420200', '--data', province.dataDir], { input: `${PW}\n` });
    const { page, errors } = await openPage(browser, `${province.url}/`);
    await page.fill('[data-testid=login-name]', 'hs');
    await page.fill('[data-testid=login-password]', PW);
    await page.click('[data-testid=login-submit]');
    await until(async () => (await page.getByTestId('wall').count()) === 1, 15_000, 'the wall after the login');
    assert.equal(await page.locator('header h1').innerText(), '黄石市 · 一屏全览');
    assert.equal(await page.getByTestId('map').getAttribute('data-view'), '420200');
    const ranking = page.locator('canvas[data-testid="ranking"]');
    await until(async () => Number(await ranking.getAttribute('data-hits')) === COUNTIES.length, 20_000, 'the six counties ranked');
    await page.waitForTimeout(800);
    const words = await text(page);
    for (const province of ['湖北', '市州', '武汉']) {
      assert.ok(!words.includes(province), `province-only text ${province}: ${words}`);
    }
    await screenshot(page, 'city-scoped-1920x1080.png');
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await killServer(province);
  }
});
