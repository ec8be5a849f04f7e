// The API's reader at /api/docs: Swagger UI from the server's own files renders the OpenAPI
// document (every operation listed, a schema opened) with nothing fetched from another origin,
// no error and no content-security-policy violation: integrators on a government network
// without the internet read it as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, launchBrowser, until } from '../lib/harness.js';
import { openPage, screenshot } from '../lib/pages.js';

test('/api/docs renders every operation of the OpenAPI document offline', async () => {
  const browser = await launchBrowser();
  try {
    await withServer({ args: ['--no-simulator'] }, async (server) => {
      const doc = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
      const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
      assert.ok(operations >= 40, `${operations} operations`);

      const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
      const errors = [];
      const foreign = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('request', (r) => { if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) foreign.push(r.url()); });
      await page.goto(`${server.url}/api/docs`);

      await until(() => page.locator('.opblock').count().then((n) => n === operations), 20_000, 'every operation listed');
      assert.match(await page.locator('.info .title').innerText(), /yiping/);
      // The ingest operation, opened: its NDJSON example and the event schemas' names.
      await page.locator('#operations-ingest-post_events .opblock-summary').click();
      await until(() => page.locator('#operations-ingest-post_events .body-param__example, #operations-ingest-post_events .microlight').first().isVisible(), 5_000, 'the example body');
      assert.match(await page.locator('#operations-ingest-post_events').innerText(), /water\.reading/);
      // A schema, opened.
      await page.locator('.models').scrollIntoViewIfNeeded();
      const envelope = page.locator('.models article[data-json-schema-level="0"]', {
        has: page.locator(':scope > .json-schema-2020-12-head .json-schema-2020-12__title', { hasText: /^Envelope$/ }),
      });
      await envelope.locator('.json-schema-2020-12-expand-deep-button').first().click();
      await until(() => envelope.innerText().then((t) => t.includes('poverty.village')), 5_000, 'the Envelope schema opened');
      await envelope.scrollIntoViewIfNeeded();
      await screenshot(page, 'api-docs-1920x1080.png');
      assert.deepEqual(foreign, [], 'nothing from another origin');
      assert.deepEqual(errors, []);
    });
  } finally {
    await browser.close();
  }
});
