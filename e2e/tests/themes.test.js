// The theme screens' deeper panels: a section's trend follows the section touched, the biggest
// delays lead to the project's records, and the alert lists show as many rows as the server has
// open alerts of their rule.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { serve, withServer, closeAll, launchBrowser, tempDir, writeRules, until } from '../lib/harness.js';
import { fetchJson } from '../lib/events.js';
import { openPage, untilConn, screenshot } from '../lib/pages.js';
import { join } from 'node:path';

let server;
let browser;
before(async () => {
  server = await serve({ args: ['--speed', '600'] });
  browser = await launchBrowser();
});
after(() => closeAll(browser, server));

test('a touch on a section shows its records and its indicator trend', async () => {
  const { page, errors } = await openPage(browser, server.url + '/yangtze');
  const row = page.locator('[data-testid="section-list"] li[data-section="hj-zongguan"]');
  await until(async () => (await row.getAttribute('data-class')) !== null, 20_000, '宗关 reporting');
  await row.click();
  const trend = page.getByTestId('trend');
  await until(async () => (await trend.getAttribute('data-section')) === 'hj-zongguan' && Number(await trend.getAttribute('data-points')) > 0, 10_000, 'the trend of 宗关');
  // The trend holds the section's newest readings, as the records API has them.
  const api = await fetchJson(`${server.url}/api/v1/entities/section:hj-zongguan?latest=240`);
  assert.ok(Math.abs(Number(await trend.getAttribute('data-points')) - api.history.length) <= 2, 'the readings of 宗关');
  const drawer = page.getByTestId('entity-drill');
  await until(async () => (await drawer.getAttribute('data-key')) === 'section:hj-zongguan', 5_000, 'the records');
  await until(async () => /硚口区/.test(await page.getByTestId('entity-place').innerText()), 5_000, 'the county by name');
  assert.match(await page.getByTestId('entity-place').innerText(), /武汉市/);
  await screenshot(page, 'yangtze-trend-1920x1080.png');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the biggest delays lead to the project records, worst first', async () => {
  const { page } = await openPage(browser, server.url + '/projects');
  const list = page.getByTestId('p-delays');
  await until(async () => Number(await list.getAttribute('data-count')) > 0, 20_000, 'delayed projects');
  const days = await list.locator('li:not([hidden]) .late').allInnerTexts();
  const n = days.map((d) => Number(d.replace(/[^0-9]/g, '')));
  assert.deepEqual(n, [...n].sort((a, b) => b - a), 'worst first');
  const first = list.locator('li').first();
  const key = await first.getAttribute('data-key');
  await first.click();
  const drawer = page.getByTestId('entity-drill');
  await until(async () => (await drawer.getAttribute('data-key')) === key, 5_000, 'the project records');
  // The records show each step with its due date; the late one says how late, as the list did.
  const steps = drawer.getByTestId('project-steps');
  await until(async () => (await steps.locator('li').count()) > 0, 5_000, 'the project steps');
  const late = await steps.locator('li[data-late="1"] .late').allInnerTexts();
  assert.ok(late.length >= 1, 'a delayed project has a late step');
  assert.ok(late.map((d) => Number(d.replace(/[^0-9]/g, ''))).includes(n[0]), `${late} includes ${n[0]} days`);
  const invest = drawer.getByTestId('project-invest');
  assert.ok(Number(await invest.getAttribute('data-plan')) > 0);
  await page.close();
});

test('the 长江 screen lists the outlets still to remediate, and its counts add up to the outlets known', async () => {
  const { page } = await openPage(browser, server.url + '/yangtze');
  const list = page.getByTestId('y-outlet-list');
  const total = page.locator('[data-testid="y-outlets-total"]');
  await until(async () => Number(await total.getAttribute('data-value')) > 0, 20_000, 'outlets known');
  await until(async () => {
    const n = async (k) => Number(await list.getAttribute(k));
    const sum = (await n('data-identified')) + (await n('data-remediating')) + (await n('data-remediated'));
    return sum === Number(await total.getAttribute('data-value')) && (await n('data-count')) === (await n('data-identified')) + (await n('data-remediating'));
  }, 10_000, 'the list to add up to the outlets figure');
  // A touch on a row opens the outlet's records.
  if (Number(await list.getAttribute('data-count')) > 0) {
    const row = list.locator('li:not([hidden])').first();
    const key = await row.getAttribute('data-key');
    await row.click();
    await until(async () => (await page.getByTestId('entity-drill').getAttribute('data-key')) === key, 5_000, 'the outlet records');
  }
  await page.close();
});

for (const [screen, rule, id] of [['rivers', 'patrol_overdue', 'r-overdue'], ['poverty', 'relapse_jump', 'v-jumps']]) {
  test(`the ${screen} screen lists as many ${rule} alerts as are open`, async () => {
    const { page } = await openPage(browser, `${server.url}/${screen}`);
    const list = page.getByTestId(id);
    await untilConn(page, 'live', 15_000, 'live');
    await until(async () => {
      const open = (await fetchJson(`${server.url}/api/v1/alerts?state=open`)).alerts.filter((a) => a.rule === rule).length;
      return Number(await list.getAttribute('data-count')) === open;
    }, 10_000, `as many rows as open ${rule} alerts`);
    await page.close();
  });
}

test('the income trend draws the server history of the mean income', async () => {
  const { page } = await openPage(browser, `${server.url}/poverty`);
  const trend = page.getByTestId('income-trend');
  await until(async () => {
    const api = (await fetchJson(`${server.url}/api/v1/history`)).points.filter((p) => p.mean_income !== null);
    return api.length > 0 && Number(await trend.getAttribute('data-points')) === api.length;
  }, 70_000, 'as many points as the history has');
  await page.close();
});

test('the overview map is coloured by the indicator chosen over it', async () => {
  const { page } = await openPage(browser, `${server.url}/`);
  const title = page.locator('.map-legend .legend-title');
  await until(async () => (await title.count()) > 0 && /巡河/.test(await title.innerText()), 15_000, 'the patrols legend');
  await page.locator('[data-testid=map-indicator] button[data-indicator="2"]').click();
  await until(async () => /风险/.test(await title.innerText()), 5_000, 'the at-risk legend');
  assert.equal(await page.locator('[data-testid=map-indicator] button[data-indicator="2"]').getAttribute('aria-pressed'), 'true');
  await page.locator('[data-testid=map-indicator] button[data-indicator="4"]').click();
  await until(async () => /覆盖/.test(await title.innerText()), 5_000, 'the coverage legend');
  await page.close();
});

test('the poverty screen ranks counties and colours the map by county', async () => {
  const { page } = await openPage(browser, `${server.url}/poverty`);
  const title = page.locator('.map-legend .legend-title');
  await until(async () => (await title.count()) > 0 && /县/.test(await title.innerText()), 40_000, 'the county map');
  const api = await fetchJson(`${server.url}/api/v1/counties`);
  assert.ok(api.counties.length > 100, 'every county of Hubei');
  assert.ok(api.counties.every((c) => c.name && c.adcode.startsWith('42')));
  await page.close();
});

test('the good-water share shows its target when the deployment sets one', async () => {
  const dir = tempDir('target');
  const rules = writeRules(dir, '[targets]\nriver = "III"\nlake = "IV"\ngood_share_percent = 88.0\n');
  await withServer({ dataDir: join(dir, 'data'), args: ['--rules', rules] }, async (own) => {
    const { page } = await openPage(browser, `${own.url}/yangtze`);
    await until(async () => /目标 88\.0%/.test(await page.getByTestId('y-good-share').innerText()), 15_000, 'the target');
    await page.close();
  });
});
