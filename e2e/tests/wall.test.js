// The walking skeleton, end to end: real server binary, real Chromium, live data over /ws.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startServer, serve, killServer, closeAll, launchBrowser, until } from '../lib/harness.js';
import { openPage, untilConn, screenshot } from '../lib/pages.js';

let browser;
let server;

before(async () => {
  browser = await launchBrowser();
});

after(() => closeAll(browser, server));

// The live figure: river-chief patrols, several a second with the simulator's default speed.
const liveText = (page) => page.locator('[data-testid="patrols-total"] .kpi-number').innerText();
const number = (text) => Number(text);

/** Fraction of the map's pixels (its ground with the live canvas over it) that differ from the
 * top-left pixel (0 = blank). */
function mapInk(page) {
  return page.evaluate(() => {
    const c = document.querySelector('canvas[data-testid="map"]');
    const g = document.querySelector('canvas[data-testid="map-ground"]');
    if (!c || !g || c.width === 0 || c.height === 0) return { ink: 0, width: 0, height: 0 };
    const both = document.createElement('canvas');
    both.width = c.width;
    both.height = c.height;
    const ctx = both.getContext('2d');
    ctx.drawImage(g, 0, 0);
    ctx.drawImage(c, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let differing = 0;
    const step = 16; // sample every 4th pixel
    for (let i = 0; i < d.length; i += step) {
      if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) differing++;
    }
    return { ink: differing / (d.length / step), width: c.width, height: c.height, cssWidth: c.clientWidth };
  });
}

test('the wall shows Hubei, live figures, and recovers from a server restart without reload', async () => {
  const port = await freePort();
  server = await startServer(port);
  const { page, errors } = await openPage(browser, server.url + '/');

  assert.equal(await page.title(), '湖北省数字政府 · 一屏全览');
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  await untilConn(page, 'live', 15_000, 'live connection');

  // The live figure changes at least twice (the simulator reports every second).
  const seen = [await liveText(page)];
  await until(async () => {
    const v = await liveText(page);
    if (v !== seen[seen.length - 1]) seen.push(v);
    return seen.length >= 3;
  }, 15_000, 'the readings figure to change twice');
  assert.ok(seen.slice(1).every((v) => /^\d+$/.test(v)), `figures are numbers: ${seen}`);
  assert.match(await page.locator('[data-testid="assistance"] .kpi-unit').innerText(), /^[万亿]?元$/);
  // Every theme's panel shows figures.
  for (const id of ['good-share', 'outlets', 'problems-open', 'projects', 'invest', 'monitored', 'assistance']) {
    const v = await page.locator(`[data-testid="${id}"] .kpi-number`).innerText();
    assert.match(v, /^\d+(\.\d+)?$/, `${id} shows a number, got ${v}`);
  }

  // The map is drawn at native device pixels and is not blank.
  const map = await until(async () => { const m = await mapInk(page); return m.ink > 0.2 ? m : null; }, 15_000, 'a drawn map');
  assert.equal(map.width, map.cssWidth, 'canvas is at device pixels (DPR 1 here)');
  await screenshot(page, 'wall-1920x1080.png');
  // Live updates redraw only what changed: the land and the top tier (water and borders) were
  // rendered once for this size.
  const mapAttr = (name) => page.locator('canvas[data-testid="map"]').getAttribute(name).then(Number);
  const drawsBefore = await mapAttr('data-draws');
  await until(async () => (await mapAttr('data-draws')) >= drawsBefore + 2, 15_000, 'two more map updates');
  assert.equal(await mapAttr('data-top-draws'), 1, 'water and borders drawn once');
  assert.equal(await mapAttr('data-land-draws'), 1, 'the land drawn once');

  // Kill the server as a crash would; the wall says so, then recovers by itself on restart.
  await page.evaluate(() => { window.__noReloadMarker = 'still-here'; });
  const beforeKill = number(await liveText(page));
  await killServer(server);
  await untilConn(page, 'reconnecting', 10_000, 'the wall to notice the lost server');
  server = await startServer(port, server.dataDir);
  await untilConn(page, 'live', 30_000, 'reconnection');
  // The log survived the crash: the figure carries on from where it was, and stays live.
  const afterRestart = await liveText(page);
  assert.ok(number(afterRestart) >= beforeKill, `figure after restart ${afterRestart} >= before ${beforeKill}`);
  await until(async () => (await liveText(page)) !== afterRestart, 15_000, 'live figures after restart');
  assert.equal(await page.evaluate(() => window.__noReloadMarker), 'still-here', 'the page was not reloaded');
  assert.deepEqual(errors, [], 'no uncaught page errors');
  await page.close();
});

