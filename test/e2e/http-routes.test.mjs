// Every route and every request-level status of the HTTP contract, against the real CLI serving
// the tiny test model over real HTTP (docs/http.md).
import t from 'tap';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { RawClient, chunk, curlPost, head, lastChunk, metrics, postJson, postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('tiny'));

const MAX_BODY = 4096;
const MAX_TOKENS = 32;
const server = await spawnServer(
  ['--model', testModel('tiny'), '--max-body-bytes', String(MAX_BODY), '--max-tokens', String(MAX_TOKENS), '--max-client-batch-size', '4'],
  { t },
);
const port = server.port;

function checkPredictions(t, list, n = 5) {
  t.ok(Array.isArray(list), 'a list');
  t.equal(list.length, n, `${n} predictions`);
  for (const p of list) {
    t.same(Object.keys(p).sort(), ['score', 'sequence', 'token', 'token_str'], 'HF fill-mask keys');
    t.type(p.score, 'number');
    t.ok(Number.isInteger(p.token), 'token id is an integer');
    t.type(p.token_str, 'string');
    t.type(p.sequence, 'string');
  }
  for (let i = 1; i < list.length; i++) t.ok(list[i - 1].score >= list[i].score, 'scores descending');
}

/** Same predictions; scores equal within 1e-4 (the batch-invariance tolerance, docs/performance.md). */
function sameAnswer(t, got, want, msg) {
  t.same(
    got.map((p) => [p.token, p.token_str, p.sequence]),
    want.map((p) => [p.token, p.token_str, p.sequence]),
    `${msg}: same tokens`,
  );
  t.ok(
    got.every((p, i) => Math.abs(p.score - want[i].score) <= 1e-4),
    `${msg}: scores within 1e-4`,
  );
}

function checkError(t, r, status, type) {
  t.equal(r.status, status, `status ${status}: ${r.text}`);
  t.match(r.headers['content-type'], /^application\/json/);
  t.same(Object.keys(r.json ?? {}).sort(), ['error', 'error_type'], 'error shape');
  t.type(r.json?.error, 'string');
  if (type) t.equal(r.json?.error_type, type);
}

t.test('the recipe: curl -X POST -d "test [MASK]" answers 5 fill-mask predictions', async (t) => {
  const r = await curlPost(`${server.url}/`, 'test [MASK]');
  t.equal(r.status, 200, r.text);
  checkPredictions(t, r.json);
});

t.test('POST / raw text: timing headers, content type, same answer for any non-JSON content type', async (t) => {
  const r = await postText(port, 'paris is the [MASK] of france.');
  t.equal(r.status, 200, r.text);
  t.match(r.headers['content-type'], /^application\/json/);
  for (const h of ['x-tokenization-time', 'x-queue-time', 'x-thread-wait-time', 'x-inference-time', 'x-total-time']) {
    t.match(r.headers[h], /^\d+(\.\d+)?$/, `${h} in ms`);
  }
  t.equal(r.headers['x-thread-wait-time'], '0.000', 'one model: no thread budget to wait for');
  t.ok(Number(r.headers['x-total-time']) >= Number(r.headers['x-inference-time']), 'total >= inference');
  checkPredictions(t, r.json);
  const noType = await request(port, { method: 'POST', path: '/', body: 'paris is the [MASK] of france.' });
  t.equal(noType.text, r.text, 'no content type: same bytes');
  const octets = await postText(port, 'paris is the [MASK] of france.', { 'content-type': 'application/octet-stream' });
  t.equal(octets.text, r.text, 'octet-stream: same bytes');
});

t.test('POST / raw text with two masks: one list per mask', async (t) => {
  const r = await postText(port, 'the [MASK] sat on the [MASK].');
  t.equal(r.status, 200, r.text);
  t.equal(r.json.length, 2);
  for (const l of r.json) checkPredictions(t, l);
});

