// Several models in one process over real HTTP (the real CLI, real TorchScript models): an
// embedding model (--model DIR), a reranker (--model rr=DIR, the default model) and a NER model
// (--model-repository), each answering under /models/{name}/... and the default on the unprefixed
// routes; OpenAI's /v1/embeddings picking by `model`, /v1/models, /info, /openapi.json; the
// x-model-version header against the content hash of the model's files, on every documented route's
// example; unknown names (404 listing the served ones); routes a model's task lacks (422 naming the
// model); clients we did not write (@huggingface/inference, OpenAI's Node client); the repository
// routes without model control; and the refusal to start when one model of several is bad, naming it.
import t from 'tap';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InferenceClient } from '@huggingface/inference';
import OpenAI from 'openai';
import { Engine } from '../../dist/index.js';
import { modelVersion } from '../../dist/model_version.js';
import { runCli, spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { checkError, postJson, request } from '../helpers/http.mjs';

t.setTimeout(240_000);
requireBuilt(testModel('embed'), testModel('rerank'), testModel('ner'), testModel('bad-config'));

const repository = mkdtempSync(join(tmpdir(), 'bert-serve-repo-'));
symlinkSync(resolve(testModel('ner')), join(repository, 'ner'));
t.teardown(() => rmSync(repository, { recursive: true, force: true }));
const server = await spawnServer(
  ['--model', testModel('embed'), '--model', `rr=${testModel('rerank')}`, '--model-repository', repository, '--default-model', 'rr'],
  { t },
);
const port = server.port;
const versions = {
  embed: await modelVersion(testModel('embed')),
  rr: await modelVersion(testModel('rerank')),
  ner: await modelVersion(testModel('ner')),
};

t.test('GET /v1/models and /info list every served model with its version', async (t) => {
  const list = (await request(port, { path: '/v1/models' })).json;
  t.equal(list.object, 'list');
  t.same(
    list.data.map((m) => [m.id, m.object, m.task, m.model_version, m.default]),
    [
      ['embed', 'model', 'feature-extraction', versions.embed, false],
      ['rr', 'model', 'text-classification', versions.rr, true],
      ['ner', 'model', 'token-classification', versions.ner, false],
    ],
  );
  t.match(versions.embed, /^[0-9a-f]{16}$/);
  const info = (await request(port, { path: '/info' })).json;
  t.match(info, { model_name: 'rr', model_version: versions.rr, task: 'text-classification' }, 'unprefixed /info: the default model');
  t.ok(info.thread_budget >= 1, `the models share one thread budget (${info.thread_budget} threads)`);
  t.same(
    info.models.map((m) => m.name),
    ['embed', 'rr', 'ner'],
  );
  const ner = (await request(port, { path: '/models/ner/info' })).json;
  t.match(ner, { model_name: 'ner', model_version: versions.ner, task: 'token-classification' });
});

t.test('each model answers under /models/{name}, with its x-model-version', async (t) => {
  const engine = await Engine.load({ model: testModel('embed') });
  t.teardown(() => engine.close());
  const r = await postJson(port, '/models/embed/embed', { inputs: ['hello world', 'bananas'] });
  t.equal(r.status, 200, r.text);
  t.equal(r.headers['x-model-version'], versions.embed);
  const alone = await engine.embed(['hello world', 'bananas']);
  t.ok(
    r.json.every((v, i) => v.every((x, j) => Math.abs(x - alone[i][j]) < 1e-6)),
    'the same vectors as the model loaded alone',
  );
  const ner = await request(port, {
    method: 'POST',
    path: '/models/ner',
    body: 'My name is Wolfgang and I live in Berlin',
    headers: { 'content-type': 'text/plain' },
  });
  t.equal(ner.status, 200, ner.text);
  t.ok(Array.isArray(ner.json), 'POST /models/ner: the token-classification answer');
  t.equal(ner.headers['x-model-version'], versions.ner);
  const rr = await postJson(port, '/rerank', { query: 'what is paris', texts: ['paris is a city', 'bananas'] });
  t.equal(rr.status, 200, rr.text);
  t.equal(rr.headers['x-model-version'], versions.rr, 'unprefixed: the default model');
  const same = await postJson(port, '/models/rr/rerank', { query: 'what is paris', texts: ['paris is a city', 'bananas'] });
  t.same(same.json, rr.json, '/models/rr/rerank is the default model');
});

t.test('a route the model lacks is a 422 naming the model; an unknown model a 404 listing the served', async (t) => {
  checkError(t, await postJson(port, '/embed', { inputs: 'x' }), 422, 'validation', /the model "rr" serves text-classification/);
  checkError(
    t,
    await postJson(port, '/models/ner/embed', { inputs: 'x' }),
    422,
    'validation',
    /the model "ner" serves token-classification/,
  );
  checkError(
    t,
    await postJson(port, '/models/nope/embed', { inputs: 'x' }),
    404,
    'model_not_found',
    /"nope" is not served here; served: embed, rr, ner/,
  );
  checkError(t, await postJson(port, '/models/nope', { inputs: 'x' }), 404, 'model_not_found', /served: embed, rr, ner/);
  checkError(t, await request(port, { path: '/models/embed/health' }), 404, 'not_found', /no route/);
  t.equal((await request(port, { path: '/health' })).status, 200, 'the server still serves');
});

t.test('OpenAI /v1/embeddings picks the model by its `model` field', async (t) => {
  const r = await postJson(port, '/v1/embeddings', { input: 'hello world', model: 'embed' });
  t.equal(r.status, 200, r.text);
  t.equal(r.json.model, 'embed');
  t.equal(r.headers['x-model-version'], versions.embed);
  checkError(
    t,
    await postJson(port, '/v1/embeddings', { input: 'x', model: 'text-embedding-3-small' }),
    404,
    'model_not_found',
    /served: embed, rr, ner/,
  );
  checkError(
    t,
    await postJson(port, '/v1/embeddings', { input: 'x', model: 'ner' }),
    422,
    'validation',
    /"ner" serves token-classification/,
  );
  checkError(t, await postJson(port, '/v1/embeddings', { input: 'x' }), 422, 'validation', /"rr"/);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
  const viaClient = await client.embeddings.create({ model: 'embed', input: ['hello world'] });
  t.equal(viaClient.data[0].embedding.length, 32, "OpenAI's Node client");
  const models = await client.models.list();
  t.same(
    models.data.map((m) => m.id),
    ['embed', 'rr', 'ner'],
    "OpenAI's client lists the models",
  );
});

t.test('@huggingface/inference pointed at /models/{name}', async (t) => {
  const hf = new InferenceClient();
  const fe = await hf.featureExtraction({ endpointUrl: `${server.url}/models/embed`, inputs: 'hello world' });
  t.equal(fe.length, 32, 'featureExtraction');
  const tc = await hf.tokenClassification({ endpointUrl: `${server.url}/models/ner`, inputs: 'Wolfgang lives in Berlin' });
  t.ok(Array.isArray(tc), 'tokenClassification');
});

t.test('/openapi.json documents every model under /models/{name}', async (t) => {
  const doc = (await request(port, { path: '/openapi.json' })).json;
  const paths = Object.keys(doc.paths);
  for (const p of [
    '/rerank',
    '/models/embed/embed',
    '/models/embed/v1/embeddings',
    '/models/ner',
    '/models/rr/rerank',
    '/models/rr/info',
    '/v1/models',
  ]) {
    t.ok(paths.includes(p), `documents ${p}`);
  }
  t.notOk(paths.includes('/models/ner/embed'), 'not a route the model lacks');
  t.notOk(paths.includes('/embed'), 'not an unprefixed route the default model lacks');
  t.match(doc.info.description, /serves 3 models: embed \(feature-extraction/);
});

t.test("every documented model route answers its own example with the answering model's x-model-version", async (t) => {
  const doc = (await request(port, { path: '/openapi.json' })).json;
  const posts = Object.entries(doc.paths)
    .filter(([path, ops]) => ops.post && !path.startsWith('/v2/repository/'))
    .map(([path, ops]) => [path, ops.post.requestBody.content['application/json'].example]);
  t.ok(posts.length >= 15, `${posts.length} POST routes`);
  for (const [path, example] of posts) {
    // /models/{name}/..., /v2/models/{name}/infer, /v1/embeddings by its body's model; else the default.
    const named = /^\/(?:v2\/)?models\/([^/]+)/.exec(path)?.[1] ?? (path.endsWith('/v1/embeddings') ? example.model : 'rr');
    const r = await postJson(port, path, example);
    t.equal(r.status, 200, `${path}: ${r.text.slice(0, 200)}`);
    t.equal(r.headers['x-model-version'], versions[named], `${path}: answered by ${named}`);
  }
});

t.test('an error answered after admission names the model too (x-model-version)', async (t) => {
  // A body the route's schema refuses (read after admission) and a text over the model's length
  // (the engine's 413): both after the request was admitted on a model. An unknown model: none.
  const noText = await postJson(port, '/models/embed/embed', { inputs: [] });
  t.equal(noText.status, 422, noText.text);
  t.equal(noText.headers['x-model-version'], versions.embed, 'validation after admission');
  const tooLong = await postJson(port, '/models/embed/embed', { inputs: 'word '.repeat(5000), truncate: false });
  t.equal(tooLong.status, 413, tooLong.text);
  t.equal(tooLong.headers['x-model-version'], versions.embed, 'input over the model length');
  const unknown = await postJson(port, '/models/nope/embed', { inputs: 'x' });
  t.equal(unknown.status, 404);
  t.notOk(unknown.headers['x-model-version'], 'no model: no version');
});

/** The messages a CLI run logged (JSON lines), one per line. */
const said = (r) =>
  (r.stdout + r.stderr)
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l).msg;
      } catch {
        return l;
      }
    })
    .join('\n');

