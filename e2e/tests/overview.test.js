// Every figure on the overview is true: it equals what an independent recount of the raw events
// in the log gives (`yiping audit --figures 420000`).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { serve, withServer, closeAll, launchBrowser, tempDir, until } from '../lib/harness.js';
import { runYiping, simulate, importEvents } from '../lib/cli.js';
import { isoSeconds, waterReading } from '../lib/events.js';
import { openPage } from '../lib/pages.js';

let browser;
let server;

before(async () => {
  browser = await launchBrowser();
});

after(() => closeAll(browser, server));

test('the overview figures equal the aggregates recounted from the log', async () => {
  // A log of 4,000 simulated events, imported as a source would send them; no simulator runs, so
  // the figures hold still while they are compared.
  const dir = tempDir('audit');
  importEvents(dir, 'events.ndjson', simulate(4000, 11), 'e2e');
  server = await serve({ dataDir: dir, args: ['--no-simulator'] });
  const truth = JSON.parse(runYiping(['audit', '--data', dir, '--figures', '420000']));

  const { page } = await openPage(browser, server.url + '/');
  const value = (id) => page.locator(`[data-testid="${id}"]`).getAttribute('data-value').then((v) => (v === null ? null : Number(v)));
  await until(async () => (await value('readings-total')) !== null, 20_000, 'the overview');
  const { water, rivers, projects, poverty } = truth;
  const expected = {
    'readings-total': water.readings,
    'fishing': water.fishing_patrols,
    'outlets': (100 * water.outlets_remediated) / water.outlets,
    'patrols-total': rivers.patrols,
    'patrol-hours': Math.round(rivers.patrol_minutes / 60),
    'problems-open': rivers.problems_open,
    'projects': projects.projects,
    'invest': (100 * projects.done_wan) / projects.plan_wan,
    // Overdue is counted against today in Beijing (the recount's today, as the wall's).
    'overdue': truth.overdue.steps,
    'monitored': poverty.monitored_households,
    'risk': poverty.risk_households,
    'assistance': poverty.assistance_wan * 1e4,
  };
  for (const [id, want] of Object.entries(expected)) {
    const got = await value(id);
    assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${id}: wall ${got}, recount ${want}`);
  }
  // The pipeline's stages and the ring's classes are the same figures drawn: the stage counts
  // add up to the projects, and the overdue projects by stage are at most the projects.
  assert.equal(projects.by_stage.reduce((a, b) => a + b, 0), projects.projects);
  assert.ok(truth.overdue.projects_by_stage.reduce((a, b) => a + b, 0) <= projects.projects);
  // This week's patrol coverage on the 河湖长制 screen is the recount's too.
  await page.getByTestId('tab-rivers').click();
  await until(async () => (await value('r-coverage')) !== null, 10_000, 'the coverage figure');
  const { coverage } = truth;
  assert.ok(coverage.rivers > 0);
  assert.ok(Math.abs((await value('r-coverage')) - (100 * coverage.patrolled_7d) / coverage.rivers) <= 1e-9, 'coverage');
  // And the households newly at risk and those whose risk was removed, on the 精准脱贫 screen.
  await page.getByTestId('tab-poverty').click();
  await until(async () => (await value('v-added')) !== null, 10_000, 'the flows');
  assert.equal(await value('v-added'), poverty.risk_added);
  assert.equal(await value('v-removed'), poverty.risk_removed);
  await page.close();
});

test('headline figures show their change against an hour before, from the server history', async () => {
  // Ten river sections at class Ⅱ two hours ago; now 杨泗港 at class Ⅴ: 100 % → 90 %.
  const dir = tempDir('history');
  const rivers = ['cj-guandukou', 'cj-nanjinguan', 'cj-guanyinsi', 'cj-shamao', 'cj-yangsigang', 'cj-baihushan',
    'cj-zhongguanpu', 'hj-xingou', 'hj-zongguan', 'hj-longwangmiao'];
  const at = (ms) => isoSeconds(Date.now() - ms);
  const lines = rivers.map((s, i) => waterReading(`h${i}`, s, 0.3, at(2 * 3600_000)));
  lines.push(waterReading('now', 'cj-yangsigang', 1.8, at(5 * 60_000)));
  importEvents(dir, 'events.ndjson', lines.join('\n'), 'e2e');
  await withServer({ dataDir: dir, args: ['--no-simulator'] }, async (history) => {
    const { page } = await openPage(browser, history.url + '/');
    const change = page.locator('[data-testid="good-share"] .kpi-change');
    await until(async () => (await change.count()) > 0 && /10\.0%/.test(await change.innerText()), 15_000, 'the change of the good share');
    assert.match(await change.innerText(), /较1小时前\s*▼\s*10\.0%/);
    assert.equal(await change.getAttribute('data-trend'), 'worse');
    await page.close();
  });
});