t.test('POST / JSON: string, list, top_k, targets', async (t) => {
  const one = await postJson(port, '/', { inputs: 'test [MASK]' });
  t.equal(one.status, 200, one.text);
  checkPredictions(t, one.json);
  const raw = await postText(port, 'test [MASK]');
  t.same(one.json, raw.json, 'JSON and raw forms agree');

  const list = await postJson(port, '/', { inputs: ['test [MASK]', 'hello [MASK] world'] });
  t.equal(list.status, 200, list.text);
  t.equal(list.json.length, 2, 'one answer per input');
  for (const l of list.json) checkPredictions(t, l);
  sameAnswer(t, list.json[0], one.json, 'batch answer equals single answer (batch invariance)');

  const single = await postJson(port, '/', { inputs: ['test [MASK]'] });
  t.same(single.json, one.json, 'a list of one answers like the string (as Hugging Face)');

  const top = await postJson(port, '/', { inputs: 'test [MASK]', parameters: { top_k: 2 } });
  t.equal(top.status, 200, top.text);
  checkPredictions(t, top.json, 2);
  t.same(top.json, one.json.slice(0, 2), 'top_k 2 is the first 2 of top 5');

  const words = one.json.slice(0, 3).map((p) => p.token_str);
  const targeted = await postJson(port, '/', { inputs: 'test [MASK]', parameters: { targets: [words[2], words[0]] } });
  t.equal(targeted.status, 200, targeted.text);
  t.same(targeted.json.map((p) => p.token_str).sort(), [words[0], words[2]].sort(), 'only the targets');

  const charset = await postJson(port, '/', { inputs: 'test [MASK]' }, { 'content-type': 'application/json; charset=UTF-8' });
  t.equal(charset.status, 200, 'application/json; charset=UTF-8 is JSON');
  t.same(charset.json, one.json);
});

t.test('POST /tokenize: TEI shape, add_special_tokens', async (t) => {
  const r = await postJson(port, '/tokenize', { inputs: 'Hello [MASK] world!' });
  t.equal(r.status, 200, r.text);
  for (const h of ['x-tokenization-time', 'x-queue-time', 'x-inference-time', 'x-total-time']) t.ok(r.headers[h], h);
  t.equal(r.json.length, 1, 'one list per input');
  const toks = r.json[0];
  for (const tok of toks) t.same(Object.keys(tok).sort(), ['id', 'special', 'start', 'stop', 'text']);
  t.equal(toks[0].special, true, '[CLS] first');
  t.equal(toks.at(-1).special, true, '[SEP] last');
  t.equal(toks[0].start, null);
  const bare = await postJson(port, '/tokenize', { inputs: ['Hello [MASK] world!', 'two'], add_special_tokens: false });
  t.equal(bare.status, 200, bare.text);
  t.equal(bare.json.length, 2);
  t.same(bare.json[0], toks.slice(1, -1), 'same tokens without the specials');
  t.ok(
    bare.json[0].filter((x) => !x.special).every((x) => typeof x.start === 'number' && typeof x.stop === 'number'),
    'offsets of text tokens',
  );
  t.same(
    bare.json[0].filter((x) => !x.special).map((x) => 'Hello [MASK] world!'.slice(x.start, x.stop)),
    bare.json[0].filter((x) => !x.special).map((x) => x.text),
    'offsets point at the text',
  );
});

