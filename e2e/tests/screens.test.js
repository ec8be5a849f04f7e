// The wall's screens: each has its address and renders live figures; tabs and the browser's back
// move between them; a touch on a ranking opens the records behind it; the carousel advances and
// a touch pauses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shareBrowserAndServer, until } from '../lib/harness.js';
import { openPage, screenshot } from '../lib/pages.js';

const shared = shareBrowserAndServer();

const SCREENS = {
  yangtze: { kpi: 'y-readings', charts: ['y-class-ring', 'y-outlets'] },
  rivers: { kpi: 'r-patrols', charts: ['r-levels', 'r-kinds', 'r-ranking'] },
  projects: { kpi: 'p-projects', charts: ['p-invest', 'p-pipeline', 'p-ranking'] },
  poverty: { kpi: 'v-monitored', charts: ['v-risk-share', 'v-ranking'] },
};

test('every screen has its address and renders live figures and charts at 1920×1080 and 7680×2160', async () => {
  for (const [w, h] of [[1920, 1080], [7680, 2160]]) {
    for (const [name, s] of Object.entries(SCREENS)) {
      const { page, errors } = await openPage(shared.browser, `${shared.server.url}/${name}`, { width: w, height: h });
      assert.equal(await page.getByTestId('wall').getAttribute('data-screen'), name);
      assert.equal(await page.getByTestId(`tab-${name}`).getAttribute('aria-current'), 'page');
      await until(async () => /^\d+(\.\d+)?$/.test(await page.locator(`[data-testid="${s.kpi}"] .kpi-number`).innerText()), 20_000, `${name}: a live figure`);
      for (const id of s.charts) {
        await until(async () => Number(await page.locator(`canvas[data-testid="${id}"]`).getAttribute('data-draws')) > 0, 10_000, `${name}: ${id} drawn`);
      }
      await page.waitForTimeout(800);
      await screenshot(page, `screen-${name}-${w}x${h}.png`);
      assert.deepEqual(errors, [], name);
      await page.close();
    }
  }
});

test('tabs and back move between screens; a ranking bar opens the records behind it', async () => {
  const { page } = await openPage(shared.browser, shared.server.url + '/');
  await page.getByTestId('tab-projects').click();
  await until(async () => (await page.getByTestId('wall').getAttribute('data-screen')) === 'projects', 5_000, 'the projects screen');
  assert.match(page.url(), /\/projects$/);
  const ranking = page.locator('canvas[data-testid="p-ranking"]');
  await until(async () => Number(await ranking.getAttribute('data-draws')) > 0, 10_000, 'the ranking');
  const box = await ranking.boundingBox();
  await ranking.click({ position: { x: box.width / 4, y: box.height / 20 } });
  const key = await page.getByTestId('drill-from').getAttribute('data-key');
  const value = Number(await page.getByTestId('drill-from').getAttribute('data-value'));
  await until(async () => (await page.getByTestId('drill').getAttribute('data-adcode')) === key && (await page.getByTestId('drill-invest').count()) === 1, 5_000, 'the records');
  // The bar is the prefecture's investment done of plan; its records say the same (to the 0.1 %
  // they print, give or take what was invested meanwhile).
  const invest = Number(await page.getByTestId('drill-invest').getAttribute('data-value'));
  assert.ok(Math.abs(invest - value) <= 1, `records ${invest} % vs figure ${value} %`);
  // The drill-down is its own history entry (the address names the region).
  await until(async () => (await page.evaluate(() => location.hash)) === `#${key}`, 5_000, 'the drill-down in the address');
  await page.goBack();
  await page.goBack();
  await until(async () => (await page.getByTestId('wall').getAttribute('data-screen')) === 'overview', 5_000, 'back to the overview');
  await page.close();
});

test('the industry map shows every project the overview counts, clustered where dense, and names them', async () => {
  const { page } = await openPage(shared.browser, shared.server.url + '/projects');
  const canvas = page.locator('canvas[data-testid="map"]');
  const count = async () => Number(await page.locator('[data-testid="p-projects"]').getAttribute('data-value'));
  await until(async () => (await count()) > 0 && Number(await canvas.getAttribute('data-markers')) === await count(), 20_000, 'one marker per project');
  assert.ok(Number(await canvas.getAttribute('data-clusters')) > 0, 'dense projects are clustered');
  // One touch on a project opens its records: its latest state and the reports behind it.
  const [key, x, y] = (await canvas.getAttribute('data-single-marker')).split(',');
  const r = await canvas.boundingBox();
  await page.mouse.click(r.x + Number(x), r.y + Number(y));
  const drawer = page.getByTestId('entity-drill');
  await until(async () => (await drawer.getAttribute('data-key')) === key && Number(await page.getByTestId('entity-history').getAttribute('data-count') ?? 0) >= 1, 5_000, 'the project records');
  assert.match(await page.getByTestId('entity-status').getAttribute('data-status'), /^(approval|construction|accepted)$/);
  assert.match(await page.getByTestId('entity-status').innerText(), /^(前期审批|项目推进|竣工验收)$/);
  assert.ok((await drawer.locator('h3').innerText()).length > 2, 'the project is named');
  await page.getByTestId('entity-close').click();
  assert.ok(await drawer.isHidden());
  // Leaving the screen takes the projects off the map.
  await page.getByTestId('tab-rivers').click();
  await until(async () => Number(await canvas.getAttribute('data-markers')) === 0, 5_000, 'no project markers on the rivers screen');
  await page.close();
});

