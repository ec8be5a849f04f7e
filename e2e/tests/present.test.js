// Presenting: a presenter's console (/present) drives a named wall (/?wall=hall-1) through every
// control, the wall follows, a touch on the wall reaches the console, a viewer cannot drive,
// control is handed over explicitly, and the audit trail lists every action. Storylines are made,
// stepped through with the keyboard, exported, imported on a fresh data folder and stepped
// through again with identical views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchBrowser, serve, killServer, until, tempDir, artifacts } from '../lib/harness.js';
import { runYiping, createToken } from '../lib/cli.js';
import { waterReading, postEvents } from '../lib/events.js';
import { openPage, untilConn, screenshot } from '../lib/pages.js';

const PW = 'long-enough-pw';
const TABLET = { width: 1280, height: 800 };

const addUser = (server, name, role) => runYiping(['user', 'add', '--name', name, '--role', role, '--data', server.dataDir], { input: `${PW}\n` });

/** Open the console for `wall` logged in as `name`. */
async function console_(browser, server, name, wall = 'hall-1', viewport = TABLET) {
  const { page, errors } = await openPage(browser, `${server.url}/present?wall=${wall}`, viewport);
  await page.fill('[data-testid=login-name]', name);
  await page.fill('[data-testid=login-password]', PW);
  await page.click('[data-testid=login-submit]');
  await until(() => page.isVisible('[data-testid=present-status]'), 15_000, `${name} logged in`);
  await until(async () => (await page.textContent('[data-testid=present-status]')).includes('在线'), 10_000, `${name} sees the wall`);
  return { page, errors };
}

/** Take control from the console. */
async function take(page, force = false) {
  await page.click(force ? '[data-testid=take-over]' : '[data-testid=take]');
  await until(() => page.getAttribute('[data-testid=present-status]', 'data-yours').then((y) => y === 'true'), 5_000, 'in control');
}

/** The view the wall page shows (the JSON it would be stored as). */
async function wallView(wall) {
  return JSON.parse(await wall.getAttribute('[data-testid=present-view]', 'data-view'));
}

const attr = (page, sel, name) => page.getAttribute(sel, name).catch(() => null);