test('the wall at 7680×2160 renders crisply with Chinese text', async () => {
  if (!server) server = await serve();
  const { page } = await openPage(browser, server.url + '/', { width: 7680, height: 2160 });
  await until(async () => /^\d+(\.\d+)?$/.test(await liveText(page)), 15_000, 'a live figure');
  const map = await until(async () => { const m = await mapInk(page); return m.ink > 0.2 ? m : null; }, 15_000, 'a drawn map');
  assert.ok(map.width >= 2500 && map.width === map.cssWidth, `map canvas is sized for the wall at device pixels: ${map.width}px`);
  // Text is sized from the screen height: the title is about twice as tall as at 1080p.
  const h1 = await page.locator('h1').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(h1 > 80, `title font ${h1}px at 2160p`);
  // 32:9: the panels stand in four columns around a wide map, none of them squeezed.
  const columns = await page.evaluate(() => new Set([...document.querySelectorAll('.wall-body .panel')].map((p) => Math.round(p.getBoundingClientRect().left))).size);
  assert.equal(columns, 5, 'five columns of panels (four around the map)');
  await page.waitForTimeout(1000);
  await screenshot(page, 'wall-7680x2160.png');
  await page.close();
  // 48:9 (5760×1080) takes the wide layout as well; 16:9 keeps three columns.
  for (const [w, h, n] of [[5760, 1080, 5], [3840, 2160, 3]]) {
    const { page: p } = await openPage(browser, server.url + '/', { width: w, height: h });
    await until(async () => { const m = await mapInk(p); return m.ink > 0.2; }, 15_000, `a drawn map at ${w}×${h}`);
    const cols = await p.evaluate(() => new Set([...document.querySelectorAll('.wall-body .panel')].map((x) => Math.round(x.getBoundingClientRect().left))).size);
    assert.equal(cols, n, `${w}×${h}: ${n} columns`);
    await p.waitForTimeout(1000);
    await screenshot(p, `wall-${w}x${h}.png`);
    await p.close();
  }
});

test('?lang=en switches the wall to English', async () => {
  if (!server) server = await serve();
  const { page } = await openPage(browser, server.url + '/?lang=en');
  await until(async () => (await page.title()) === 'Hubei Digital Government · One Screen', 15_000, 'the English title');
  await until(async () => (await page.locator('[data-testid="conn"]').innerText()).includes('Live'), 15_000, 'English status');
  // Figures are scaled the Western way (K/M/B), not by 万/亿 (once the villages have reported:
  // before that the figure is 0 CNY).
  const unit = await until(async () => {
    const u = await page.locator('[data-testid="assistance"] .kpi-unit').innerText();
    return /万|亿/.test(u) || /^[KMB] CNY$/.test(u) ? u : null;
  }, 15_000, 'the assistance figure');
  assert.match(unit, /^[KMB] CNY$/);
  await screenshot(page, 'wall-en-1920x1080.png');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.close();
});