test('the carousel advances on its own, and a touch pauses it', async () => {
  const { page } = await openPage(shared.browser, shared.server.url + '/?carousel=5');
  const wall = page.getByTestId('wall');
  assert.equal(await wall.getAttribute('data-screen'), 'overview');
  assert.equal(await wall.getAttribute('data-carousel'), 'running');
  await until(async () => (await wall.getAttribute('data-screen')) === 'yangtze', 9_000, 'the carousel to move on');
  assert.match(page.url(), /\/yangtze\?carousel=5$/);
  // A touch holds the screen.
  await page.mouse.click(5, 300);
  assert.equal(await wall.getAttribute('data-carousel'), 'paused');
  await page.waitForTimeout(7000);
  assert.equal(await wall.getAttribute('data-screen'), 'yangtze', 'held while paused');
  await page.close();
});

test('a touch on a stage\'s overdue figure lists the projects behind it, and they add up to it', async () => {
  const { page } = await openPage(shared.browser, shared.server.url + '/');
  const pipeline = page.locator('canvas[data-testid="pipeline"]');
  await until(async () => Number(await pipeline.getAttribute('data-draws')) > 0, 20_000, 'the pipeline');
  await page.waitForTimeout(1500); // the projects topic's snapshot
  const box = await pipeline.boundingBox();
  // The overdue figure under the first stage (前期审批).
  await pipeline.click({ position: { x: box.width * 0.15, y: box.height * 0.82 } });
  const from = page.getByTestId('drill-from');
  assert.equal(await from.getAttribute('data-key'), 'approval');
  const drawer = page.getByTestId('stage-drill');
  await until(async () => !(await drawer.isHidden()), 5_000, 'the stage list');
  // The listed projects with overdue steps are as many as the figure touched.
  await until(async () => (await drawer.getAttribute('data-overdue')) === (await from.getAttribute('data-value')), 5_000, 'the list to add up to the figure');
  assert.ok(Number(await drawer.getAttribute('data-count')) >= 1);
  assert.match(await drawer.locator('h3').innerText(), /前期审批 · 逾期项目/);
  await page.waitForTimeout(300);
  await screenshot(page, 'wall-stage-1920x1080.png');
  await page.getByTestId('stage-close').click();
  assert.ok(await drawer.isHidden());
  await page.close();
});

test('the 长江 screen lists every monitoring section with its latest class, as many reporting as the figure says', async () => {
  const { page } = await openPage(shared.browser, shared.server.url + '/yangtze');
  const rows = page.locator('[data-testid="section-list"] .section-row');
  await until(async () => (await rows.count()) === 14, 20_000, 'the 14 sections');
  await until(async () => {
    const reporting = Number(await page.getByTestId('y-reporting').getAttribute('data-value'));
    const classed = await page.locator('[data-testid="section-list"] .section-row[data-class]').count();
    return reporting >= 1 && classed === reporting;
  }, 20_000, 'the classed rows to equal the reporting sections');
  await page.close();
});

test('a touch on a slice of the class ring lists the sections behind it, as many as the slice says', async () => {
  const { page } = await openPage(shared.browser, shared.server.url + '/');
  const ring = page.locator('canvas[data-testid="class-ring"]');
  await until(async () => Number(await ring.getAttribute('data-draws')) > 0, 20_000, 'the ring');
  await page.waitForTimeout(500);
  const box = await ring.boundingBox();
  // The ring's 9 o'clock, on the band (the ring stands left of its legend).
  const x = await ring.evaluate((c) => {
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    const w = c.clientWidth, h = c.clientHeight;
    const legend = Math.min(w * 0.5, 16 * rem);
    const r1 = Math.min((w - legend) / 2, h / 2) * 0.92;
    const left = Math.max(0, (w - (2 * r1 / 0.92 + legend)) / 2);
    return left + r1 / 0.92 - r1 * 0.82;
  });
  await ring.click({ position: { x, y: box.height / 2 } });
  const from = page.getByTestId('drill-from');
  const key = await from.getAttribute('data-key');
  assert.match(key, /^(I|II|III|IV|V|WorseThanV|none)$/);
  const drawer = page.getByTestId('class-drill');
  await until(async () => !(await drawer.isHidden()), 5_000, 'the section list');
  // The data is live (the simulator runs): a reading may move a section between classes after
  // the touch, so the figure is touched again until the list and the slice are of one moment.
  await until(async () => {
    if ((await drawer.getAttribute('data-count')) === (await from.getAttribute('data-value'))) return true;
    await ring.click({ position: { x, y: box.height / 2 } });
    return false;
  }, 5_000, 'as many sections as the slice');
  await page.getByTestId('class-close').click();
  assert.ok(await drawer.isHidden());
  await page.close();
});

