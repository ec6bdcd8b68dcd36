// Access and observability over real HTTP against the real CLI: the API key (from a file and from
// the environment; 401 answers, open probe and docs paths, refusals that never reach the engine),
// CORS (off by default; an allow-list with preflights), x-request-id (kept, replaced, generated,
// carried into log lines), the access log's sampling, the batch histograms and Node's standard
// process metric names, and the options' usage errors.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { metrics, postJson, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('tiny'));

const dir = mkdtempSync(join(tmpdir(), 'bert-serve-access-'));
const keyFile = join(dir, 'key');
writeFileSync(keyFile, 'file-key-0123456789\n');
const ORIGIN = 'http://app.example:3000';

// guarded: key from a file, CORS for one origin, no successful request logged.
const guarded = await spawnServer(
  [
    '--model',
    testModel('tiny'),
    '--api-key-file',
    keyFile,
    '--cors-allow-origin',
    `${ORIGIN},https://other.example`,
    '--access-log-sample',
    '0',
  ],
  { t },
);
// plain: key from the environment, no CORS, every request logged.
const plain = await spawnServer(['--model', testModel('tiny')], { t, env: { BERT_SERVE_API_KEY: 'env-key' } });
const auth = (key) => ({ authorization: `Bearer ${key}` });
const FILE_KEY = auth('file-key-0123456789');

