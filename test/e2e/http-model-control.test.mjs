// Loading, reloading and unloading models while the server runs (--model-control explicit), over
// real HTTP with the real CLI and real TorchScript models, through the Open Inference Protocol's
// repository routes: a new name loaded from a directory dropped into the repository; a reload with
// other weights (x-model-version and the answers change); a reload while requests are in flight on
// the old version (held busy by the hanging model's real forward: none fails, none is lost, each is
// answered by the version that admitted it); a failed load that leaves the old version serving; a
// path that escapes the repository (".." and a symbolic link); unload (then 404 listing the served);
// the default model (409); the API key; each model's memory in /info and /metrics; and --max-memory
// refusing a load before it starts (at start-up and at run time), naming the sizes. With model control off (503, the index still answers):
// test/e2e/http-many-models.test.mjs.
import t from 'tap';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { modelVersion } from '../../dist/model_version.js';
import { runCli, spawnServer, requireBuilt, testModel, until } from '../helpers/server.mjs';
import { checkError, metrics, postJson, request } from '../helpers/http.mjs';

t.setTimeout(180_000);
requireBuilt(testModel('embed'), testModel('distilbert-embed'), testModel('hanging'), testModel('tiny'));

const KEY = 'model-control-test-key';
const auth = { authorization: `Bearer ${KEY}` };
const repository = mkdtempSync(join(tmpdir(), 'bert-serve-control-'));
t.teardown(() => rmSync(repository, { recursive: true, force: true }));
cpSync(testModel('embed'), join(repository, 'emb'), { recursive: true });
// Hidden directories are not loaded at start-up, but a load may name them: versions kept aside.
mkdirSync(join(repository, '.versions'));
cpSync(testModel('distilbert-embed'), join(repository, '.versions', 'other-weights'), { recursive: true });
cpSync(testModel('hanging'), join(repository, '.versions', 'hanging'), { recursive: true });
cpSync(testModel('tiny'), join(repository, '.versions', 'tiny'), { recursive: true });
mkdirSync(join(repository, '.versions', 'broken'));
writeFileSync(join(repository, '.versions', 'broken', 'config.json'), '{"architectures": ["BertModel"]');
symlinkSync(resolve(testModel('embed')), join(repository, '.escape'));
// A model.pt of 100 GiB on paper (a sparse file: no disk used): estimated far over --max-memory.
cpSync(testModel('embed'), join(repository, '.versions', 'huge'), { recursive: true });
truncateSync(join(repository, '.versions', 'huge', 'model.pt'), 100 * 2 ** 30);
const MAX_MEMORY = 8 * 2 ** 30;

const server = await spawnServer(
  [
    ...['--model-repository', repository, '--model-control', 'explicit', '--api-key', KEY],
    ...['--workers', '1', '--max-batch-requests', '1', '--max-memory', String(MAX_MEMORY)],
  ],
  { t },
);
const port = server.port;
const versions = {
  emb: await modelVersion(join(repository, 'emb')),
  other: await modelVersion(join(repository, '.versions', 'other-weights')),
  hanging: await modelVersion(join(repository, '.versions', 'hanging')),
  tiny: await modelVersion(join(repository, '.versions', 'tiny')),
};

const control = (name, action, body) => postJson(port, `/v2/repository/models/${name}/${action}`, body === undefined ? '' : body, auth);
const index = async () => (await postJson(port, '/v2/repository/index', {}, auth)).json;
const embed = (name, inputs) => postJson(port, `/models/${name}/embed`, { inputs }, auth);
const served = async () => (await request(port, { path: '/v1/models', headers: auth })).json.data.map((m) => [m.id, m.model_version]);

t.test('the repository routes need the API key', async (t) => {
  checkError(t, await postJson(port, '/v2/repository/index', {}), 401, 'unauthorized');
  checkError(t, await postJson(port, '/v2/repository/models/emb/load', {}), 401, 'unauthorized');
  checkError(t, await postJson(port, '/v2/repository/models/emb/unload', {}), 401, 'unauthorized');
  t.same(await index(), [{ name: 'emb', version: versions.emb, state: 'READY', reason: '' }]);
  const v2 = (await request(port, { path: '/v2', headers: auth })).json;
  t.same(v2.extensions, ['model_repository'], 'GET /v2 names the extension');
});