t.test('without --model-control explicit: load and unload answer 503 (as Triton); the repository index answers', async (t) => {
  for (const action of ['load', 'unload']) {
    checkError(
      t,
      await postJson(port, `/v2/repository/models/embed/${action}`, {}),
      503,
      'unavailable',
      /explicit model load \/ unload is not allowed: start the server with --model-control explicit/,
    );
  }
  const index = await postJson(port, '/v2/repository/index', '');
  t.equal(index.status, 200, index.text);
  t.same(
    index.json.map((m) => [m.name, m.version, m.state]),
    [
      ['embed', versions.embed, 'READY'],
      ['rr', versions.rr, 'READY'],
      ['ner', versions.ner, 'READY'],
    ],
  );
  t.same((await request(port, { path: '/v2' })).json.extensions, [], 'GET /v2 lists no model_repository extension');
  t.equal((await postJson(port, '/models/embed/embed', { inputs: 'x' })).status, 200, 'every model still serves');
});

t.test('one bad model among several: no start, naming it', async (t) => {
  const r = await runCli([
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--model',
    testModel('embed'),
    '--model',
    `bad=${testModel('bad-config')}`,
  ]);
  t.equal(r.code, 1, 'exit 1');
  t.match(said(r), /model "bad" \([^)]*bad-config\)/, 'names the model that failed');
  const dup = await runCli(['--port', '0', '--model', testModel('embed'), '--model', `embed=${testModel('ner')}`]);
  t.equal(dup.code, 1);
  t.match(said(dup), /two models are named "embed"/);
  const wrongDefault = await runCli(['--port', '0', '--model', testModel('embed'), '--default-model', 'x']);
  t.equal(wrongDefault.code, 1);
  t.match(said(wrongDefault), /--default-model "x" is not a served model; served: embed/);
});