t.test('GET /health, /ready, /info, /metrics; HEAD', async (t) => {
  const h = await request(port, { path: '/health' });
  t.equal(h.status, 200);
  t.same(h.json, { status: 'ok' });
  const ready = await request(port, { path: '/ready' });
  t.equal(ready.status, 200);
  t.same(ready.json, { status: 'ready' });
  const info = await request(port, { path: '/info' });
  t.equal(info.status, 200);
  t.match(info.json, {
    model_id: 'tiny',
    task: 'fill-mask',
    device: 'cpu',
    dtype: 'float32',
    precision: 'float32',
    max_input_length: MAX_TOKENS,
    max_body_bytes: MAX_BODY,
    max_client_batch_size: 4,
    max_answer_bytes: 8388608,
    request_timeout_ms: 30000,
    truncate: false,
  });
  for (const k of [
    'architecture',
    'max_batch_tokens',
    'max_batch_requests',
    'max_concurrent_requests',
    'workers',
    'intra_op_threads',
    'blas',
    'version',
  ]) {
    t.ok(k in info.json, `info has ${k}`);
  }
  t.match(
    info.json.tokenizer,
    {
      model: 'WordPiece',
      normalizer: 'BertNormalizer',
      pre_tokenizer: 'BertPreTokenizer',
      special_tokens: { mask: '[MASK]', cls: '[CLS]' },
      special_tokens_added: { single: 2, pair: 3 },
      supported_components: { models: ['WordPiece', 'BPE', 'Unigram'] },
    },
    "/info names the tokenizer's components and the supported ones",
  );
  const m = await metrics(port);
  t.ok(m.get('bert_serve_http_requests_total', { route: '/', method: 'POST', status: '200' }) >= 1, 'request counter');
  t.ok(m.get('bert_serve_http_request_duration_seconds_count', { route: '/' }) >= 1, 'latency histogram');
  t.ok(m.get('bert_serve_inference_duration_seconds_count', { route: '/' }) >= 1, 'inference time histogram');
  t.ok(m.get('bert_serve_engine_requests_total') >= 1, 'engine totals');
  t.equal(m.get('bert_serve_ready'), 1);
  for (const g of [
    'bert_serve_queue_depth',
    'bert_serve_batch_in_flight',
    'bert_serve_pending_requests',
    'bert_serve_http_in_flight',
    'bert_serve_batch_size_mean',
  ]) {
    t.ok(
      m.samples.some((s) => s.name === g),
      `gauge ${g}`,
    );
  }
  // The tensor block cache: the weights (the word embeddings alone are over 128 KiB) are in it.
  t.ok(m.get('bert_serve_tensor_memory_in_use_bytes') > 0, 'tensor memory in use (the weights)');
  t.ok(m.get('bert_serve_tensor_blocks_mapped_total') >= 1, 'tensor blocks mapped');
  t.ok(
    m.get('bert_serve_tensor_memory_cached_bytes') >= 0 && m.samples.some((s) => s.name === 'bert_serve_tensor_blocks_reused_total'),
    'cache gauges',
  );
  // The process's malloc (jemalloc under bin/bert-serve, glibc here): the tokenizer's vocabulary alone is in it.
  t.ok(m.get('bert_serve_malloc_allocated_bytes') > 0, 'malloc bytes allocated');
  t.ok(m.get('bert_serve_malloc_resident_bytes') >= m.get('bert_serve_malloc_allocated_bytes'), 'malloc holds at least what it handed out');
  const hd = await request(port, { method: 'HEAD', path: '/health' });
  t.equal(hd.status, 200);
  t.equal(hd.text, '', 'HEAD has no body');
});

t.test('400: malformed JSON, invalid UTF-8, empty body', async (t) => {
  checkError(t, await postJson(port, '/', '{"inputs": "test [MASK]"'), 400, 'malformed');
  checkError(t, await postJson(port, '/tokenize', 'not json'), 400, 'malformed');
  checkError(
    t,
    await request(port, { method: 'POST', path: '/', body: Buffer.from([0x74, 0x65, 0xff, 0xfe, 0x20, 0x5b]) }),
    400,
    'malformed',
  );
  checkError(t, await postJson(port, '/', Buffer.from('{"inputs": "\xff"}', 'latin1')), 400, 'malformed');
  checkError(t, await postText(port, ''), 400, 'empty');
  checkError(t, await request(port, { method: 'POST', path: '/' }), 400, 'empty');
});

