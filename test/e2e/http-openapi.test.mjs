// GET /openapi.json and GET /docs against the real CLI, one server per task. The document lists the
// served task's routes; its request schemas are the ones the server validates with: every body of
// a corpus, valid and invalid, is checked against the document's schema (ajv, as a client would)
// and sent to the server, and the two must agree (200 vs 422/413). Real answers are checked
// against the document's response schemas. /docs and its assets come from swagger-ui-dist.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { postJson, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
const NAMES = ['tiny', 'embed', 'rerank', 'ner', 'classify'];
requireBuilt(...NAMES.map(testModel));
const servers = {};
for (const name of NAMES) servers[name] = await spawnServer(['--model', testModel(name), '--max-client-batch-size', '3'], { t });
const docs = {};
for (const name of NAMES) docs[name] = (await request(servers[name].port, { path: '/openapi.json' })).json;

const STATUS_ROUTES = ['GET /docs', 'GET /health', 'GET /info', 'GET /metrics', 'GET /openapi.json', 'GET /ready', 'GET /v1/models'];
/** The Open Inference Protocol's routes, for the model served as `m`. */
const oip = (m) => [
  'GET /v2',
  'GET /v2/health/live',
  'GET /v2/health/ready',
  `GET /v2/models/${m}`,
  `GET /v2/models/${m}/ready`,
  `POST /v2/models/${m}/infer`,
  'POST /v2/repository/index', // load and unload are listed with --model-control explicit only
];
const routes = (doc) =>
  Object.entries(doc.paths)
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
    .sort();

t.test("OpenAPI 3.1 listing the served task's routes", async (t) => {
  for (const name of NAMES) t.equal(docs[name].openapi, '3.1.0', name);
  t.same(routes(docs.tiny), ['POST /', 'POST /tokenize', ...STATUS_ROUTES, ...oip('tiny')].sort());
  t.same(
    routes(docs.embed),
    ['POST /', 'POST /embed', 'POST /embed_all', 'POST /tokenize', 'POST /v1/embeddings', ...STATUS_ROUTES, ...oip('embed')].sort(),
  );
  t.same(routes(docs.rerank), ['POST /', 'POST /predict', 'POST /rerank', 'POST /tokenize', ...STATUS_ROUTES, ...oip('rerank')].sort());
  t.same(
    routes(docs.classify),
    ['POST /', 'POST /predict', 'POST /tokenize', ...STATUS_ROUTES, ...oip('classify')].sort(),
    'no /rerank for a 3-label classifier',
  );
  t.same(routes(docs.ner), ['POST /', 'POST /tokenize', ...STATUS_ROUTES, ...oip('ner')].sort());
  t.match(docs.embed.info.description, /feature-extraction model .* routes of other tasks \(\/predict, \/rerank\) answer 422/);
  t.equal(docs.tiny.security, undefined, 'no key: no security requirement');
  t.ok(docs.tiny.paths['/'].post.requestBody.content['text/plain'], 'POST / takes raw text');
});