test('a console drives a named wall through every control; a viewer cannot; hand-over is explicit; all audited', async () => {
  const server = await serve({ args: [] });
  addUser(server, 'zhang', 'presenter');
  addUser(server, 'li', 'admin');
  addUser(server, 'wang', 'viewer');
  const browser = await launchBrowser();
  try {
    const { page: wall, errors: wallErrors } = await openPage(browser, `${server.url}/?wall=hall-1&carousel=30`);
    await untilConn(wall, 'live', 15_000, 'the wall live');

    // A viewer watches, read-only: no take button, every control disabled, the miniature covered.
    const { page: viewer } = await console_(browser, server, 'wang');
    assert.equal(await viewer.isVisible('[data-testid=take]'), false, 'a viewer is not offered control');
    assert.equal(await viewer.isDisabled('[data-testid=screen-projects]'), true);
    assert.equal(await viewer.isVisible('[data-testid=mini-overlay]'), true, 'the miniature is covered');

    const { page: con, errors: conErrors } = await console_(browser, server, 'zhang');
    await take(con);
    await until(() => wall.isVisible('[data-testid=present-badge]'), 5_000, 'the wall shows it is driven');
    assert.match(await wall.textContent('[data-testid=present-badge]'), /演示控制 · zhang/);

    // Screen.
    await con.click('[data-testid=screen-projects]');
    await until(() => attr(wall, '[data-testid=wall]', 'data-screen').then((s) => s === 'projects'), 5_000, 'wall on 重大项目');
    // The records of a figure, opened by a touch on the miniature.
    const mini = con.frameLocator('[data-testid=mini-frame]');
    await until(() => mini.locator('[data-testid=wall]').getAttribute('data-screen').then((s) => s === 'projects').catch(() => false), 10_000, 'the miniature follows');
    const row = mini.locator('[data-testid=p-delays] li.rule-row').first();
    await until(() => row.isVisible(), 15_000, 'a delayed project in the miniature');
    const key = await row.getAttribute('data-key');
    await row.click();
    await until(() => wall.isVisible('[data-testid=entity-drill]'), 5_000, 'the project\'s records on the wall');
    assert.equal((await wallView(wall)).drawer.key, key);
    await con.click('[data-testid=close-drawer]');
    await until(() => wall.isHidden('[data-testid=entity-drill]'), 5_000, 'records closed');

    // Region, and the map moved by hand on the miniature, then reset.
    await con.selectOption('[data-testid=region]', '420200');
    await until(() => attr(wall, '[data-testid=map]', 'data-view').then((v) => v === '420200'), 5_000, 'the wall at 黄石');
    await until(() => mini.locator('[data-testid=map]').getAttribute('data-view').then((v) => v === '420200'), 5_000, 'the miniature at 黄石');
    const width = (b) => { const [x0, , x1] = b.split(',').map(Number); return x1 - x0; };
    await con.waitForTimeout(1_000); // the fly-to ends
    const before = width(await attr(wall, '[data-testid=map]', 'data-box'));
    const box = await mini.locator('[data-testid=map]').boundingBox();
    await con.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await con.mouse.wheel(0, -400);
    await until(async () => (await wallView(wall)).map_box != null, 5_000, 'the zoomed box reaches the wall');
    await until(async () => width(await attr(wall, '[data-testid=map]', 'data-box')) < before * 0.9, 5_000, 'the wall zoomed in');
    await con.click('[data-testid=map-reset]');
    await until(async () => (await wallView(wall)).map_box == null, 5_000, 'map reset');

    // Indicator, 周期对比 (closed with Esc on the console), an alert.
    await con.click('[data-testid=screen-overview]');
    await con.click('[data-testid=indicator-2]');
    await until(() => attr(wall, '[data-testid=map-indicator] button[aria-pressed=true]', 'data-indicator').then((i) => i === '2'), 5_000, 'indicator 风险户');
    await con.click('[data-testid=open-periods]');
    await until(() => wall.isVisible('[data-testid=periods]'), 5_000, '周期对比 on the wall');
    await con.keyboard.press('Escape');
    await until(() => wall.isHidden('[data-testid=periods]'), 5_000, 'Esc closes it');
    await until(() => con.isVisible('[data-testid=present-alerts] button'), 30_000, 'an open alert on the console');
    const alertId = await con.getAttribute('[data-testid=present-alerts] button >> nth=0', 'data-alert');
    await con.click('[data-testid=present-alerts] button >> nth=0');
    await until(() => attr(wall, '[data-testid=alert-detail]', 'data-id').then((i) => i === alertId), 5_000, 'the alert\'s detail on the wall');

    // The carousel: held since the presenter took control; run, then held again.
    await until(() => attr(wall, '[data-testid=wall]', 'data-carousel').then((c) => c === 'paused'), 5_000, 'carousel held while driven');
    await con.click('[data-testid=carousel]');
    await until(() => attr(wall, '[data-testid=wall]', 'data-carousel').then((c) => c === 'running'), 5_000, 'carousel running');
    await con.click('[data-testid=carousel]');
    await until(() => attr(wall, '[data-testid=wall]', 'data-carousel').then((c) => c === 'paused'), 5_000, 'carousel held');

    // A replay of half an hour ago, then live.
    const past = new Date(Date.now() + 8 * 3600_000 - 30 * 60_000).toISOString().slice(0, 16);
    await con.fill('[data-testid=replay-at]', past);
    await con.click('[data-testid=replay]');
    await until(() => attr(wall, '[data-testid=wall]', 'data-replay').then((r) => r != null), 10_000, 'the wall replays');
    await con.click('[data-testid=live]');
    await until(() => attr(wall, '[data-testid=wall]', 'data-replay').then((r) => r == null), 10_000, 'the wall live again');

    // Pointer, highlight, blank (B on the console's keyboard).
    await con.click('[data-testid=mode-point]');
    await con.locator('[data-testid=mini]').scrollIntoViewIfNeeded();
    const stage = await con.locator('[data-testid=mini]').boundingBox();
    await con.mouse.move(stage.x + stage.width * 0.25, stage.y + stage.height * 0.5);
    await con.mouse.down();
    await until(() => wall.isVisible('[data-testid=present-pointer]'), 5_000, 'the pointer on the wall');
    const style = await wall.getAttribute('[data-testid=present-pointer]', 'style');
    assert.match(style, /left: 2[45]\.\d+%; top: (49|50)\.\d+%/, style);
    await con.mouse.up();
    await until(() => wall.isHidden('[data-testid=present-pointer]'), 5_000, 'the pointer lifted');
    await con.click('[data-testid=mode-highlight]');
    await con.mouse.click(stage.x + stage.width * 0.12, stage.y + stage.height * 0.3);
    await until(() => wall.locator('.panel.presented').count().then((n) => n === 1), 5_000, 'a panel highlighted');
    await con.click('[data-testid=clear-highlight]');
    await until(() => wall.locator('.panel.presented').count().then((n) => n === 0), 5_000, 'highlight cleared');
    await con.click('[data-testid=mode-operate]');
    await con.keyboard.press('b');
    await until(() => wall.isVisible('[data-testid=present-blank]'), 5_000, 'the wall blanked');
    await con.keyboard.press('b');
    await until(() => wall.isHidden('[data-testid=present-blank]'), 5_000, 'the wall shown again');
    await con.evaluate(() => document.querySelector('.present').scrollTo(0, 0));
    await con.waitForTimeout(500);
    await screenshot(con, 'present-1280x800.png');

    // Language: the wall reloads in English, and back.
    await con.click('[data-testid=lang]');
    await until(() => wall.getAttribute('html', 'lang').then((l) => l === 'en').catch(() => false), 15_000, 'the wall in English');
    await untilConn(wall, 'live', 15_000, 'the wall live after the reload');
    await con.click('[data-testid=lang]');
    await until(() => wall.getAttribute('html', 'lang').then((l) => l === 'zh-CN').catch(() => false), 15_000, 'the wall in Chinese');
    await untilConn(wall, 'live', 15_000, 'the wall live again');

    // A touch on the wall itself reaches the console (once the reloaded page shows the wall's state).
    await until(() => wall.isVisible('[data-testid=present-badge]'), 10_000, 'the reloaded wall driven again');
    await wall.click('[data-testid=tab-rivers]');
    await until(() => attr(con, '[data-testid=screen-rivers]', 'aria-pressed').then((p) => p === 'true'), 5_000, 'the console sees the touch');

    // Another presenter takes over only explicitly; the first is told and loses control.
    const { page: admin } = await console_(browser, server, 'li', 'hall-1', { width: 1920, height: 1080 });
    assert.equal(await admin.isVisible('[data-testid=take]'), false, 'no plain take while zhang holds it');
    await take(admin, true);
    await until(async () => (await con.textContent('[data-testid=present-status]')).includes('taken over by li'), 5_000, 'zhang is told');
    assert.equal(await con.getAttribute('[data-testid=present-status]', 'data-yours'), 'false');
    assert.equal(await con.isDisabled('[data-testid=screen-poverty]'), true);
    await admin.click('[data-testid=screen-poverty]');
    await until(() => attr(wall, '[data-testid=wall]', 'data-screen').then((s) => s === 'poverty'), 5_000, 'li drives');
    await screenshot(admin, 'present-1920x1080.png');
    const trailText = await admin.evaluate(async () => (await fetch('/api/v1/audit')).text());

    // The consoles go away: the wall keeps its view.
    await con.close();
    await admin.close();
    await wall.waitForTimeout(1_000);
    assert.equal(await attr(wall, '[data-testid=wall]', 'data-screen'), 'poverty');

    // The trail: every kind of action, by whom.
    const trail = await viewer.evaluate(async () => (await fetch('/api/v1/audit')).status);
    assert.equal(trail, 403, 'a viewer cannot read the trail');
    const lines = trailText.trim().split('\n').map((l) => JSON.parse(l));
    const seen = (action, actor) => lines.some((e) => e.action === action && e.actor === actor && e.target === 'wall:hall-1');
    for (const [action, actor] of [['present.join', 'anonymous'], ['present.take', 'zhang'], ['present.show', 'zhang'],
      ['present.set', 'zhang'], ['present.pointer', 'zhang'], ['present.touch', 'anonymous'], ['present.takeover', 'li'], ['present.show', 'li']]) {
      assert.ok(seen(action, actor), `${action} by ${actor} in the trail`);
    }
    const shows = lines.filter((e) => e.action === 'present.show' && e.actor === 'zhang').map((e) => e.body.view.screen);
    assert.ok(shows.includes('projects') && shows.includes('overview'), JSON.stringify(shows));
    assert.deepEqual(wallErrors, []);
    assert.deepEqual(conErrors, []);
  } finally {
    await browser.close();
    await killServer(server);
  }
});

