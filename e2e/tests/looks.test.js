// What a leader sees: every screen at 1920×1080, 3840×2160 and 7680×2160, on a fresh start and
// after an hour of simulated data, saved in e2e/artifacts/ (look-<state>-<screen>-<w>x<h>.png) to
// be looked at. Checked here, on every one: no panel title wraps or runs under its data-time badge,
// no panel's content is cut off or leaves most of the panel empty, and nothing fails on the page.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, launchBrowser, sleep, tempDir, until } from '../lib/harness.js';
import { simulate, importEvents } from '../lib/cli.js';
import { openPage, screenshot } from '../lib/pages.js';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const SCREENS = ['overview', 'yangtze', 'rivers', 'projects', 'poverty'];
const SIZES = [[1920, 1080], [3840, 2160], [7680, 2160]];

/** Layout faults of the panels on the page, as readable lines. */
async function layoutFaults(page) {
  return page.evaluate(() => {
    const faults = [];
    const box = (el) => el.getBoundingClientRect();
    const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    for (const panel of document.querySelectorAll('section.panel:not(.pane-off .panel)')) {
      const name = panel.className;
      const title = panel.querySelector('.panel-title');
      const time = panel.querySelector('.panel-time');
      if (title) {
        const lh = parseFloat(getComputedStyle(title).lineHeight) || parseFloat(getComputedStyle(title).fontSize) * 1.3;
        if (box(title).height > lh * 1.5) faults.push(`${name}: title wraps (${box(title).height.toFixed(0)} px for a ${lh.toFixed(0)} px line)`);
        if (title.scrollWidth > title.clientWidth + 1) faults.push(`${name}: title cut off`);
        if (time && time.textContent && overlap(box(title), box(time))) faults.push(`${name}: title under the data time`);
      }
      const body = panel.querySelector('.panel-body');
      if (body && body.scrollHeight > body.clientHeight + 2 && getComputedStyle(body).overflowY !== 'auto') {
        faults.push(`${name}: content cut off (${body.scrollHeight} > ${body.clientHeight})`);
      }
    }
    return faults;
  });
}

async function shoot(url, state) {
  for (const [w, h] of SIZES) {
    for (const screen of SCREENS) {
      const { page, errors } = await openPage(browser, `${url}/${screen === 'overview' ? '' : screen}`, { width: w, height: h });
      await until(async () => (await page.locator('section.panel[data-freshness="fresh"]:not(.pane-off .panel)').count()) > 0, 20_000, `${screen}: live data`);
      await page.waitForTimeout(2500); // charts settle, rankings finish moving
      await screenshot(page, `look-${state}-${screen}-${w}x${h}.png`);
      assert.deepEqual(await layoutFaults(page), [], `${state} ${screen} ${w}×${h}`);
      assert.deepEqual(errors, [], `${state} ${screen} ${w}×${h}`);
      await page.close();
    }
  }
}

test('every screen at three sizes, on a fresh start: no wrapped or hidden titles, nothing cut off', async () => {
  await withServer({}, async (server) => {
    await sleep(4000); // the simulator's first reports
    await shoot(server.url, 'fresh');
  });
});

test('every screen at three sizes after an hour of simulated data', async () => {
  const dir = tempDir('looks');
  // About an hour of the simulator at its default pace, ending now.
  importEvents(dir, 'hour.ndjson', simulate(18000, 5), 'simulator');
  await withServer({ dataDir: dir }, (server) => shoot(server.url, 'hour'));
});