// [server, path, body]: valid and invalid bodies for each route.
const CORPUS = [
  ['tiny', '/', { inputs: 'a [MASK]' }],
  ['tiny', '/', { inputs: ['a [MASK]', 'b [MASK]'], parameters: { top_k: 2, targets: ['the'] } }],
  ['tiny', '/', { inputs: 'a [MASK]', parameters: null }],
  ['tiny', '/', { inputs: 'a [MASK]', parameters: { top_k: 0 } }],
  ['tiny', '/', { inputs: 7 }],
  ['tiny', '/', {}],
  ['tiny', '/', { inputs: ['a [MASK]', 'b [MASK]', 'c [MASK]', 'd [MASK]'] }],
  ['tiny', '/', { inputs: 'a [MASK]', parameters: { targets: '' } }],
  ['tiny', '/', { inputs: 'a [MASK]', unknown: 1 }],
  ['tiny', '/tokenize', { inputs: ['x', 'y'], add_special_tokens: false }],
  ['tiny', '/tokenize', { inputs: 'x', add_special_tokens: null }],
  ['tiny', '/tokenize', { inputs: 'x', add_special_tokens: 1 }],
  ['tiny', '/tokenize', { inputs: [] }],
  ['embed', '/', { inputs: 'hello' }],
  ['embed', '/', { inputs: ['hello', 'world'], parameters: { normalize: true, truncate: true, truncation_direction: 'left' } }],
  ['embed', '/', { inputs: { source_sentence: 'a', sentences: ['a', 'b'] } }],
  ['embed', '/', { inputs: { source_sentence: 'a', sentences: ['a', 'b', 'c'] } }],
  ['embed', '/', { inputs: { source_sentence: 'a' } }],
  ['embed', '/', { inputs: 'a', parameters: { truncation_direction: 'up' } }],
  ['embed', '/embed', { inputs: 'a', normalize: false, dimensions: 4 }],
  ['embed', '/embed', { inputs: 'a', dimensions: 1.5 }],
  ['embed', '/embed', { inputs: 'a', encoding_format: 'float' }],
  ['embed', '/embed_all', { inputs: ['a'], truncate: null }],
  ['embed', '/embed_all', { inputs: [null] }],
  ['embed', '/v1/embeddings', { input: 'a' }],
  ['embed', '/v1/embeddings', { input: [[2023, 2003], [2023]], encoding_format: 'base64', model: 'm' }],
  ['embed', '/v1/embeddings', { input: [2023, 2003] }],
  ['embed', '/v1/embeddings', { input: [[2023], 'a'] }],
  ['embed', '/v1/embeddings', { input: 'a', model: 3 }],
  ['rerank', '/rerank', { query: 'q', texts: ['a', 'b'], return_text: true }],
  ['rerank', '/rerank', { query: 'q', texts: 'a', raw_scores: true }],
  ['rerank', '/rerank', { texts: ['a'] }],
  ['rerank', '/rerank', { query: 'q', texts: ['a', 'b', 'c', 'd'] }],
  ['rerank', '/predict', { inputs: ['a', 'b'] }],
  ['rerank', '/predict', { inputs: [['a', 'b'], 'c'], raw_scores: false }],
  ['rerank', '/predict', { inputs: [['a', 'b', 'c']] }],
  ['rerank', '/', { inputs: ['a', { text: 'b', text_pair: 'c' }], parameters: { top_k: null, function_to_apply: 'none' } }],
  ['rerank', '/', { inputs: { text_pair: 'c' } }],
  ['ner', '/', { inputs: 'angela merkel', parameters: { aggregation_strategy: 'first', ignore_labels: [] } }],
  [
    'tiny',
    '/v2/models/tiny/infer',
    { id: '1', inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: ['a [MASK]', 'b [MASK]'] }], parameters: { top_k: 2 } },
  ],
  ['tiny', '/v2/models/tiny/infer', { inputs: [{ name: 'text', shape: [1], datatype: 'FP32', data: ['a [MASK]'] }] }],
  ['tiny', '/v2/models/tiny/infer', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: [1] }] }],
  ['tiny', '/v2/models/tiny/infer', { inputs: [{ name: 'text', shape: [4], datatype: 'BYTES', data: ['a', 'b', 'c', 'd'] }] }],
  [
    'embed',
    '/v2/models/embed/infer',
    { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a'] }], parameters: { normalize: false, dimensions: 4 } },
  ],
  [
    'embed',
    '/v2/models/embed/infer',
    { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a'] }], parameters: { dimensions: 1.5 } },
  ],
  ['embed', '/v2/models/embed/infer', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES' }] }],
  [
    'classify',
    '/v2/models/classify/infer',
    { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a'] }], outputs: [{ name: 'label' }] },
  ],
  ['classify', '/v2/models/classify/infer', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a'] }], outputs: [] }],
  [
    'ner',
    '/v2/models/ner/infer',
    { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['angela merkel'] }], parameters: { aggregation_strategy: 'first' } },
  ],
  ['ner', '/', { inputs: ['a b'], parameters: { aggregation_strategy: 'none' } }],
  ['ner', '/', { inputs: 'a', parameters: { aggregation_strategy: 'all' } }],
  ['ner', '/', { inputs: 'a', parameters: { ignore_labels: [1] } }],
];

function compile(schema) {
  const ajv = new Ajv2020({ strict: false });
  return ajv.compile(schema);
}

t.test("the document's request schemas are what the server enforces", async (t) => {
  let valid = 0,
    invalid = 0;
  for (const [name, path, body] of CORPUS) {
    const check = compile(docs[name].paths[path].post.requestBody.content['application/json'].schema);
    const r = await postJson(servers[name].port, path, body);
    const label = `${name} ${path} ${JSON.stringify(body)}`;
    if (check(body)) {
      valid++;
      t.equal(r.status, 200, `valid by the document, accepted: ${label} ${r.text.slice(0, 200)}`);
    } else {
      invalid++;
      t.ok(
        [413, path.startsWith('/v2/') ? 400 : 422].includes(r.status) && r.json?.error_type === 'validation',
        `invalid by the document, refused: ${label} -> ${r.status} ${r.text}`,
      );
    }
  }
  t.ok(valid >= 15 && invalid >= 15, `both kinds in the corpus (${valid} valid, ${invalid} invalid)`);
});

t.test("real answers match the document's response schemas", async (t) => {
  const cases = [
    ['tiny', '/', { inputs: 'a [MASK]' }],
    ['tiny', '/', { inputs: ['a [MASK] [MASK]', 'b [MASK]'] }],
    ['tiny', '/tokenize', { inputs: 'a b' }],
    ['embed', '/', { inputs: 'a' }],
    ['embed', '/', { inputs: { source_sentence: 'a', sentences: ['b'] } }],
    ...['tiny', 'embed', 'rerank', 'classify', 'ner'].map((m) => [
      m,
      `/v2/models/${m}/infer`,
      { inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: ['a [MASK]', 'b [MASK]'] }] },
    ]),
    ['embed', '/embed', { inputs: ['a'] }],
    ['embed', '/embed_all', { inputs: 'a' }],
    ['embed', '/v1/embeddings', { input: ['a'], encoding_format: 'base64' }],
    ['embed', '/v1/embeddings', { input: 'a' }],
    ['rerank', '/rerank', { query: 'q', texts: ['a', 'b'], return_text: true }],
    ['rerank', '/predict', { inputs: 'a' }],
    ['rerank', '/predict', { inputs: ['a', 'b', 'c'] }],
    ['classify', '/', { inputs: ['a', { text: 'b', text_pair: 'c' }] }],
    ['ner', '/', { inputs: 'angela merkel visited paris' }],
    ['ner', '/', { inputs: ['angela merkel'], parameters: { aggregation_strategy: 'none', ignore_labels: [] } }],
  ];
  for (const [name, path, body] of cases) {
    const r = await postJson(servers[name].port, path, body);
    t.equal(r.status, 200, `${name} ${path}`);
    const check = compile(docs[name].paths[path].post.responses[200].content['application/json'].schema);
    t.ok(check(r.json), `${name} ${path} ${JSON.stringify(body)}: ${JSON.stringify(check.errors)}`);
  }
  for (const [path, ok] of [
    ['/health', 200],
    ['/ready', 200],
    ['/info', 200],
    ['/v2', 200],
    ['/v2/health/live', 200],
    ['/v2/health/ready', 200],
    ['/v2/models/tiny', 200],
    ['/v2/models/tiny/ready', 200],
    ['/nope', 404],
  ]) {
    const r = await request(servers.tiny.port, { path });
    t.equal(r.status, ok);
    const schema =
      ok === 200 ? docs.tiny.paths[path].get.responses[200].content['application/json'].schema : docs.tiny.components.schemas.Error;
    t.ok(compile(schema)(r.json), path);
  }
});

t.test('/docs: Swagger UI from the installed package', async (t) => {
  const page = await request(servers.tiny.port, { path: '/docs' });
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.text, /src="docs\/swagger-ui-bundle\.js"/);
  t.notMatch(page.text, /https?:\/\//, 'no absolute URL: nothing from a CDN');
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  for (const [path, file, type] of [
    ['/docs/swagger-ui-bundle.js', 'swagger-ui-bundle.js', /javascript/],
    ['/docs/swagger-ui.css', 'swagger-ui.css', /text\/css/],
  ]) {
    const r = await request(servers.tiny.port, { path });
    t.equal(r.status, 200, path);
    t.match(r.headers['content-type'], type);
    t.ok(r.bytes.equals(readFileSync(join(dist, file))), `${path} is swagger-ui-dist's ${file}`);
  }
  t.match((await request(servers.tiny.port, { path: '/docs/init.js' })).text, /SwaggerUIBundle\(\{ url: 'openapi.json'/);
  t.equal((await request(servers.tiny.port, { path: '/docs/../package.json' })).status, 404, 'only the listed files');
});