t.test('404 unknown route, 405 wrong method with Allow', async (t) => {
  checkError(t, await request(port, { path: '/nope' }), 404, 'not_found');
  checkError(t, await request(port, { method: 'POST', path: '/v2/x', body: 'x' }), 404, 'not_found');
  const r = await request(port, { path: '/' });
  checkError(t, r, 405, 'method_not_allowed');
  t.equal(r.headers.allow, 'POST');
  const r2 = await request(port, { method: 'DELETE', path: '/health' });
  checkError(t, r2, 405, 'method_not_allowed');
  t.equal(r2.headers.allow, 'GET, HEAD');
  checkError(t, await request(port, { path: '/tokenize' }), 405, 'method_not_allowed');
});

t.test('413: body over --max-body-bytes, by Content-Length and by counting a chunked body', async (t) => {
  // Content-Length over the limit and no body sent: answered once the client has sent nothing for
  // the linger idle bound (1 s), then the connection closes.
  const c = await RawClient.connect(port);
  await c.send(head('POST', '/', { 'Content-Length': String(MAX_BODY + 1), 'Content-Type': 'text/plain' }));
  const r = await c.response();
  t.equal(r.status, 413);
  t.equal(r.json.error_type, 'payload_too_large');
  t.ok(await c.waitClosed(), 'connection closed');

  // Chunked, no length: counted while reading; the rest is read and discarded up to the last
  // chunk, then 413 and close (no reset: the client could read it).
  const c2 = await RawClient.connect(port);
  await c2.send(head('POST', '/', { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain' }));
  for (let i = 0; i < 10; i++) await c2.send(chunk('x'.repeat(1000)));
  await c2.send(lastChunk);
  const r2 = await c2.response();
  t.equal(r2.status, 413, 'chunked body over the limit: 413');
  t.ok(await c2.waitClosed(), 'connection closed');
  t.notOk(c2.error, 'not reset');

  // A chunked body within the limit is read whole, split arbitrarily.
  const c3 = await RawClient.connect(port);
  await c3.send(head('POST', '/', { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain' }));
  await c3.send(chunk('test '));
  await new Promise((r) => setTimeout(r, 30));
  await c3.send(chunk('[MA'));
  await c3.send(Buffer.concat([chunk('SK]'), Buffer.from(lastChunk)]));
  const r3 = await c3.response();
  t.equal(r3.status, 200, r3.body);
  t.same(r3.json, (await postText(port, 'test [MASK]')).json, 'same answer as the unchunked body');
  c3.destroy();
  t.equal((await request(port, { path: '/health' })).status, 200, 'still serving');
});

t.test('a body arriving in many pieces is copied, not viewed (docs/traps.md#3)', async (t) => {
  const compact = { inputs: 'paris is the [MASK] of france.' };
  const want = await postJson(port, '/', compact);
  const padded = Buffer.from(`{"inputs": "paris is the [MASK] of france."${' '.repeat(MAX_BODY - 100)}}`);
  const c = await RawClient.connect(port);
  await c.send(head('POST', '/', { 'Content-Length': String(padded.length), 'Content-Type': 'application/json' }));
  for (let i = 0; i < padded.length; i += 700) {
    await c.send(padded.subarray(i, i + 700));
    await new Promise((r) => setTimeout(r, 5));
  }
  const r = await c.response();
  t.equal(r.status, 200, r.body);
  t.equal(r.body, want.text, 'identical answer');
  c.destroy();
});

t.test('413: too many tokens (ERR_INPUT_TOO_LONG) and too many inputs; parameters.truncate cuts instead', async (t) => {
  const long = 'the [MASK] ' + 'word '.repeat(MAX_TOKENS * 2);
  checkError(t, await postText(port, long), 413, 'validation');
  checkError(t, await postJson(port, '/', { inputs: long }), 413, 'validation');
  const cut = await postJson(port, '/', { inputs: long, parameters: { truncate: true } });
  t.equal(cut.status, 200, `parameters.truncate, as the 413 suggests: ${cut.text}`);
  checkPredictions(t, cut.json);
  const left = await postJson(port, '/', {
    inputs: 'word '.repeat(MAX_TOKENS * 2) + 'the [MASK]',
    parameters: { truncate: true, truncation_direction: 'Left' },
  });
  t.equal(left.status, 200, `truncation_direction Left keeps the end, where the mask is: ${left.text}`);
  checkError(t, await postJson(port, '/', { inputs: long, parameters: { truncate: 'yes' } }), 422, 'validation');
  checkError(t, await postJson(port, '/', { inputs: ['a [MASK]', 'b [MASK]', 'c [MASK]', 'd [MASK]', 'e [MASK]'] }), 413, 'validation');
});

t.test('415: /tokenize needs application/json; compressed bodies and other charsets are refused', async (t) => {
  checkError(
    t,
    await request(port, { method: 'POST', path: '/tokenize', body: '{"inputs":"x"}', headers: { 'content-type': 'text/plain' } }),
    415,
    'unsupported_media_type',
  );
  checkError(t, await request(port, { method: 'POST', path: '/tokenize', body: '{"inputs":"x"}' }), 415, 'unsupported_media_type');
  checkError(t, await postText(port, 'test [MASK]', { 'content-encoding': 'gzip' }), 415, 'unsupported_media_type');
  checkError(t, await postText(port, 'test [MASK]', { 'content-type': 'text/plain; charset=iso-8859-1' }), 415, 'unsupported_media_type');
});

t.test('422: no mask token, wrong types', async (t) => {
  checkError(t, await postText(port, 'no mask here'), 422, 'validation');
  checkError(t, await postJson(port, '/', { inputs: 'no mask here' }), 422, 'validation');
  checkError(t, await postJson(port, '/', { inputs: 42 }), 422, 'validation');
  checkError(t, await postJson(port, '/', { inputs: [] }), 422, 'validation');
  checkError(t, await postJson(port, '/', { inputs: ['a [MASK]', 7] }), 422, 'validation');
  checkError(t, await postJson(port, '/', ['test [MASK]']), 422, 'validation');
  checkError(t, await postJson(port, '/', { text: 'test [MASK]' }), 422, 'validation');
  checkError(t, await postJson(port, '/', { inputs: 'test [MASK]', parameters: { top_k: 'five' } }), 422, 'validation');
  checkError(t, await postJson(port, '/', { inputs: 'test [MASK]', parameters: { top_k: 0 } }), 422, 'validation');
  checkError(t, await postJson(port, '/', { inputs: 'test [MASK]', parameters: { targets: [1] } }), 422, 'validation');
  checkError(t, await postJson(port, '/', { inputs: 'test [MASK]', parameters: 'x' }), 422, 'validation');
  checkError(t, await postJson(port, '/tokenize', { inputs: 'x', add_special_tokens: 'yes' }), 422, 'validation');
  checkError(t, await postJson(port, '/tokenize', { inputs: null }), 422, 'validation');
});

t.test('errors leave keep-alive connections usable; the server still answers correctly', async (t) => {
  const c = await RawClient.connect(port);
  const body = 'test [MASK]';
  await c.send(head('POST', '/', { 'Content-Length': '12', 'Content-Type': 'text/plain' }) + 'no mask here');
  t.equal((await c.response()).status, 422);
  await c.send(head('GET', '/nope'));
  t.equal((await c.response()).status, 404);
  await c.send(head('POST', '/', { 'Content-Length': String(body.length) }) + body);
  const ok = await c.response();
  t.equal(ok.status, 200);
  t.same(ok.json, (await curlPost(`${server.url}/`, 'test [MASK]')).json);
  t.notOk(c.isClosed, 'same connection throughout');
  c.destroy();
});

t.test('--truncate answers long inputs instead of 413', async (t) => {
  const s2 = await spawnServer(['--model', testModel('tiny'), '--max-tokens', String(MAX_TOKENS), '--truncate'], { t });
  const long = 'the [MASK] ' + 'word '.repeat(MAX_TOKENS * 2);
  const r = await postText(s2.port, long);
  t.equal(r.status, 200, r.text);
  checkPredictions(t, r.json);
  const info = await request(s2.port, { path: '/info' });
  t.equal(info.json.truncate, true);
  const stop = await s2.stop();
  t.equal(stop.code, 0);
});
