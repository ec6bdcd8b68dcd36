// The task routes over real HTTP against the real CLI: embeddings (TEI /embed, /embed_all, OpenAI
// /v1/embeddings, POST / feature-extraction and sentence similarity), classification (TEI /predict,
// POST /), rerank (TEI /rerank), token classification (POST /); bad input on each (a documented
// status and a JSON error, the server unaffected); routes that do not fit the served task; and the
// clients users already have (@huggingface/inference pointed at the server, OpenAI's Node client).
import t from 'tap';
import { InferenceClient } from '@huggingface/inference';
import OpenAI from 'openai';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { postJson, postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(
  testModel('embed'),
  testModel('classify'),
  testModel('rerank'),
  testModel('ner'),
  testModel('tiny'),
  testModel('classify-traced'),
);

const LIMITS = ['--max-tokens', '24', '--max-client-batch-size', '4'];
const servers = {};
for (const name of ['embed', 'classify', 'rerank', 'ner', 'tiny', 'classify-traced']) {
  servers[name] = await spawnServer(['--model', testModel(name), ...LIMITS], { t });
}
const port = (name) => servers[name].port;

function checkError(t, r, status, pattern) {
  t.equal(r.status, status, `status ${status}: ${r.text}`);
  t.same(Object.keys(r.json ?? {}).sort(), ['error', 'error_type'], 'error shape');
  if (pattern) t.match(r.json?.error, pattern);
}

t.test('/info reports the task, labels and pooling', async (t) => {
  const e = (await request(port('embed'), { path: '/info' })).json;
  t.match(e, {
    task: 'feature-extraction',
    architecture: 'BertModel',
    pooling: 'mean',
    pooling_source: '1_Pooling/config.json',
    prompts: { query: 'query: ' },
  });
  const c = (await request(port('classify'), { path: '/info' })).json;
  t.match(c, { task: 'text-classification', labels: ['negative', 'neutral', 'positive'], function_to_apply: 'softmax' });
  const n = (await request(port('ner'), { path: '/info' })).json;
  t.match(n, { task: 'token-classification', labels: ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG', 'B-MISC', 'I-MISC'] });
  const f = (await request(port('tiny'), { path: '/info' })).json;
  t.match(f, { task: 'fill-mask', head_path: 'fill_mask_logits' });
});

t.test('TEI /embed and /embed_all', async (t) => {
  const one = await postJson(port('embed'), '/embed', { inputs: 'hello world' });
  t.equal(one.status, 200, one.text);
  t.equal(one.json.length, 1, 'a list of one embedding for one string');
  t.equal(one.json[0].length, 32);
  t.ok(Math.abs(Math.hypot(...one.json[0]) - 1) < 1e-5, 'normalized by default');
  const raw = await postJson(port('embed'), '/embed', { inputs: ['hello world', 'a b c'], normalize: false, dimensions: 8 });
  t.equal(raw.status, 200, raw.text);
  t.same(
    raw.json.map((v) => v.length),
    [8, 8],
  );
  const prompted = await postJson(port('embed'), '/embed', { inputs: 'hello world', prompt_name: 'query' });
  const manual = await postJson(port('embed'), '/embed', { inputs: 'query: hello world' });
  t.same(prompted.json, manual.json, 'prompt_name prepends the prompt');
  const all = await postJson(port('embed'), '/embed_all', { inputs: ['hello world'] });
  t.equal(all.status, 200, all.text);
  t.equal(all.json[0].length, 4, '[CLS] hello world [SEP]: 4 token rows');
  const long = 'word '.repeat(40);
  checkError(t, await postJson(port('embed'), '/embed', { inputs: long }), 413, /tokens long; the limit is 24/);
  const cut = await postJson(port('embed'), '/embed', { inputs: long, truncate: true });
  t.equal(cut.status, 200, 'truncate: true');
  const left = await postJson(port('embed'), '/embed', { inputs: long + 'end', truncate: true, truncation_direction: 'Left' });
  t.equal(left.status, 200, 'truncation_direction Left');
  t.notSame(left.json, cut.json, 'left and right truncation keep different tokens');
});

t.test('OpenAI /v1/embeddings: float and base64, token ids, usage', async (t) => {
  const r = await postJson(port('embed'), '/v1/embeddings', { input: ['hello world', 'x'], model: 'm' });
  t.equal(r.status, 200, r.text);
  t.match(r.json, { object: 'list', model: 'm', usage: { prompt_tokens: 7, total_tokens: 7 } });
  t.same(
    r.json.data.map((d) => [d.object, d.index]),
    [
      ['embedding', 0],
      ['embedding', 1],
    ],
  );
  const b = await postJson(port('embed'), '/v1/embeddings', { input: 'hello world', encoding_format: 'base64' });
  const bytes = Buffer.from(b.json.data[0].embedding, 'base64');
  const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
  t.equal(decoded.length, 32);
  t.ok(
    decoded.every((v, i) => Math.abs(v - r.json.data[0].embedding[i]) < 1e-6),
    'base64 = little-endian float32 of the same vector',
  );
  const ids = (
    await request(port('embed'), {
      method: 'POST',
      path: '/tokenize',
      body: JSON.stringify({ inputs: 'hello world', add_special_tokens: false }),
      headers: { 'content-type': 'application/json' },
    })
  ).json[0].map((x) => x.id);
  const byIds = await postJson(port('embed'), '/v1/embeddings', { input: [ids] });
  t.same(byIds.json.data[0].embedding, r.json.data[0].embedding, 'token ids embed as their text');
  checkError(
    t,
    await postJson(port('embed'), '/v1/embeddings', { input: [[999999]] }),
    422,
    /^token id 999999 in "input\[0\]\[0\]" is not in the vocabulary/,
  );
  // The id and where it is, whatever its size (2^31 and more were refused naming neither).
  checkError(
    t,
    await postJson(port('embed'), '/v1/embeddings', { input: [ids, [ids[0], 2 ** 40]] }),
    422,
    /^token id 1099511627776 in "input\[1\]\[1\]"/,
  );
  checkError(t, await postJson(port('embed'), '/v1/embeddings', { input: [ids[0], -3] }), 422, /^token id -3 in "input\[1\]"/);
  checkError(t, await postJson(port('embed'), '/v1/embeddings', { input: 'x', encoding_format: 'hex' }), 422, /encoding_format/);

  const client = new OpenAI({ baseURL: `${servers.embed.url}/v1`, apiKey: 'none' });
  const viaClient = await client.embeddings.create({ model: 'm', input: ['hello world'] });
  t.equal(viaClient.data[0].embedding.length, 32, "OpenAI's Node client (base64 by default) decodes our answer");
  t.ok(
    viaClient.data[0].embedding.every((v, i) => Math.abs(v - r.json.data[0].embedding[i]) < 1e-6),
    'same vector',
  );
});

t.test('dimensions on POST /embed and POST /v1/embeddings: the first N values, re-normalized; 1..32 or 422 naming the bound', async (t) => {
  const inputs = ['hello world', 'a b c'];
  const full = (await postJson(port('embed'), '/embed', { inputs, normalize: false })).json;
  t.equal(full[0].length, 32);
  const firstN = (v, n) => {
    const head = v.slice(0, n);
    const norm = Math.hypot(...head);
    return head.map((x) => x / norm);
  };
  const close = (a, b) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
  for (const n of [1, 5, 32]) {
    const tei = await postJson(port('embed'), '/embed', { inputs, dimensions: n });
    t.equal(tei.status, 200, tei.text);
    t.ok(
      tei.json.every((v, i) => close(v, firstN(full[i], n))),
      `/embed dimensions ${n}: the full vector's first ${n} values, re-normalized`,
    );
    const oa = await postJson(port('embed'), '/v1/embeddings', { input: inputs, dimensions: n });
    t.equal(oa.status, 200, oa.text);
    t.ok(
      oa.json.data.every((d, i) => close(d.embedding, firstN(full[i], n))),
      `/v1/embeddings dimensions ${n}: the same`,
    );
    const b64 = await postJson(port('embed'), '/v1/embeddings', { input: inputs, dimensions: n, encoding_format: 'base64' });
    const bytes = Buffer.from(b64.json.data[1].embedding, 'base64');
    t.ok(close(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)), firstN(full[1], n)), 'and in base64');
  }
  const client = new OpenAI({ baseURL: `${servers.embed.url}/v1`, apiKey: 'none' });
  const viaClient = await client.embeddings.create({ model: 'm', input: inputs, dimensions: 8 });
  t.ok(close(viaClient.data[0].embedding, firstN(full[0], 8)), "OpenAI's Node client with dimensions: 8");
  for (const [path, body] of [
    ['/embed', { inputs: 'a', dimensions: 33 }],
    ['/v1/embeddings', { input: 'a', dimensions: 33 }],
  ])
    checkError(
      t,
      await postJson(port('embed'), path, body),
      422,
      /^Expected an integer between 1 and 32 \(this model's embedding size\) for dimensions but received number 33$/,
    );
  for (const [path, body] of [
    ['/embed', { inputs: 'a', dimensions: 0 }],
    ['/v1/embeddings', { input: 'a', dimensions: -1 }],
    ['/v1/embeddings', { input: 'a', dimensions: 2.5 }],
  ])
    checkError(t, await postJson(port('embed'), path, body), 422, /dimensions/);
  // POST / (the Hugging Face Inference API's shape) takes it in its parameters too: never ignored.
  const root = await postJson(port('embed'), '/', { inputs, parameters: { dimensions: 8, normalize: true } });
  t.equal(root.status, 200, root.text);
  t.ok(
    root.json.every((v, i) => close(v, firstN(full[i], 8))),
    'POST / parameters.dimensions 8: the same',
  );
  checkError(t, await postJson(port('embed'), '/', { inputs: 'a', parameters: { dimensions: 33 } }), 422, /between 1 and 32/);
});

t.test('TEI /predict and /rerank', async (t) => {
  const single = await postJson(port('classify'), '/predict', { inputs: 'i love it' });
  t.equal(single.status, 200, single.text);
  t.equal(single.json.length, 3, 'a flat list of every label for one input');
  t.ok(single.json[0].score >= single.json[1].score, 'sorted');
  t.ok(Math.abs(single.json.reduce((s, x) => s + x.score, 0) - 1) < 1e-5, 'softmax');
  const pair = await postJson(port('classify'), '/predict', { inputs: ['a question', 'an answer'] });
  t.equal(pair.json.length, 3, 'a two-string list is one pair, as TEI');
  const batch = await postJson(port('classify'), '/predict', { inputs: [['a', 'b'], 'c', ['d', 'e']] });
  t.same(
    batch.json.map((x) => x.length),
    [3, 3, 3],
    'a batch: one list per input',
  );
  const raw = await postJson(port('classify'), '/predict', { inputs: 'i love it', raw_scores: true });
  t.notOk(Math.abs(raw.json.reduce((s, x) => s + x.score, 0) - 1) < 1e-5, 'raw_scores: logits');
  checkError(t, await postJson(port('classify'), '/predict', { inputs: [] }), 422, /inputs/);
  checkError(t, await postJson(port('classify'), '/predict', { inputs: ['a', 'b', 'c', 'd', 'e'] }), 413, /max-client-batch-size/);
  checkError(t, await postJson(port('classify'), '/rerank', { query: 'q', texts: ['a'] }), 422, /one label/);
  checkError(t, await postJson(port('classify-traced'), '/predict', { inputs: ['a', 'b'] }), 422, /token_type_ids/);

  const r = await postJson(port('rerank'), '/rerank', {
    query: 'what is paris',
    texts: ['paris is a city', 'bananas', 'the capital of france'],
    return_text: true,
  });
  t.equal(r.status, 200, r.text);
  t.same(r.json.map((x) => x.index).sort(), [0, 1, 2]);
  t.ok(r.json[0].score >= r.json[1].score && r.json[1].score >= r.json[2].score, 'best first');
  t.ok(
    r.json.every((x) => x.score > 0 && x.score < 1 && typeof x.text === 'string'),
    'sigmoid scores, texts returned',
  );
  checkError(t, await postJson(port('rerank'), '/rerank', { query: 1, texts: ['a'] }), 422, /query/);
  checkError(t, await postJson(port('rerank'), '/rerank', { query: 'q', texts: [] }), 422, /texts/);
});

t.test("POST / speaks each task's Hugging Face Inference API shape; raw text works for every task", async (t) => {
  const e = await postText(port('embed'), 'hello world');
  t.equal(e.status, 200, e.text);
  t.equal(e.json.length, 32, 'raw text: one embedding');
  const c = await postText(port('classify'), 'i love it');
  t.equal(c.json.length, 1, 'classification: a list of lists');
  t.equal(c.json[0].length, 1, 'top_k 1 by default');
  const all = await postJson(port('classify'), '/', { inputs: ['a', { text: 'b', text_pair: 'c' }], parameters: { top_k: null } });
  t.same(
    all.json.map((x) => x.length),
    [3, 3],
  );
  const n = await postText(port('ner'), 'angela merkel visited paris');
  t.equal(n.status, 200, n.text);
  t.ok(Array.isArray(n.json) && n.json.every((x) => typeof x.entity_group === 'string'), 'entities grouped (simple) by default');
  const none = await postJson(port('ner'), '/', {
    inputs: 'angela merkel visited paris',
    parameters: { aggregation_strategy: 'none', ignore_labels: [] },
  });
  const toks = (await postJson(port('ner'), '/tokenize', { inputs: 'angela merkel visited paris', add_special_tokens: false })).json[0];
  t.equal(none.json.length, toks.length, 'one entity per token with nothing ignored');
  for (const x of none.json)
    t.equal('angela merkel visited paris'.slice(x.start, x.end), x.word.replace(/^##/, ''), 'offsets index the input');
  checkError(
    t,
    await postJson(port('ner'), '/', { inputs: 'x', parameters: { aggregation_strategy: 'best' } }),
    422,
    /aggregation_strategy/,
  );
});

t.test('fill-mask: predictions per request are bounded before any work (--max-predictions)', async (t) => {
  const r = await postJson(port('tiny'), '/', { inputs: ['a [MASK]', 'b [MASK]', 'c [MASK]'], parameters: { top_k: 1000 } });
  checkError(t, r, 422, /3000 predictions; the limit is 2000 per request \(maxPredictions, --max-predictions\)/);
  const masks = await postJson(port('tiny'), '/', { inputs: '[MASK] '.repeat(12), parameters: { top_k: 200 } });
  checkError(t, masks, 422, /12 masks x top_k 200 = 2400 predictions; the limit is 2000 for this text/);
  // Targets count as predictions: 2,001 distinct ones are over --max-predictions (2000), refused before the engine.
  const targets = Array.from({ length: 2001 }, (_, i) => `w${i}`);
  const many = await postJson(port('tiny'), '/', { inputs: 'test [MASK]', parameters: { targets } });
  checkError(t, many, 422, /^2001 distinct targets x 1 input\(s\) asks for at least 2001 predictions; the limit is 2000/);
  checkError(
    t,
    await postJson(port('tiny'), '/', { inputs: ['a [MASK]', 'b [MASK]', 'c [MASK]'], parameters: { targets: targets.slice(0, 700) } }),
    422,
    /700 distinct targets x 3 input\(s\)/,
  );
  t.equal(
    (await postJson(port('tiny'), '/', { inputs: 'test [MASK]', parameters: { targets: targets.slice(0, 2000) } })).status,
    200,
    '2,000 targets are within the limit',
  );
});

t.test('routes that do not fit the served model name its task', async (t) => {
  checkError(t, await postJson(port('tiny'), '/embed', { inputs: 'x' }), 422, /needs a feature-extraction model .* serves fill-mask/);
  checkError(t, await postJson(port('embed'), '/predict', { inputs: 'x' }), 422, /serves feature-extraction/);
  checkError(t, await postJson(port('ner'), '/rerank', { query: 'q', texts: ['x'] }), 422, /serves token-classification/);
});

t.test('bad input on every route: a JSON error, and the server keeps serving', async (t) => {
  const cases = [
    ['embed', '/embed', { inputs: 3 }, 422],
    ['embed', '/embed', { inputs: [] }, 422],
    ['embed', '/embed', { inputs: ['a', 2] }, 422],
    ['embed', '/embed', { inputs: 'a', normalize: 'yes' }, 422],
    ['embed', '/embed', { inputs: 'a', dimensions: 0 }, 422],
    ['embed', '/embed', { inputs: 'a', dimensions: 33 }, 422],
    ['embed', '/embed', { inputs: 'a', prompt_name: 'nope' }, 422],
    ['embed', '/embed', { inputs: 'a', truncation_direction: 'middle' }, 422],
    ['embed', '/embed', { inputs: ['a', 'b', 'c', 'd', 'e'] }, 413],
    ['embed', '/v1/embeddings', { input: [] }, 422],
    ['embed', '/v1/embeddings', { input: [1.5] }, 422],
    ['classify', '/predict', { inputs: [['a']] }, 422],
    ['classify', '/predict', { inputs: 'a', raw_scores: 1 }, 422],
    ['classify', '/', { inputs: 'a', parameters: { top_k: 0 } }, 422],
    ['classify', '/', { inputs: 'a', parameters: { function_to_apply: 'x' } }, 422],
    ['ner', '/', { inputs: ['a', 3] }, 422],
    ['ner', '/', { inputs: 'a', parameters: { ignore_labels: 'O' } }, 422],
    ['embed', '/embed', { inputs: 'a', encoding_format: 'base64' }, 422],
  ];
  for (const [name, path, body, status] of cases) checkError(t, await postJson(port(name), path, body), status);
  const empty = await postJson(port('embed'), '/embed', { inputs: '' });
  t.equal(empty.status, 200, 'an empty string embeds [CLS] [SEP], as TEI');
  for (const name of ['embed', 'classify', 'ner']) {
    t.equal((await postText(port(name), 'still serving')).status, 200, `${name} still serves`);
  }
});

t.test('@huggingface/inference pointed at the server works unchanged', async (t) => {
  const hf = new InferenceClient();
  const fm = await hf.fillMask({ endpointUrl: servers.tiny.url, inputs: 'paris is the [MASK] of france.' });
  t.equal(fm.length, 5, 'fillMask');
  const fe = await hf.featureExtraction({ endpointUrl: servers.embed.url, inputs: 'hello world' });
  t.equal(fe.length, 32, 'featureExtraction');
  const sim = await hf.sentenceSimilarity({
    endpointUrl: servers.embed.url,
    inputs: { source_sentence: 'hello world', sentences: ['hello world', 'bananas'] },
  });
  t.equal(sim.length, 2, 'sentenceSimilarity');
  t.ok(Math.abs(sim[0] - 1) < 1e-5, 'a sentence is most similar to itself');
  const tc = await hf.textClassification({ endpointUrl: servers.classify.url, inputs: 'i love it' });
  t.ok(tc.length >= 1 && typeof tc[0].label === 'string', 'textClassification');
  const ner = await hf.tokenClassification({ endpointUrl: servers.ner.url, inputs: 'angela merkel visited paris' });
  t.ok(Array.isArray(ner), 'tokenClassification');
});

t.test("the memory budget's upper bound of an answer is never below the real answer, on every task route", async (t) => {
  // The budget (--max-inflight-answer-bytes) reserves answerUpperBound while an answer is built;
  // RSS stays within it only if the bound never undercounts. Real answers from the real models.
  const { answerUpperBound } = await import('../../dist/server/answer_size.js');
  const { routeFor } = await import('../../dist/server/routes/index.js');
  // Within the servers' 24 tokens (LIMITS), escapes and characters outside the vocabulary included.
  const texts = ['hello world', 'Paris is the capital of France', 'é 漢字 😀 "quoted" \\ back', 'a '.repeat(15), ''];
  const masked = ['a [MASK]', 'Paris is the [MASK] of [MASK].', '[MASK] 漢字 😀 "q"', 'x [MASK]'];
  const cases = [
    ['embed', '/embed', { inputs: texts.slice(0, 4) }],
    ['embed', '/embed_all', { inputs: texts.slice(0, 4) }],
    ['embed', '/embed_all', { inputs: 'a '.repeat(40), truncate: true }],
    ['embed', '/v1/embeddings', { input: texts.slice(0, 3) }],
    ['embed', '/', { inputs: texts.slice(1, 4) }],
    ['classify', '/predict', { inputs: [texts[0], [texts[1], texts[2]]] }],
    ['classify', '/', { inputs: texts.slice(0, 4), parameters: { top_k: null } }],
    ['rerank', '/rerank', { query: texts[1], texts: texts.slice(0, 4), return_text: true }],
    ['ner', '/', { inputs: texts.slice(0, 4), parameters: { aggregation_strategy: 'none' } }],
    ['tiny', '/', { inputs: masked, parameters: { top_k: 20 } }],
    ['tiny', '/', { inputs: masked[1], parameters: { targets: ['paris', 'capital', 'city'] } }],
    ['tiny', '/tokenize', { inputs: texts.slice(0, 4) }],
  ];
  for (const [name, path, body] of cases) {
    const info = (await request(port(name), { path: '/info' })).json;
    const r = await postJson(port(name), path, body);
    t.equal(r.status, 200, `${name} ${path}: ${r.text.slice(0, 200)}`);
    const list = body.inputs ?? body.input ?? body.texts;
    const count = path === '/rerank' ? body.texts.length : Array.isArray(list) ? list.length : 1;
    let predictions;
    if (info.task === 'fill-mask' && path === '/') {
      const k = body.parameters?.targets
        ? Math.min(body.parameters.top_k ?? 5, body.parameters.targets.length)
        : (body.parameters?.top_k ?? 5);
      predictions = [body.inputs].flat().reduce((n, x) => n + Math.max(1, x.split('[MASK]').length - 1) * k, 0);
    }
    const upper = answerUpperBound({
      kind: routeFor('POST', path, info.task).answerKind,
      texts: count,
      bodyBytes: Buffer.byteLength(JSON.stringify(body)),
      predictions,
      hiddenSize: info.hidden_size,
      labels: info.labels ?? [],
      maxTokens: info.max_input_length,
    });
    t.ok(upper >= r.bytes.length, `${name} ${path}: upper bound ${upper} >= the answer's ${r.bytes.length} bytes`);
  }
});