t.test('--api-key-file: 401 without the key, with a wrong one or another scheme; 200 with it', async (t) => {
  for (const path of ['/info', '/metrics', '/models/tiny/info', '/v1/models', '/v2', '/v2/models/tiny']) {
    const r = await request(guarded.port, { path });
    t.equal(r.status, 401, `${path} without a key`);
    t.same(r.json, { error: 'this server needs an API key: send "Authorization: Bearer KEY"', error_type: 'unauthorized' });
    t.equal(r.headers['www-authenticate'], 'Bearer realm="bert-serve"');
    t.equal((await request(guarded.port, { path, headers: FILE_KEY })).status, 200, `${path} with the key`);
  }
  for (const authorization of [
    'Bearer file-key-012345678',
    'Bearer file-key-0123456789x',
    'Bearer x',
    'Basic ZmlsZS1rZXk=',
    'Bearer',
    'bearer  file-key-0123456789 extra',
  ]) {
    const r = await postJson(guarded.port, '/', { inputs: 'a [MASK]' }, { authorization });
    t.equal(r.status, 401, authorization);
    t.equal(r.json.error_type, 'unauthorized');
    t.equal(r.headers['www-authenticate'], 'Bearer realm="bert-serve", error="invalid_token"');
  }
  const ok = await postJson(guarded.port, '/', { inputs: 'a [MASK]' }, { authorization: 'bearer file-key-0123456789' });
  t.equal(ok.status, 200, 'the scheme is case-insensitive');
  const infer = { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a [MASK]'] }] };
  t.equal((await postJson(guarded.port, '/v2/models/tiny/infer', infer)).status, 401, 'the Open Inference Protocol infer needs the key');
  t.equal((await postJson(guarded.port, '/v2/models/tiny/infer', infer, FILE_KEY)).status, 200);
});

t.test('the key from the environment (BERT_SERVE_API_KEY)', async (t) => {
  t.equal((await postJson(plain.port, '/tokenize', { inputs: 'x' })).status, 401);
  t.equal((await postJson(plain.port, '/tokenize', { inputs: 'x' }, auth('env-key'))).status, 200);
});

t.test('probes and the API description stay open', async (t) => {
  for (const path of [
    '/health',
    '/ready',
    '/openapi.json',
    '/docs',
    '/docs/init.js',
    '/models/tiny/ready',
    '/models/tiny/openapi.json',
    '/v2/health/live',
    '/v2/health/ready',
    '/v2/models/tiny/ready',
  ]) {
    t.equal((await request(guarded.port, { path })).status, 200, path);
  }
  const doc = (await request(guarded.port, { path: '/openapi.json' })).json;
  t.same(doc.security, [{ bearer: [] }], 'the document asks for the bearer key');
  t.same(doc.paths['/health'].get.security, [], '/health is documented as open');
  t.ok(doc.paths['/'].post.responses[401], 'POST / documents 401');
});

t.test('a refused request costs no engine work, and the connection keeps serving', async (t) => {
  const before = await metrics(plain.port).catch(() => undefined);
  t.equal(before, undefined, '/metrics itself needs the key');
  const m0 = await authedMetrics(plain.port, 'env-key');
  const big = JSON.stringify({ inputs: Array.from({ length: 30 }, () => 'word [MASK] '.repeat(40)) });
  for (let i = 0; i < 20; i++) t.equal((await postJson(plain.port, '/', big)).status, 401);
  const m1 = await authedMetrics(plain.port, 'env-key');
  t.equal(m1.get('bert_serve_engine_requests_total'), m0.get('bert_serve_engine_requests_total'), 'no text reached the engine');
  t.equal(
    m1.get('bert_serve_http_requests_total', { route: '/', status: '401' }) -
      m0.get('bert_serve_http_requests_total', { route: '/', status: '401' }),
    20,
    'counted as 401',
  );
});

t.test('CORS off by default: no Access-Control header, OPTIONS is 405', async (t) => {
  const r = await request(plain.port, { path: '/health', headers: { origin: ORIGIN } });
  t.notOk(
    Object.keys(r.headers).some((h) => h.startsWith('access-control-')),
    'no CORS header',
  );
  const pre = await request(plain.port, {
    method: 'OPTIONS',
    path: '/health',
    headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
  });
  t.equal(pre.status, 405);
  t.notOk(Object.keys(pre.headers).some((h) => h.startsWith('access-control-')));
});

t.test('CORS allow-list: preflights and answers for listed origins only', async (t) => {
  const pre = await request(guarded.port, {
    method: 'OPTIONS',
    path: '/',
    headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  t.equal(pre.status, 204, 'a preflight needs no key');
  t.equal(pre.headers['access-control-allow-origin'], ORIGIN);
  t.equal(pre.headers['access-control-allow-methods'], 'POST');
  t.match(pre.headers['access-control-allow-headers'], /authorization/);
  t.match(pre.headers['access-control-allow-headers'], /content-type/);
  t.equal(pre.headers.vary, 'Origin');
  const denied = await request(guarded.port, {
    method: 'OPTIONS',
    path: '/',
    headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
  });
  t.equal(denied.status, 204);
  t.equal(denied.headers['access-control-allow-origin'], undefined, 'an unlisted origin gets no allowance');

  const r = await postJson(guarded.port, '/', { inputs: 'a [MASK]' }, { ...FILE_KEY, origin: ORIGIN });
  t.equal(r.status, 200);
  t.equal(r.headers['access-control-allow-origin'], ORIGIN);
  t.match(r.headers['access-control-expose-headers'], /x-request-id/);
  const refused = await postJson(guarded.port, '/', { inputs: 'a [MASK]' }, { origin: 'https://other.example' });
  t.equal(refused.status, 401);
  t.equal(refused.headers['access-control-allow-origin'], 'https://other.example', 'a page can read its 401');
  const other = await request(guarded.port, { path: '/health', headers: { origin: 'http://evil.example' } });
  t.equal(other.headers['access-control-allow-origin'], undefined);
  t.equal(other.headers.vary, 'Origin');
});

t.test('x-request-id: kept when safe, replaced otherwise, generated when absent; in the log lines', async (t) => {
  const kept = await request(plain.port, { path: '/health', headers: { 'x-request-id': 'trace-01:ab/cd=+_.~@' } });
  t.equal(kept.headers['x-request-id'], 'trace-01:ab/cd=+_.~@');
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  for (const bad of ['x'.repeat(129), 'has space', 'quote"d', '{"json":1}']) {
    const r = await request(plain.port, { path: '/health', headers: { 'x-request-id': bad } });
    t.match(r.headers['x-request-id'], uuid, `replaced: ${bad.slice(0, 20)}`);
  }
  t.equal(
    (await request(plain.port, { path: '/health', headers: { 'x-request-id': 'y'.repeat(128) } })).headers['x-request-id'],
    'y'.repeat(128),
    '128 characters are kept',
  );
  const a = (await request(plain.port, { path: '/health' })).headers['x-request-id'];
  const b = (await request(plain.port, { path: '/nope' })).headers['x-request-id'];
  t.match(a, uuid);
  t.not(a, b, 'generated ids differ (404s carry one too)');

  const ok = await postJson(plain.port, '/', { inputs: 'a [MASK]' }, { ...auth('env-key'), 'x-request-id': 'req-ok-1' });
  t.equal(ok.status, 200);
  const line = await plain.waitLog((l) => l.msg === 'request' && l.request_id === 'req-ok-1');
  t.match(line, { level: 'info', method: 'POST', path: '/', status: 200 });
  t.type(line.ms, 'number');
});

t.test('--access-log-sample 0: successes are not logged, errors are', async (t) => {
  t.equal((await postJson(guarded.port, '/', { inputs: 'a [MASK]' }, { ...FILE_KEY, 'x-request-id': 'sampled-out' })).status, 200);
  t.equal((await postJson(guarded.port, '/', { inputs: 42 }, { ...FILE_KEY, 'x-request-id': 'bad-input' })).status, 422);
  t.equal((await request(guarded.port, { path: '/info', headers: { 'x-request-id': 'no-key' } })).status, 401);
  // Lines are written when each answer is, in order: once the later ones are in, the first would be too.
  t.match(await guarded.waitLog((l) => l.request_id === 'bad-input'), { msg: 'request', status: 422 });
  t.match(await guarded.waitLog((l) => l.request_id === 'no-key'), { msg: 'request', status: 401 });
  t.notOk(
    guarded.logs.some((l) => l.request_id === 'sampled-out'),
    'the success was sampled out',
  );
});

t.test('metrics: batch histograms count model batches only; Node metrics under process_* / nodejs_*', async (t) => {
  const key = 'env-key';
  const texts = ['a [MASK]', 'the quick brown [MASK] jumps'];
  const lengths = (await postJson(plain.port, '/tokenize', { inputs: texts }, auth(key))).json.map((x) => x.length);
  const m0 = await authedMetrics(plain.port, key);
  t.equal((await postJson(plain.port, '/', { inputs: texts }, auth(key))).status, 200);
  t.equal((await postJson(plain.port, '/tokenize', { inputs: texts }, auth(key))).status, 200);
  const m1 = await authedMetrics(plain.port, key);
  const d = (name) => m1.get(name) - m0.get(name);
  t.equal(d('bert_serve_batch_size_sum'), 2, 'both texts ran in batches; tokenizing ran none');
  t.ok(d('bert_serve_batch_size_count') >= 1 && d('bert_serve_batch_size_count') <= 2);
  t.equal(d('bert_serve_batch_tokens_count'), d('bert_serve_batch_size_count'));
  const padded = d('bert_serve_batch_tokens_sum');
  t.ok(padded >= lengths[0] + lengths[1] && padded <= 2 * Math.max(...lengths), `padded tokens ${padded} for lengths ${lengths}`);
  t.ok(
    m1.samples.some((s) => s.name === 'process_cpu_user_seconds_total'),
    'process_cpu_user_seconds_total',
  );
  t.ok(
    m1.samples.some((s) => s.name === 'nodejs_heap_size_total_bytes'),
    'nodejs_heap_size_total_bytes',
  );
  t.notOk(
    m1.samples.some((s) => s.name.startsWith('bert_serve_process_') || s.name.startsWith('bert_serve_nodejs_')),
    'no prefixed copies',
  );
});

t.test('usage errors and startup failures of the options', async (t) => {
  for (const [args, re] of [
    [['--api-key', 'a', '--api-key-file', keyFile], /--api-key .* and --api-key-file .* are both set/],
    [['--cors-allow-origin', 'app.example'], /--cors-allow-origin: expected "\*" or a comma-separated list of origins/],
    [['--access-log-sample', '1.5'], /--access-log-sample: expected a value between 0 and 1/],
  ]) {
    const r = await runCli(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, re);
  }
  const shown = JSON.parse((await runCli(['--print-config'], { env: { BERT_SERVE_API_KEY: 'top-secret' } })).stdout);
  t.equal(shown.apiKey, '<redacted>', '--print-config never shows the key');
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n');
  for (const [file, re] of [
    [join(dir, 'missing'), /--api-key-file .*missing: ENOENT/],
    [empty, /--api-key-file .*empty is empty/],
  ]) {
    const r = await runCli(['--model', testModel('tiny'), '--port', '0', '--log-format', 'json', '--api-key-file', file]);
    t.equal(r.code, 1);
    t.match(r.stderr, re);
  }
});

const authedMetrics = (port, key) => metrics(port, auth(key));