test('one touch on a prefecture flies to it with its counties; breadcrumb and Escape return', async () => {
  if (!server) server = await serve();
  for (const [width, height, name] of [[1920, 1080, 'map-shiyan-1920x1080.png'], [7680, 2160, 'map-wuhan-7680x2160.png']]) {
    const { page } = await openPage(browser, server.url + '/', { width, height });
    const mapView = () => page.locator('canvas[data-testid="map"]').getAttribute('data-view');
    await until(async () => (await mapInk(page)).ink > 0.2, 15_000, 'a drawn map');
    assert.equal(await mapView(), '420000');
    // The province view colours the prefectures by patrols, with a legend of about five classes
    // whose bounds are round numbers that rise.
    await until(async () => (await page.getByTestId('map-legend').count()) === 1, 15_000, 'the legend');
    const rows = await page.locator('[data-testid="map-legend"] li').allInnerTexts();
    assert.ok(rows.length >= 3 && rows.length <= 7, `${rows}`);
    const bounds = rows.map((r) => Number(r.split('–')[1]));
    assert.ok(bounds.every((b, i) => i === 0 || b > bounds[i - 1]), `${rows}`);
    assert.match(await page.locator('[data-testid="map-legend"] .legend-title').innerText(), /巡河/);
    const province = await page.locator('canvas[data-testid="map"]').screenshot();

    const target = name.includes('shiyan') ? ['十堰市', '420300'] : ['武汉市', '420100'];
    // A touch on the prefecture's name (the canvas under it takes pointers).
    const spot = await page.getByRole('button', { name: target[0] }).boundingBox();
    await page.mouse.click(spot.x + spot.width / 2, spot.y + spot.height / 2);
    await until(async () => (await mapView()) === target[1], 5_000, `the map to select ${target[0]}`);
    assert.equal(await page.getByTestId('crumb-current').innerText(), target[0]);
    assert.equal(await page.getByTestId('map-legend').count(), 0, 'the legend is for the province view');
    await page.waitForTimeout(900); // the fly-to takes 600 ms
    const zoomed = await page.locator('canvas[data-testid="map"]').screenshot();
    assert.notDeepEqual(zoomed, province, 'the map changed to the prefecture');
    await screenshot(page, name);

    await page.getByTestId('crumb-province').click();
    await until(async () => (await mapView()) === '420000', 5_000, 'the breadcrumb to return to the province');
    // The names are buttons for keyboards too.
    await page.getByRole('button', { name: '襄阳市' }).focus();
    await page.keyboard.press('Enter');
    await until(async () => (await mapView()) === '420600', 5_000, 'a second drill-down');
    await page.keyboard.press('Escape');
    await until(async () => (await mapView()) === '420000', 5_000, 'Escape to return to the province');
    // The view is in the address: the browser's back returns, and an address opens a prefecture.
    await page.getByRole('button', { name: '宜昌市' }).focus();
    await page.keyboard.press('Enter');
    await until(async () => (await mapView()) === '420500', 5_000, 'a drill-down to 宜昌');
    assert.match(page.url(), /#420500$/);
    await page.goBack();
    await until(async () => (await mapView()) === '420000', 5_000, 'the browser back to return to the province');
    await page.goto(server.url + '/#421000');
    await until(async () => (await mapView()) === '421000', 15_000, 'the address to open 荆州');
    assert.equal(await page.getByTestId('crumb-current').innerText(), '荆州市');
    await page.close();
  }
});

test('one touch on a ranking bar flies the map to the prefecture and opens its records, which match the figure', async () => {
  if (!server) server = await serve();
  const { page, errors } = await openPage(browser, server.url + '/');
  const ranking = page.locator('canvas[data-testid="ranking"]');
  await until(async () => Number(await ranking.getAttribute('data-draws')) > 0, 20_000, 'the ranking');
  // Wait until some prefecture has patrols, so the top bar is a real figure.
  await until(async () => Number(await page.locator('[data-testid="patrols-total"]').getAttribute('data-value')) >= 5, 30_000, 'some patrols');
  await page.waitForTimeout(2500); // let the ranking settle into its order
  const box = await ranking.boundingBox();
  await ranking.click({ position: { x: box.width / 4, y: box.height / 20 } });
  const from = page.getByTestId('drill-from');
  const key = await from.getAttribute('data-key');
  const value = Number(await from.getAttribute('data-value'));
  assert.match(key, /^42\d{4}$/);
  assert.ok(value >= 1, `the top bar has patrols (${value})`);
  const mapView = () => page.locator('canvas[data-testid="map"]').getAttribute('data-view');
  await until(async () => (await mapView()) === key, 5_000, 'the map to fly to the prefecture');
  assert.match(await page.locator('section.panel-map .panel-title').innerText(), / · 县级行政区$/, 'the map title follows the drill-down');
  const drill = page.getByTestId('drill');
  await until(async () => (await drill.getAttribute('data-adcode')) === key && await page.getByTestId('drill-patrols').count() === 1, 5_000, 'the records');
  // The records are the server's figures for that prefecture: the patrols the bar showed (or a
  // few more, as the data is live).
  const patrols = Number(await page.getByTestId('drill-patrols').getAttribute('data-value'));
  assert.ok(patrols >= value && patrols <= value + 20, `records ${patrols} vs figure ${value}`);
  assert.ok((await page.getByTestId('drill').locator('h3').innerText()).length >= 2, 'the drawer names the region');
  await page.waitForTimeout(900); // the fly-to
  await screenshot(page, 'wall-drill-1920x1080.png');
  // Closing returns the map to the province.
  await page.getByTestId('drill-close').click();
  await until(async () => (await mapView()) === '420000', 5_000, 'back to the province');
  assert.ok(await drill.isHidden());
  assert.deepEqual(errors, []);
  await page.close();
});

test('one touch on a headline figure opens the province records behind it, which match it', async () => {
  if (!server) server = await serve();
  const { page } = await openPage(browser, server.url + '/');
  const kpi = page.getByTestId('patrols-total');
  await until(async () => Number(await kpi.getAttribute('data-value')) >= 3, 30_000, 'some patrols');
  await kpi.click();
  const figure = Number(await page.getByTestId('drill-from').getAttribute('data-value'));
  const drill = page.getByTestId('drill');
  await until(async () => (await drill.getAttribute('data-adcode')) === '420000' && (await page.getByTestId('drill-patrols').count()) === 1, 5_000, 'the province records');
  assert.equal(await page.getByTestId('drill').locator('h3').innerText(), '湖北省');
  const records = Number(await page.getByTestId('drill-patrols').getAttribute('data-value'));
  assert.ok(records >= figure && records <= figure + 30, `records ${records} vs figure ${figure}`);
  await page.keyboard.press('Escape');
  await until(async () => await drill.isHidden(), 5_000, 'Escape to close the records');
  await page.close();
});
