// Pages of the wall in the browser: opening one, its connection badge, saving what it shows.
import { join } from 'node:path';
import { artifacts, until } from './harness.js';

/** The wall's most common screen size, in CSS pixels. */
export const FULL_HD = { width: 1920, height: 1080 };

/**
 * A new page of `browser` at `viewport` (1920×1080 if not given), opened at `url`. Returns the
 * page and `errors`, the uncaught errors (`pageerror`) the page has thrown since before it loaded;
 * a test that wants none asserts that `errors` is empty itself.
 */
export async function openPage(browser, url, viewport = FULL_HD) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

/** Wait, as `until(…, ms, what)` does, for the page's connection badge (`[data-testid=conn]`) to be in `state` (`live`, `reconnecting`). */
export function untilConn(page, state, ms, what) {
  return until(async () => (await page.locator('[data-testid=conn]').getAttribute('data-state')) === state, ms, what);
}

/** Save what `page` shows as `name` (a .png) in e2e/artifacts/. */
export function screenshot(page, name) {
  return page.screenshot({ path: join(artifacts, name) });
}

/**
 * A page init script (`page.addInitScript(watchFirstPaint)`) that notes the wall's first map frame
 * with data: once the choropleth's legend has appeared (`__legendAt`), the first map frame drawn
 * after it (`__firstPaint`: the canvas's `data-frame-at`, the page's performance.now() from
 * navigation); then `__committed`, when a task queued from that frame runs (the frame's task
 * ends with the main thread's part of the commit to the compositor, so this marks that end, at
 * most). All three are null until then.
 */
export function watchFirstPaint() {
  window.__legendAt = null;
  window.__firstPaint = null;
  window.__committed = null;
  const check = () => {
    if (window.__firstPaint !== null) return;
    if (window.__legendAt === null && document.querySelector('[data-testid=map-legend]')) window.__legendAt = performance.now();
    const at = Number(document.querySelector('canvas[data-testid=map]')?.getAttribute('data-frame-at'));
    if (window.__legendAt !== null && at >= window.__legendAt) {
      window.__firstPaint = at;
      setTimeout(() => { window.__committed = performance.now(); });
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-frame-at'] });
}