test('a storyline is made, stepped through with the keyboard, exported, imported on a fresh data folder and stepped through again alike', async () => {
  const browser = await launchBrowser();
  const servers = [];
  try {
    const run = async (dataDir, make) => {
      const server = await serve({ dataDir, args: [] });
      servers.push(server);
      addUser(server, 'zhang', 'presenter');
      const { page: wall } = await openPage(browser, `${server.url}/?wall=hall-2`);
      await untilConn(wall, 'live', 15_000, 'the wall live');
      const { page: con, errors } = await console_(browser, server, 'zhang', 'hall-2');
      await take(con);
      con.on('dialog', (d) => d.accept('防汛会商'));
      const exported = join(tempDir('story'), 'storyline.toml');
      if (make) {
        await con.click('[data-testid=story-new]');
        await until(() => con.locator('[data-testid=storyline] option').count().then((n) => n === 1), 5_000, 'a new storyline');
        let made = 0;
        // A step saves the view the console last heard from the wall: wait until it has heard
        // the view the setup asked for (a loaded machine may take more than a moment).
        const step = async (title, note, setup, [screen, region, drawer, indicator]) => {
          await setup();
          await until(async () => {
            const v = JSON.parse((await attr(con, '[data-testid=present-status]', 'data-view')) || 'null');
            return v !== null && v.screen === screen && (v.region ?? null) === region && (v.drawer?.kind ?? null) === drawer
              && (indicator === undefined || v.indicator === indicator);
          }, 15_000, `the console hears the wall at ${screen}`);
          await con.fill('[data-testid=step-title]', title);
          await con.fill('[data-testid=step-note-input]', note);
          await con.click('[data-testid=step-add]');
          made += 1;
          await until(() => con.locator('[data-testid=steps] li').count().then((n) => n === made), 5_000, `step ${title} saved`);
        };
        await step('长江断面', '先看达标率', () => con.click('[data-testid=screen-yangtze]'), ['yangtze', null, null]);
        await step('黄石 · 周期对比', '', async () => {
          await con.click('[data-testid=screen-projects]');
          // Three controls within one round trip: each builds on the one before.
          await con.selectOption('[data-testid=region]', '420200');
          await con.click('[data-testid=open-periods]');
        }, ['projects', '420200', 'periods']);
        await step('全省在库项目', '最后看全省', async () => {
          await con.click('[data-testid=screen-overview]');
          await con.click('[data-testid=indicator-3]');
        }, ['overview', null, null, 3]);
        const [download] = await Promise.all([con.waitForEvent('download'), con.click('[data-testid=export-toml]')]);
        await download.saveAs(exported);
      }
      return { server, wall, con, errors, exported };
    };

    const stepThrough = async ({ wall, con }) => {
      await con.click('[data-testid=screen-poverty]');
      await until(() => attr(wall, '[data-testid=wall]', 'data-screen').then((s) => s === 'poverty'), 5_000, 'start elsewhere');
      const views = [];
      const want = [['yangtze', null, null], ['projects', '420200', 'periods'], ['overview', null, null]];
      for (const [screen, region, drawer] of want) {
        await con.keyboard.press('PageDown');
        // A step with a region and a drawer fetches their records: allow for a loaded machine.
        await until(async () => {
          const v = await wallView(wall);
          return v.screen === screen && (v.region ?? null) === region && (v.drawer?.kind ?? null) === drawer;
        }, 15_000, `the wall at ${screen}`);
        views.push(await wallView(wall));
      }
      assert.equal(views[2].indicator, 3);
      assert.match(await con.textContent('[data-testid=step-note]'), /最后看全省/);
      await con.keyboard.press('ArrowLeft');
      await until(async () => (await wallView(wall)).screen === 'projects', 5_000, 'back a step');
      await until(() => wall.isVisible('[data-testid=periods]'), 5_000, '周期对比 open again');
      return views;
    };

    const first = await run(tempDir('first'), true);
    const views1 = await stepThrough(first);
    const second = await run(tempDir('fresh'), false);
    await second.con.setInputFiles('[data-testid=import]', first.exported);
    await until(() => second.con.locator('[data-testid=steps] li').count().then((n) => n === 3), 5_000, 'imported with 3 steps');
    const views2 = await stepThrough(second);
    assert.deepEqual(views2, views1, 'the same views after export and import');
    assert.deepEqual(first.errors, []);
    assert.deepEqual(second.errors, []);
  } finally {
    await browser.close();
    for (const s of servers) await killServer(s);
  }
});

