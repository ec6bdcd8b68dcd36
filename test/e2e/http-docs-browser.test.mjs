// GET /docs in a real browser (Debian's chromium, headless, driven by playwright-core): the page
// loads its scripts from the server itself (no CDN: every request the page makes goes to the
// server), lists the routes of /openapi.json, and "Try it out" on POST /tokenize sends a request
// whose answer the page shows; a server of several models lists every model's routes. A screenshot
// is kept in test-output/ (git-ignored).
import t from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { root, spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { postJson } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('tiny'), testModel('embed'), testModel('ner'));
const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM))
  throw new Error(`${CHROMIUM} is missing: run \`bash scripts/install-system-deps.sh --test\` (installs Debian's chromium)`);

const server = await spawnServer(['--model', testModel('tiny')], { t });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
t.teardown(() => browser.close());

/** "METHOD /path" of every operation the page at URL/docs shows. */
async function routesOnPage(page, url) {
  await page.goto(`${url}/docs`);
  await page.locator('.opblock').first().waitFor({ timeout: 60_000 });
  return page
    .locator('.opblock-summary-path')
    .evaluateAll((els) =>
      els.map((e) => `${e.closest('.opblock').querySelector('.opblock-summary-method').textContent} ${e.getAttribute('data-path')}`),
    );
}

t.test('the page lists the routes and "Try it out" on POST /tokenize shows the answer', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1800 } });
  const foreign = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url)) foreign.push(r.url());
  });
  const failed = [];
  page.on('requestfailed', (r) => failed.push(r.url()));

  const paths = await routesOnPage(page, server.url);
  t.same(
    [...paths].sort(),
    [
      'GET /docs',
      'GET /health',
      'GET /info',
      'GET /metrics',
      'GET /openapi.json',
      'GET /ready',
      'GET /v1/models',
      'GET /v2',
      'GET /v2/health/live',
      'GET /v2/health/ready',
      'GET /v2/models/tiny',
      'GET /v2/models/tiny/ready',
      'POST /',
      'POST /tokenize',
      'POST /v2/models/tiny/infer',
      // The repository index answers with model control off too, as Triton's does; load and unload
      // are listed only when it is on.
      'POST /v2/repository/index',
    ],
    "the fill-mask server's routes",
  );

  const op = page.locator('.opblock-post', { has: page.locator('[data-path="/tokenize"]') });
  await op.locator('.opblock-summary').click();
  await op.locator('button.try-out__btn').click();
  const body = { inputs: 'Hello [MASK] world!', add_special_tokens: true };
  await op.locator('textarea.body-param__text').fill(JSON.stringify(body));
  await op.locator('button.execute').click();
  const status = op.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: 60_000 });
  t.equal((await status.textContent()).trim(), '200');
  const shown = await op
    .locator(
      '.live-responses-table .response-col_description .highlight-code pre, .live-responses-table .response-col_description pre.microlight',
    )
    .first()
    .textContent();
  const direct = await postJson(server.port, '/tokenize', body);
  t.same(JSON.parse(shown), direct.json, "the page shows the server's answer");
  t.ok(
    JSON.parse(shown)[0].some((tok) => tok.text === '[MASK]' && tok.special),
    'a real tokenization',
  );

  t.same(foreign, [], 'nothing loaded from outside the server');
  t.same(failed, [], 'no request of the page failed');
  const out = join(root, 'test-output');
  mkdirSync(out, { recursive: true });
  await page.screenshot({ path: join(out, 'docs.png'), fullPage: true });
  await page.close();
});

t.test("several models: the page shows every model's routes, as /openapi.json documents them", async (t) => {
  const many = await spawnServer(['--model', testModel('embed'), '--model', `ner=${testModel('ner')}`], { t });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1800 } });
  t.teardown(() => page.close());
  const shown = await routesOnPage(page, many.url);
  const doc = await (await fetch(`${many.url}/openapi.json`)).json();
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  t.same([...shown].sort(), [...documented].sort(), 'the page shows every documented operation');
  for (const route of [
    'POST /models/embed/embed',
    'POST /models/embed/v1/embeddings',
    'GET /models/embed/info',
    'POST /models/ner',
    'GET /models/ner/info',
    'POST /v2/models/embed/infer',
    'POST /v2/models/ner/infer',
    'GET /v1/models',
  ]) {
    t.ok(shown.includes(route), `shows ${route}`);
  }
  t.notOk(shown.includes('POST /models/ner/embed'), 'not a route the model lacks');
});
