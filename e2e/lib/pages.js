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