t.test('a directory dropped into the repository loads under its name, then answers everywhere', async (t) => {
  cpSync(testModel('embed'), join(repository, 'late'), { recursive: true });
  const r = await control('late', 'load');
  t.equal(r.status, 200, r.text);
  t.same(r.json, { name: 'late', version: versions.emb, previous_version: null, state: 'READY' });
  const e = await embed('late', ['hello world']);
  t.equal(e.status, 200, e.text);
  t.equal(e.headers['x-model-version'], versions.emb);
  t.same(await served(), [
    ['emb', versions.emb],
    ['late', versions.emb],
  ]);
  const info = (await request(port, { path: '/info', headers: auth })).json;
  t.same(
    info.models.map((m) => m.name),
    ['emb', 'late'],
    '/info lists it',
  );
  t.equal((await request(port, { path: '/v2/models/late', headers: auth })).json.versions[0], versions.emb);
  const doc = (await request(port, { path: '/openapi.json' })).json;
  t.ok(doc.paths['/models/late/embed'], '/openapi.json lists its routes');
  t.ok(doc.paths['/v2/repository/models/{name}/load']?.post, '/openapi.json lists the load route');
});

t.test('a reload with other weights: a new x-model-version and other answers', async (t) => {
  const before = await embed('late', ['hello world']);
  const r = await control('late', 'load', { parameters: { path: '.versions/other-weights' } });
  t.equal(r.status, 200, r.text);
  t.same(r.json, { name: 'late', version: versions.other, previous_version: versions.emb, state: 'READY' });
  t.not(versions.other, versions.emb);
  const after = await embed('late', ['hello world']);
  t.equal(after.status, 200, after.text);
  t.equal(after.headers['x-model-version'], versions.other);
  t.notSame(after.json, before.json, 'the answers come from the new weights');
  t.same(
    (await index()).find((m) => m.name === 'late'),
    { name: 'late', version: versions.other, state: 'READY', reason: '' },
  );
});

