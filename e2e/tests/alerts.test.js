// A simulated incident end to end: an ammonia incident at 杨泗港 is sent through the ingest API,
// the rules raise a red alert, the wall's ticker shows it, the duty officer logs in to /duty,
// acknowledges, dispatches and resolves it, and the wall's ticker follows each step; the audit
// trail holds every step by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, serve, killServer, closeAll, until } from '../lib/harness.js';
import { runYiping, createToken } from '../lib/cli.js';
import { waterReading, postEvents, fetchJson } from '../lib/events.js';
import { openPage, untilConn, screenshot } from '../lib/pages.js';

const PW = 'long-enough-pw';

/** A reading of 杨泗港 with ammonia nitrogen `nh3n`, now. */
const reading = (id, nh3n) => waterReading(id, 'cj-yangsigang', nh3n);

/** Add the user `name` with `role` and the password PW to the server's data folder (`yiping user add`). */
const addUser = (server, name, role) => runYiping(['user', 'add', '--name', name, '--role', role, '--data', server.dataDir], { input: `${PW}\n` });

test('a red alert reaches the wall, and the duty officer takes it from new to resolved', async () => {
  const server = await serve({ args: ['--no-simulator'] });
  addUser(server, 'duty1', 'duty');
  const token = createToken(server.dataDir, 'hbsthj');
  const browser = await launchBrowser();
  try {
    const { page: wall, errors: wallErrors } = await openPage(browser, `${server.url}/`);
    await untilConn(wall, 'live', 15_000, 'the wall live');
    await postEvents(server.url, token, [reading('r1', 0.3)]);

    const { page: duty, errors: dutyErrors } = await openPage(browser, `${server.url}/duty`);
    await duty.fill('[data-testid=login-name]', 'duty1');
    await duty.fill('[data-testid=login-password]', PW);
    await duty.click('[data-testid=login-submit]');
    await until(() => duty.getAttribute('[data-testid=duty]', 'data-user').then((u) => u === 'duty1'), 15_000, 'logged in');
    await untilConn(duty, 'live', 15_000, 'the console live');

    // The incident: NH3-N 2.5 mg/L is class 劣Ⅴ, three classes worse than the river target Ⅲ.
    const sent = Date.now();
    await postEvents(server.url, token, [reading('r2', 2.5)]);
    const alerts = await fetchJson(`${server.url}/api/v1/alerts?severity=red`);
    const alert = alerts.alerts.find((a) => a.rule === 'water_class');
    assert.ok(alert, JSON.stringify(alerts));
    assert.equal(alert.data.class, 'WorseThanV');
    const tick = `[data-testid=ticker] button.tick[data-alert=${alert.id}]`;
    await until(() => wall.isVisible(tick), 5_000, 'the alert on the wall ticker');
    console.log(`# red alert on the wall ${Date.now() - sent} ms after its event was posted`);
    assert.equal(await wall.getAttribute(tick, 'data-severity'), '0', 'red');
    const state = () => wall.textContent(`${tick} .tick-state`);
    assert.equal(await state(), '待确认');

    // The console: the row, the cue for a red alert, the detail with the triggering data.
    const row = `[data-testid=duty-row][data-id=${alert.id}]`;
    await until(() => duty.isVisible(row), 5_000, 'the alert in the console');
    await until(() => duty.getAttribute('[data-testid=duty]', 'data-cues').then((c) => Number(c) >= 1), 5_000, 'the red cue');
    await duty.click(`${row} button`);
    await until(() => duty.getAttribute('[data-testid=alert-detail]', 'data-id').then((i) => i === alert.id), 5_000, 'the detail');
    const detail = await duty.textContent('[data-testid=alert-detail]');
    assert.match(detail, /杨泗港/);
    assert.match(detail, /劣Ⅴ/);

    await duty.click('[data-testid=act-acknowledge]');
    await until(() => state().then((s) => s === '已确认'), 5_000, 'the wall following the acknowledgement');
    await duty.fill('[data-testid=alert-to]', '汉阳区生态环境分局');
    await duty.fill('[data-testid=alert-comment]', '排查上游排污口');
    await duty.click('[data-testid=act-dispatch]');
    await until(() => state().then((s) => s === '已派发'), 5_000, 'the wall following the dispatch');
    assert.equal(await duty.textContent('[data-testid=alert-assignee]'), '汉阳区生态环境分局');
    await duty.fill('[data-testid=alert-comment]', '排污口已封堵，复测达标');
    await duty.click('[data-testid=act-resolve]');
    await until(() => state().then((s) => s === '已办结'), 5_000, 'the wall following the resolution');
    await screenshot(duty, 'duty-1920x1080.png');

    // The trail: every step, by whom, in order; the same from the CLI.
    const trail = await duty.evaluate(async (id) => (await (await fetch(`/api/v1/audit?alert=${id}`)).text()), alert.id);
    const steps = trail.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(steps.map((s) => [s.action, s.actor]), [
      ['alert.raise', 'system'], ['alert.acknowledge', 'duty1'], ['alert.dispatch', 'duty1'], ['alert.resolve', 'duty1'],
    ]);
    assert.equal(steps[2].body.to, '汉阳区生态环境分局');
    assert.equal(steps[3].comment, '排污口已封堵，复测达标');
    await killServer(server);
    const cli = runYiping(['trail', '--data', server.dataDir, '--alert', alert.id]);
    assert.deepEqual(cli.trim().split('\n').map((l) => JSON.parse(l)), steps);
    assert.deepEqual([...wallErrors, ...dutyErrors], []);
  } finally {
    await closeAll(browser, server);
  }
});

test('the console asks for a login before any action, and a viewer cannot act', async () => {
  const server = await serve({ args: ['--no-simulator'] });
  addUser(server, 'viewer1', 'viewer');
  const token = createToken(server.dataDir, 'hbsthj');
  await postEvents(server.url, token, [reading('r1', 0.3), reading('r2', 1.8)]);
  const browser = await launchBrowser();
  try {
    const { page } = await openPage(browser, `${server.url}/duty`);
    await until(() => page.isVisible('[data-testid=login]'), 10_000, 'the login form');
    await until(() => page.isVisible('[data-testid=duty-row]'), 10_000, 'the list (anonymous reading on this machine)');
    await page.click('[data-testid=duty-row] button');
    assert.equal(await page.isVisible('[data-testid=alert-actions]'), false, 'no actions without a login');
    await page.fill('[data-testid=login-name]', 'viewer1');
    await page.fill('[data-testid=login-password]', PW);
    await page.click('[data-testid=login-submit]');
    await until(() => page.getAttribute('[data-testid=duty]', 'data-user').then((u) => u === 'viewer1'), 10_000, 'logged in');
    await page.click('[data-testid=duty-row] button');
    await until(() => page.isVisible('[data-testid=alert-detail]'), 5_000, 'the detail');
    assert.equal(await page.isVisible('[data-testid=alert-actions]'), false, 'a viewer has no actions');
    const r = await page.evaluate(async () => {
      const id = document.querySelector('[data-testid=alert-detail]').dataset.id;
      const resp = await fetch(`/api/v1/alerts/${id}/acknowledge`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      return resp.status;
    });
    assert.equal(r, 403, 'and the server refuses it too');
  } finally {
    await closeAll(browser, server);
  }
});