test('a screen shown before is kept, hidden, while another is shown: not drawn meanwhile, not touchable, and shown again as it is now', async () => {
  const { page, errors } = await openPage(shared.browser, shared.server.url + '/');
  const ranking = page.locator('canvas[data-testid="ranking"]');
  await until(async () => Number(await ranking.getAttribute('data-draws')) > 0, 20_000, 'the overview ranking');
  await ranking.evaluate((c) => { c.dataset.mine = 'kept'; });
  await page.getByTestId('tab-rivers').click();
  await until(async () => Number(await page.locator('canvas[data-testid="r-ranking"]').getAttribute('data-draws')) > 0, 10_000, 'the rivers ranking');
  assert.equal(await ranking.isVisible(), false, 'the overview ranking is hidden');
  // What a touch finds anywhere on a shown panel is of the screen shown.
  const shown = await page.evaluate(() => [...document.querySelectorAll('.wall .panel:not(.pane-off .panel)')].map((p) => {
    const r = p.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return { pane: p.closest('.pane')?.dataset.pane ?? 'map', hit: hit?.closest('.pane')?.dataset.pane ?? (hit?.closest('.col-map') ? 'map' : 'none') };
  }));
  assert.equal(shown.length, 7, 'three panels each side of the map');
  for (const s of shown) assert.equal(s.hit, s.pane, `a touch on a ${s.pane} panel finds it`);
  assert.deepEqual([...new Set(shown.map((s) => s.pane))].sort(), ['map', 'rivers']);
  // While hidden, the overview's figures follow the data but its ranking draws nothing.
  const draws = Number(await ranking.getAttribute('data-draws'));
  const patrols = page.getByTestId('patrols-total');
  const before = await patrols.getAttribute('data-value');
  await until(async () => (await patrols.getAttribute('data-value')) !== before, 30_000, 'new patrols while the overview is hidden');
  await page.waitForTimeout(500);
  assert.equal(Number(await ranking.getAttribute('data-draws')), draws, 'no drawing while hidden');
  // Shown again: the same canvas, drawn for the data now.
  await page.getByTestId('tab-overview').click();
  await until(async () => Number(await ranking.getAttribute('data-draws')) > draws, 5_000, 'the ranking drawn again');
  assert.equal(await ranking.evaluate((c) => c.dataset.mine), 'kept', 'the same canvas');
  assert.ok(await ranking.isVisible());
  assert.deepEqual(errors, []);
  await page.close();
});

test('once the wall has settled, the screens not shown yet are built, hidden and not drawn: a first touch to one shows panels already in the page', async () => {
  const page = await shared.browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // The 长江 screen's section trend reads the section's readings itself: not while hidden.
  const trendReads = [];
  page.on('request', (r) => { if (r.url().includes('/api/v1/entities/section')) trendReads.push(r.url()); });
  await page.goto(shared.server.url + '/');
  await until(() => page.evaluate(() => { const panes = [...document.querySelectorAll('.pane')]; return panes.length === 10 && panes.every((p) => p.childElementCount > 0); }), 15_000, 'every screen built, each side of the map');
  assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll('.pane:not(.pane-off)')].map((p) => p.dataset.pane)), ['overview', 'overview']);
  const kpi = page.getByTestId('r-patrols');
  const ranking = page.locator('canvas[data-testid="r-ranking"]');
  assert.equal(await kpi.isVisible(), false);
  assert.equal(await ranking.getAttribute('data-draws'), null, 'a chart never shown has not drawn');
  await kpi.evaluate((el) => { el.dataset.mine = 'built'; });
  await page.getByTestId('tab-rivers').click();
  await until(() => kpi.isVisible(), 5_000, 'the rivers screen');
  assert.equal(await kpi.evaluate((el) => el.dataset.mine), 'built', 'the panels built before');
  await until(async () => Number(await ranking.getAttribute('data-draws')) > 0, 10_000, 'the ranking drawn once shown');
  assert.deepEqual(trendReads, [], 'no section trend read while its screen is hidden');
  await page.getByTestId('tab-yangtze').click();
  await until(async () => trendReads.length > 0, 10_000, 'the section trend read once its screen is shown');
  assert.deepEqual(errors, []);
  await page.close();
});