t.test('a failed load keeps the old version serving and says why', async (t) => {
  const r = await control('late', 'load', { parameters: { path: '.versions/broken' } });
  checkError(t, r, 400, 'load_failed', /^failed to load "late" \(the version served before, [0-9a-f]{16}, still serves\): .*config\.json/);
  t.notMatch(r.json.error, /\bat \w+ \(|\.cc:|c10::/, 'no stack or native internals');
  const e = await embed('late', ['hello world']);
  t.equal(e.status, 200, e.text);
  t.equal(e.headers['x-model-version'], versions.other, 'the old version still answers');
  const fresh = await control('nothing-here', 'load', { parameters: { path: '.versions/broken' } });
  checkError(t, fresh, 400, 'load_failed');
  t.match(
    (await index()).find((m) => m.name === 'nothing-here'),
    { state: 'UNAVAILABLE', version: '' },
    'the index says why',
  );
  checkError(t, await control('nope', 'load'), 404, 'model_not_found', /no directory "nope"/);
});

t.test('a path outside the repository is refused before anything loads', async (t) => {
  for (const path of ['../', '..', '.escape', '/etc', `${repository}/../`, '.versions/../../']) {
    checkError(
      t,
      await control('late', 'load', { parameters: { path } }),
      400,
      'validation',
      /resolves outside the model repository|no such directory/,
    );
  }
  checkError(t, await control('late', 'load', { parameters: { path: 7 } }), 400, 'validation', /non-empty string/);
  checkError(t, await control('late', 'load', { parameters: { config: '{}' } }), 400, 'validation', /parameters\.config is not supported/);
  checkError(t, await control('late', 'load', '{"parameters":'), 400, 'malformed');
  checkError(t, await control('bad%2Fname', 'load'), 400, 'validation', /must be up to 64 letters/);
  t.equal((await embed('late', ['x'])).headers['x-model-version'], versions.other, 'still serving');
});

t.test('a reload while requests are in flight: each is answered by the version that admitted it', async (t) => {
  t.equal((await control('busy', 'load', { parameters: { path: '.versions/hanging' } })).status, 200);
  const ask = (text) => {
    const p = request(port, { method: 'POST', path: '/models/busy', body: text, headers: { ...auth, 'content-type': 'text/plain' } });
    const entry = { done: false, response: undefined };
    entry.promise = p.then((r) => {
      entry.done = true;
      entry.response = r;
      entry.at = Date.now();
      return r;
    });
    return entry;
  };
  // The hanging model's real forward holds the one worker for seconds on "freeze"; the others queue behind it.
  const hung = ask('freeze the [MASK]');
  const queued = Array.from({ length: 6 }, (_, i) => ask(`paris is the [MASK] of france ${i}`));
  const reload = control('busy', 'load', { parameters: { path: '.versions/tiny' } }).then((r) => ({ r, at: Date.now() }));
  await until(async () => (await served()).some(([n, v]) => n === 'busy' && v === versions.tiny), { what: 'the switch' });
  t.notOk(hung.done, 'the old version was still busy with a request at the switch');
  const later = Array.from({ length: 3 }, (_, i) => ask(`paris is the [MASK] of france ${i}`));
  const { r, at } = await reload;
  t.equal(r.status, 200, r.text);
  t.same(r.json, { name: 'busy', version: versions.tiny, previous_version: versions.hanging, state: 'READY' });
  for (const [what, group, version] of [
    ['in flight', [hung, ...queued], versions.hanging],
    ['after the switch', later, versions.tiny],
  ]) {
    const answers = await Promise.all(group.map((e) => e.promise));
    t.same(
      answers.map((a) => a.status),
      group.map(() => 200),
      `${what}: every request answered 200`,
    );
    t.same(
      answers.map((a) => a.headers['x-model-version']),
      group.map(() => version),
      `${what}: by the version that admitted it`,
    );
  }
  t.ok(at >= hung.at, 'the reload answered once the old version had answered its requests (then it was closed)');
});

t.test('unload: 404 listing the served from then on; the default model stays', async (t) => {
  const r = await control('late', 'unload');
  t.equal(r.status, 200, r.text);
  t.same(r.json, { name: 'late', state: 'UNAVAILABLE' });
  checkError(t, await embed('late', ['x']), 404, 'model_not_found', /"late" is not served here; served: emb, busy/);
  t.same(
    (await served()).map(([n]) => n),
    ['emb', 'busy'],
  );
  t.match(
    (await index()).find((m) => m.name === 'late'),
    { state: 'UNAVAILABLE', reason: 'unloaded' },
  );
  checkError(t, await control('late', 'unload'), 404, 'model_not_found');
  checkError(t, await control('emb', 'unload'), 409, 'conflict', /default model/);
  t.equal((await embed('emb', ['x'])).status, 200, 'the default model serves on');
  t.equal((await control('late', 'load')).status, 200, 'an unloaded model loads again from the repository');
});

t.test("each model's memory: /info and /metrics, gone from /metrics once unloaded", async (t) => {
  t.equal((await control('mem', 'load', { parameters: { path: '.versions/tiny' } })).status, 200);
  const info = (await request(port, { path: '/models/mem/info', headers: auth })).json;
  t.ok(info.memory_bytes > 0 && info.memory_bytes < 2 ** 30, `/info memory_bytes: ${info.memory_bytes}`);
  t.same(
    info.models.find((m) => m.name === 'mem'),
    { name: 'mem', task: 'fill-mask', model_version: versions.tiny, default: false, memory_bytes: info.memory_bytes },
  );
  let m = await metrics(port, auth);
  t.equal(m.get('bert_serve_model_memory_bytes', { model: 'mem' }), info.memory_bytes, '/metrics: the same figure, labelled by model');
  t.ok(m.get('bert_serve_model_memory_bytes', { model: 'emb' }) > 0, 'every served model has its series');
  t.equal((await control('mem', 'unload')).status, 200);
  m = await metrics(port, auth);
  t.notOk(
    m.samples.some((s) => s.name === 'bert_serve_model_memory_bytes' && s.labels.model === 'mem'),
    'no series for an unloaded model',
  );
});

t.test('--max-memory: a load estimated over it is refused before it starts, naming the sizes', async (t) => {
  const r = await control('huge', 'load', { parameters: { path: '.versions/huge' } });
  checkError(
    t,
    r,
    507,
    'insufficient_memory',
    /^loading "huge" \(estimated [\d.]+ MiB from its model\.pt\) would take the models' memory to [\d.]+ MiB, over --max-memory 8192\.0 MiB \(8589934592 bytes\); held now: [\d.]+ MiB \(emb [\d.]+ MiB, /,
  );
  t.notOk(
    (await index()).some((m) => m.name === 'huge'),
    'nothing was loaded, nothing is loading',
  );
  const start = await runCli(['--port', '0', '--host', '127.0.0.1', '--model', testModel('embed'), '--max-memory', '1048576']);
  t.equal(start.code, 1, 'at start-up: exit 1');
  t.match(
    start.stderr + start.stdout,
    /loading \\?"embed\\?" \(estimated [\d.]+ MiB from its model\.pt\) would take the models' memory to [\d.]+ MiB, over --max-memory 1\.0 MiB \(1048576 bytes\); held now: nothing/,
  );
});
