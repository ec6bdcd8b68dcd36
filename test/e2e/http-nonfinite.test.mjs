// A non-finite number is never an answer, on every route that answers numbers. The nonfinite-*
// fixtures (scripts/bert/task_fixture_dirs.py) are real models whose output is NaN in a row that
// holds the word "nan" and +Inf in a row that holds "infinity", and normal otherwise. Each route
// is asked with such inputs and with ordinary ones at the same time: the poisoned requests fail
// with 500 and error_type non_finite_output, a message that names the model and what was not
// finite; the others are answered with numbers (never a null); the failures are counted in
// /metrics and logged at most once per 10 s; the server keeps serving.
import t from 'tap';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { metrics, postJson, postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
const NAMES = ['nonfinite-mlm', 'nonfinite-embed', 'nonfinite-classify', 'nonfinite-rerank', 'nonfinite-ner'];
requireBuilt(...NAMES.map(testModel));

const servers = Object.fromEntries(
  await Promise.all(
    NAMES.map(async (name) => [name, await spawnServer(['--model', testModel(name), '--no-warmup', '--max-batch-delay-ms', '20'], { t })]),
  ),
);

// Every JSON number of an answer, and whether a null appears where a number would be.
function numbersOf(value, out = { numbers: 0, nulls: 0 }) {
  if (value === null) out.nulls++;
  else if (typeof value === 'number') out.numbers++;
  else if (Array.isArray(value)) value.forEach((v) => numbersOf(v, out));
  else if (typeof value === 'object') Object.values(value).forEach((v) => numbersOf(v, out));
  return out;
}

// One text as the Open Inference Protocol's BYTES input.
const oipText = (text) => ({ name: 'text', shape: [1], datatype: 'BYTES', data: [text] });

// Per route: the requests (made with a text), and where in the answer numbers must be.
const ROUTES = [
  ['nonfinite-mlm', 'POST / raw text', (p, x) => postText(p, `${x} the [MASK] sat`)],
  ['nonfinite-mlm', 'POST / json', (p, x) => postJson(p, '/', { inputs: `${x} the [MASK] sat`, parameters: { top_k: 3 } })],
  ['nonfinite-embed', 'POST /embed', (p, x) => postJson(p, '/embed', { inputs: `${x} a small house` })],
  ['nonfinite-embed', 'POST /embed_all', (p, x) => postJson(p, '/embed_all', { inputs: `${x} a small house` })],
  ['nonfinite-embed', 'POST /v1/embeddings', (p, x) => postJson(p, '/v1/embeddings', { input: `${x} a small house`, model: 'm' })],
  [
    'nonfinite-embed',
    'POST /v1/embeddings base64',
    (p, x) => postJson(p, '/v1/embeddings', { input: `${x} a small house`, encoding_format: 'base64' }),
  ],
  ['nonfinite-embed', 'POST / feature-extraction', (p, x) => postJson(p, '/', { inputs: `${x} a small house` })],
  ['nonfinite-classify', 'POST /predict', (p, x) => postJson(p, '/predict', { inputs: `${x} what a day`, raw_scores: false })],
  [
    'nonfinite-classify',
    'POST / text-classification',
    (p, x) => postJson(p, '/', { inputs: `${x} what a day`, parameters: { top_k: null } }),
  ],
  ['nonfinite-rerank', 'POST /rerank', (p, x) => postJson(p, '/rerank', { query: 'where to live', texts: [`${x} a small house`] })],
  ['nonfinite-rerank', 'POST /predict pair', (p, x) => postJson(p, '/predict', { inputs: [['where to live', `${x} a small house`]] })],
  // The Open Inference Protocol's infer route: tensors of numbers.
  [
    'nonfinite-embed',
    'POST /v2/models/{name}/infer',
    (p, x) => postJson(p, '/v2/models/nonfinite-embed/infer', { inputs: [oipText(`${x} a small house`)] }),
  ],
  [
    'nonfinite-classify',
    'POST /v2/models/{name}/infer',
    (p, x) => postJson(p, '/v2/models/nonfinite-classify/infer', { inputs: [oipText(`${x} what a day`)] }),
  ],
  [
    'nonfinite-ner',
    'POST / token-classification',
    (p, x) => postJson(p, '/', { inputs: `${x} john lives in paris`, parameters: { ignore_labels: [] } }),
  ],
];

for (const [name, route, send] of ROUTES) {
  t.test(`${route} (${name}): NaN and Inf fail their request alone`, async (t) => {
    const port = servers[name].port;
    // Sent together, so that poisoned and ordinary texts share batches.
    const [plain, nan, inf, plain2] = await Promise.all(['a', 'nan', 'infinity', 'the'].map((x) => send(port, x)));
    for (const [label, r] of [
      ['ordinary', plain],
      ['ordinary again', plain2],
    ]) {
      t.equal(r.status, 200, `${label}: ${r.text.slice(0, 200)}`);
      const n = numbersOf(r.json);
      t.equal(n.nulls, 0, `${label}: no null in the answer`);
      t.ok(n.numbers > 0 || route.includes('base64'), `${label}: numbers in the answer (${n.numbers})`);
    }
    for (const [label, r, found] of [
      ['nan', nan, /NaN/],
      ['infinity', inf, /NaN|\+Inf/],
    ]) {
      t.equal(r.status, 500, `${label}: ${r.text.slice(0, 300)}`);
      // The same shape on every route, the Open Inference Protocol's included ({"error"} plus error_type).
      t.same(Object.keys(r.json ?? {}).sort(), ['error', 'error_type'], `${label}: the error shape`);
      t.equal(r.json?.error_type, 'non_finite_output', `${label}: error_type names the cause`);
      t.match(r.json?.error, new RegExp(`^model ${name} produced a non-finite value`), `${label}: names the model`);
      t.match(r.json?.error, found, `${label}: says what was not finite`);
      t.match(r.json?.error, /in the (logits|classification logits|.*embedding)/, `${label}: and where`);
    }
  });
}

t.test('Inf is named as Inf where it reaches the answer', async (t) => {
  const r = await postJson(servers['nonfinite-classify'].port, '/predict', { inputs: 'infinity and beyond' });
  t.equal(r.status, 500);
  t.match(r.json.error, /\(\+Inf at 0\) in the classification logits/);
  const e = await postJson(servers['nonfinite-embed'].port, '/embed', { inputs: 'infinity and beyond' });
  t.match(e.json.error, /\(\+Inf at 0\) in the mean-pooled embedding/);
});

t.test('counted in /metrics, logged at most once per 10 s, still serving', async (t) => {
  const s = servers['nonfinite-ner'];
  const before = (await metrics(s.port)).get('bert_serve_non_finite_outputs_total');
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => postJson(s.port, '/', { inputs: `nan number ${i}` })));
  t.same(
    answers.map((a) => a.status),
    [500, 500, 500, 500, 500, 500],
  );
  const after = (await metrics(s.port)).get('bert_serve_non_finite_outputs_total');
  t.equal(after - before, 6, 'six more non-finite outputs counted');
  const lines = s.logs.filter((l) => l.source === 'engine' && /model nonfinite-ner produced a non-finite value/.test(l.error ?? ''));
  t.ok(lines.length >= 1, 'logged');
  t.ok(lines.length < after, `rate-limited: ${lines.length} log line(s) for ${after} failures`);
  t.notOk(
    s.logs.some((l) => l.msg === 'request failed' && l.code === 'ERR_NON_FINITE_OUTPUT'),
    'no unlimited per-request error line',
  );
  const ok = await postJson(s.port, '/', { inputs: 'john lives in paris' });
  t.equal(ok.status, 200, 'answers afterwards');
  t.equal((await request(s.port, { path: '/ready' })).status, 200, 'still ready');
});