/** Fraction of pixels whose colour differs by more than `tolerance` (any channel) between two PNGs, compared in a page. */
async function pixelDifference(page, pngA, pngB, tolerance = 48) {
  return page.evaluate(async ([a, b, tol]) => {
    const load = async (b64) => createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
    const [ia, ib] = await Promise.all([load(a), load(b)]);
    if (ia.width !== ib.width || ia.height !== ib.height) return { size: [ia.width, ia.height, ib.width, ib.height], fraction: 1 };
    const pixels = (img) => {
      const c = new OffscreenCanvas(img.width, img.height);
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      return g.getImageData(0, 0, img.width, img.height).data;
    };
    const [pa, pb] = [pixels(ia), pixels(ib)];
    let differ = 0;
    for (let i = 0; i < pa.length; i += 4) {
      if (Math.abs(pa[i] - pb[i]) > tol || Math.abs(pa[i + 1] - pb[i + 1]) > tol || Math.abs(pa[i + 2] - pb[i + 2]) > tol) differ += 1;
    }
    return { size: [ia.width, ia.height], fraction: differ / (pa.length / 4) };
  }, [pngA.toString('base64'), pngB.toString('base64'), tolerance]);
}

test('an export of a screen at 7680×2160 equals a screenshot of the wall; a storyline PDF has a page per step with its title', async () => {
  const server = await serve({ args: ['--no-simulator'] });
  addUser(server, 'zhang', 'presenter');
  const token = createToken(server.dataDir, 'hbsthj');
  // Class Ⅱ readings (no alert, so nothing on the wall moves but the clock).
  await postEvents(server.url, token, ['cj-yangsigang', 'cj-nanjinguan', 'hj-xingou'].map((s, i) => waterReading(`r${i}`, s, 0.3)));
  const browser = await launchBrowser();
  try {
    const WALL = { width: 7680, height: 2160 };
    const { page: wall, errors } = await openPage(browser, `${server.url}/yangtze?wall=hall-9`, WALL);
    await untilConn(wall, 'live', 20_000, 'the 8K wall live');
    const { page: con } = await console_(browser, server, 'zhang', 'hall-9');
    await take(con);
    const view = await wallView(wall);
    const exportOf = (body) => con.evaluate(async (b) => {
      const r = await fetch('/api/v1/export', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(b) });
      const bytes = new Uint8Array(await r.arrayBuffer());
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { status: r.status, type: r.headers.get('content-type'), b64: btoa(s) };
    }, body);
    const started = Date.now();
    const png = await exportOf({ format: 'png', size: [7680, 2160], steps: [{ title: '长江', view }] });
    console.log(`# export of a 7680×2160 screen took ${Date.now() - started} ms`);
    assert.equal(png.status, 200, Buffer.from(png.b64, 'base64').toString().slice(0, 300));
    assert.equal(png.type, 'image/png');
    await wall.waitForTimeout(500);
    const shot = await wall.screenshot();
    const exported = Buffer.from(png.b64, 'base64');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(artifacts, 'present-export-7680x2160.png'), exported);
    const blank = await browser.newPage(); // no CSP: data: images may be read
    const diff = await pixelDifference(blank, exported, shot);
    console.log(`# export vs the wall's screenshot at 7680×2160: ${(diff.fraction * 100).toFixed(3)} % of pixels differ (threshold 1 %)`);
    assert.deepEqual(diff.size, [7680, 2160]);
    assert.ok(diff.fraction < 0.01, `${diff.fraction} of the pixels differ`);

    // A storyline of three steps as a PDF: three pages, each titled.
    const titles = ['长江断面', '河湖长制 · 黄石', 'Projects 概览'];
    const story = { name: '会商', steps: [
      { title: titles[0], view: { screen: 'yangtze' } },
      { title: titles[1], view: { screen: 'rivers', region: '420200' } },
      { title: titles[2], view: { screen: 'projects', lang: 'en' } },
    ] };
    const made = await con.evaluate(async (s) => (await fetch('/api/v1/storylines', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(s) })).json(), story);
    const pdf = await exportOf({ format: 'pdf', size: [1920, 1080], storyline: made.id });
    assert.equal(pdf.status, 200, Buffer.from(pdf.b64, 'base64').toString().slice(0, 300));
    assert.equal(pdf.type, 'application/pdf');
    const bytes = Buffer.from(pdf.b64, 'base64');
    writeFileSync(join(artifacts, 'present-storyline.pdf'), bytes);
    const text = bytes.toString('latin1');
    assert.ok(text.startsWith('%PDF-'));
    assert.equal((text.match(/\/Type\s*\/Page\b(?!s)/g) ?? []).length, 3, 'one page per step');
    // The outline holds the page titles (UTF-16BE hex strings or literals).
    const outline = [...text.matchAll(/\/Title\s*(<[0-9A-Fa-f\s]+>|\((?:\\.|[^\\)])*\))/g)].map(([, t]) => {
      if (t.startsWith('<')) {
        const hex = t.slice(1, -1).replace(/\s/g, '');
        const buf = Buffer.from(hex, 'hex');
        return buf[0] === 0xfe && buf[1] === 0xff ? buf.subarray(2).swap16().toString('utf16le') : buf.toString('latin1');
      }
      return t.slice(1, -1);
    });
    for (const t of titles) assert.ok(outline.includes(t), `"${t}" in the outline ${JSON.stringify(outline)}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await killServer(server);
  }
});
