// The Open Inference Protocol v2 (KServe v2, Triton) over real HTTP, on one server with five real
// TorchScript models (embeddings, a classifier, NER, a traced fill-mask model and question
// answering, whose pairs are two inputs, "question" and "context"): the health and
// metadata routes, and POST /v2/models/{name}/infer with requests written from the specification's
// examples (kserve docs/predict-api/v2/required_api.md), sent by Node's fetch and by Python's
// http.client. Each answer is compared with what the server's other routes give for the same texts
// (/embed, /predict, POST /); then the error cases: an unknown model (404), a wrong datatype, name,
// shape or output (400), question answering's inputs missing, repeated or of different shapes (400),
// too many texts (413) and a text over the token limit (413), each an {"error"} object, the server
// serving on.
import t from 'tap';
import { execFile } from 'node:child_process';
import { modelVersion } from '../../dist/model_version.js';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { postJson } from '../helpers/http.mjs';

t.setTimeout(180_000);
const MODELS = { embed: 'embed', clf: 'classify', ner: 'ner', mlm: 'mlm-traced', qa: 'qa' };
requireBuilt(...Object.values(MODELS).map(testModel));

const LIMIT = 4;
const server = await spawnServer(
  [...Object.entries(MODELS).flatMap(([name, dir]) => ['--model', `${name}=${testModel(dir)}`]), '--max-client-batch-size', String(LIMIT)],
  { t },
);
const base = `http://127.0.0.1:${server.port}`;
const TEXTS = ['hello world', 'the quick brown fox', 'bananas are yellow'];

/** The specification's request shape: one BYTES input "text" of shape [n]. */
const inferBody = (data, extra = {}) => ({ inputs: [{ name: 'text', shape: [data.length], datatype: 'BYTES', data }], ...extra });

async function fetchJson(path, init) {
  const r = await fetch(base + path, init);
  return { status: r.status, headers: r.headers, json: await r.json() };
}
const infer = (name, body) =>
  fetchJson(`/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

t.test('health and server metadata', async (t) => {
  const live = await fetchJson('/v2/health/live');
  t.same([live.status, live.json], [200, { live: true }]);
  t.same((await fetchJson('/v2/health/ready')).json, { ready: true });
  t.equal((await fetch(base + '/v2/health/ready')).status, 200);
  const meta = await fetchJson('/v2');
  t.equal(meta.status, 200);
  t.match(meta.json, { name: 'bert-serve', version: /^\d+\.\d+\.\d+/, extensions: [] });
});

t.test('model metadata and readiness, per model', async (t) => {
  const expected = {
    embed: [{ name: 'embedding', datatype: 'FP32', shape: [-1, 32] }],
    clf: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ],
    ner: [{ name: 'entities', datatype: 'BYTES', shape: [-1] }],
    mlm: [{ name: 'predictions', datatype: 'BYTES', shape: [-1] }],
    qa: [
      { name: 'answer', datatype: 'BYTES', shape: [-1] },
      { name: 'score', datatype: 'FP32', shape: [-1] },
      { name: 'start', datatype: 'INT64', shape: [-1] },
      { name: 'end', datatype: 'INT64', shape: [-1] },
    ],
  };
  const TEXT = [{ name: 'text', datatype: 'BYTES', shape: [-1] }];
  const PAIR = [
    { name: 'question', datatype: 'BYTES', shape: [-1] },
    { name: 'context', datatype: 'BYTES', shape: [-1] },
  ];
  for (const [name, dir] of Object.entries(MODELS)) {
    const r = await fetchJson(`/v2/models/${name}`);
    t.equal(r.status, 200, name);
    t.same(r.json, {
      name,
      versions: [await modelVersion(testModel(dir))],
      platform: 'pytorch_libtorch',
      inputs: name === 'qa' ? PAIR : TEXT,
      outputs: expected[name],
    });
    const ready = await fetchJson(`/v2/models/${name}/ready`);
    t.same([ready.status, ready.json], [200, { name, ready: true }], `${name} ready`);
  }
  for (const path of ['/v2/models/nope', '/v2/models/nope/ready']) {
    const r = await fetchJson(path);
    t.equal(r.status, 404, path);
    t.match(r.json.error, /"nope" is not served here; served: embed, clf, ner, mlm/);
  }
});

t.test('embeddings: FP32 [n, dim], the same vectors as /embed, id echoed, x-model-version', async (t) => {
  // The specification's example request, with its id and its outputs list.
  const r = await infer('embed', inferBody(TEXTS, { id: '42', outputs: [{ name: 'embedding' }] }));
  t.equal(r.status, 200);
  const version = await modelVersion(testModel('embed'));
  t.equal(r.headers.get('x-model-version'), version);
  t.same(Object.keys(r.json), ['model_name', 'model_version', 'id', 'outputs']);
  t.match(r.json, { model_name: 'embed', model_version: version, id: '42' });
  const [out] = r.json.outputs;
  t.match(out, { name: 'embedding', datatype: 'FP32', shape: [3, 32] });
  const tei = await postJson(server.port, '/models/embed/embed', { inputs: TEXTS });
  t.same(out.data, tei.json, 'the vectors /embed answers');
  // parameters: /embed's options.
  const raw = await infer('embed', inferBody(['hello world'], { parameters: { normalize: false, dimensions: 8 } }));
  t.match(raw.json.outputs[0], { shape: [1, 8] });
  t.same(
    raw.json.outputs[0].data,
    (await postJson(server.port, '/models/embed/embed', { inputs: ['hello world'], normalize: false, dimensions: 8 })).json,
  );
  t.notOk('id' in raw.json, 'no id asked, none answered');
});

t.test('classification: probabilities [n, labels] in label order and the best label, as /predict', async (t) => {
  const r = await infer('clf', inferBody(TEXTS));
  t.equal(r.status, 200);
  const [probs, label] = r.json.outputs;
  t.match(probs, { name: 'probabilities', datatype: 'FP32', shape: [3, 3] });
  t.match(label, { name: 'label', datatype: 'BYTES', shape: [3] });
  const labels = ['negative', 'neutral', 'positive'];
  // A list of three texts is a batch for /predict (of two, TEI reads one pair).
  const predicted = (await postJson(server.port, '/models/clf/predict', { inputs: TEXTS })).json;
  predicted.forEach((ranked, i) => {
    t.same(
      probs.data[i],
      labels.map((l) => ranked.find((x) => x.label === l).score),
      `text ${i}: the scores /predict answers`,
    );
    t.equal(label.data[i], ranked[0].label);
    t.equal(Math.round(probs.data[i].reduce((a, b) => a + b, 0) * 1e5) / 1e5, 1, 'softmax');
  });
  const only = await infer('clf', inferBody(['hello world'], { outputs: [{ name: 'label' }], parameters: { raw_scores: true } }));
  t.same(
    only.json.outputs.map((o) => o.name),
    ['label'],
    'only the output asked for',
  );
});

t.test('token classification and fill-mask: each text as a JSON string, as POST / answers it', async (t) => {
  const ner = ['Angela Merkel visited Paris', 'John lives in Berlin'];
  const r = await infer('ner', inferBody(ner));
  t.match(r.json.outputs[0], { name: 'entities', datatype: 'BYTES', shape: [2] });
  t.same(
    r.json.outputs[0].data.map((s) => JSON.parse(s)),
    (await postJson(server.port, '/models/ner', { inputs: ner })).json,
  );
  for (const texts of [['Paris is the [MASK] of France.'], ['Paris is the [MASK] of France.', 'a [MASK] and a [MASK].']]) {
    const m = await infer('mlm', inferBody(texts, { parameters: { top_k: 2 } }));
    t.equal(m.status, 200);
    t.match(m.json.outputs[0], { name: 'predictions', datatype: 'BYTES', shape: [texts.length] });
    const hf = await Promise.all(
      texts.map(async (text) => (await postJson(server.port, '/models/mlm', { inputs: text, parameters: { top_k: 2 } })).json),
    );
    t.same(
      m.json.outputs[0].data.map((s) => JSON.parse(s)),
      hf,
      `${texts.length} text(s): POST /'s answer per text`,
    );
  }
});

/** Question answering's request: two BYTES inputs of the same shape, element i of each a pair. */
const pairBody = (questions, contexts, extra = {}) => ({
  inputs: [
    { name: 'question', shape: [questions.length], datatype: 'BYTES', data: questions },
    { name: 'context', shape: [contexts.length], datatype: 'BYTES', data: contexts },
  ],
  ...extra,
});
const QUESTIONS = ['Where does Sarah live?', 'Who founded the company?'];
const CONTEXTS = ['My name is Sarah and I live in London.', 'The company was founded in 1998 by John Smith in Berlin.'];

t.test('question answering: answer, score, start, end per pair, as POST / answers them; top_k as [n, k]', async (t) => {
  const r = await infer('qa', pairBody(QUESTIONS, CONTEXTS, { id: 'qa-1' }));
  t.equal(r.status, 200, JSON.stringify(r.json));
  t.match(r.json, { model_name: 'qa', id: 'qa-1' });
  t.same(
    r.json.outputs.map((o) => [o.name, o.datatype, o.shape]),
    [
      ['answer', 'BYTES', [2]],
      ['score', 'FP32', [2]],
      ['start', 'INT64', [2]],
      ['end', 'INT64', [2]],
    ],
  );
  const hf = (await postJson(server.port, '/models/qa', { inputs: QUESTIONS.map((question, i) => ({ question, context: CONTEXTS[i] })) }))
    .json;
  const [answer, score, start, end] = r.json.outputs.map((o) => o.data);
  t.same(
    hf.map((_, i) => ({ answer: answer[i], score: score[i], start: start[i], end: end[i] })),
    hf.map(({ answer, score, start, end }) => ({ answer, score, start, end })),
    "POST /'s answers, to the last digit",
  );
  CONTEXTS.forEach((c, i) => t.equal(c.slice(start[i], end[i]), answer[i], 'start/end: UTF-16 offsets into the context'));
  // The inputs in the other order are the same pairs; outputs picks and orders.
  const swapped = pairBody(QUESTIONS, CONTEXTS, { outputs: [{ name: 'end' }, { name: 'answer' }] });
  swapped.inputs.reverse();
  const picked = await infer('qa', swapped);
  t.same(
    picked.json.outputs.map((o) => [o.name, o.data]),
    [
      ['end', end],
      ['answer', answer],
    ],
  );
  // top_k 3: [n, 3], best first as POST / lists them. A one-word context has one span: its row is
  // filled with "" of score 0.
  const k = await infer('qa', pairBody([QUESTIONS[0], 'Where?'], [CONTEXTS[0], 'London'], { parameters: { top_k: 3 } }));
  t.equal(k.status, 200, JSON.stringify(k.json));
  t.same(
    k.json.outputs.map((o) => o.shape),
    [
      [2, 3],
      [2, 3],
      [2, 3],
      [2, 3],
    ],
  );
  const [kAnswer, kScore, kStart, kEnd] = k.json.outputs.map((o) => o.data);
  const listed = (
    await postJson(server.port, '/models/qa', { inputs: { question: QUESTIONS[0], context: CONTEXTS[0] }, parameters: { top_k: 3 } })
  ).json;
  t.same(
    listed.map((a) => [a.answer, a.score, a.start, a.end]),
    [0, 1, 2].map((j) => [kAnswer[0][j], kScore[0][j], kStart[0][j], kEnd[0][j]]),
    "pair 0: POST /'s three answers",
  );
  t.same(
    [kAnswer[1].slice(1), kScore[1].slice(1), kStart[1].slice(1), kEnd[1].slice(1)],
    [
      ['', ''],
      [0, 0],
      [0, 0],
      [0, 0],
    ],
    'pair 1: one span, then empty answers of score 0',
  );
  t.equal(kAnswer[1][0], 'London');
});

t.test("Python's http.client, as a client we did not write", async (t) => {
  const script = `
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", ${server.port}, timeout=30)
c.request("POST", "/v2/models/clf/infer", json.dumps({"id": "py-1", "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["hello world"]}]}), {"Content-Type": "application/json"})
r = c.getresponse()
print(json.dumps({"status": r.status, "body": json.loads(r.read())}))
c.request("GET", "/v2/models/clf/ready")
r = c.getresponse(); r.read()
print(json.dumps({"status": r.status}))
`;
  const out = await new Promise((resolve, reject) =>
    execFile(process.env.BERT_SERVE_PYTHON ?? '/usr/bin/python3', ['-c', script], { timeout: 30_000 }, (e, stdout) =>
      e ? reject(e) : resolve(stdout),
    ),
  );
  const [first, second] = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(first.status, 200);
  t.match(first.body, { model_name: 'clf', id: 'py-1' });
  t.same(first.body.outputs[0].data, (await infer('clf', inferBody(['hello world']))).json.outputs[0].data);
  t.equal(second.status, 200, 'the same keep-alive connection serves the next request');
});

t.test('errors: {"error"} with the protocol statuses, the server serving on', async (t) => {
  const cases = [
    ['unknown model', 'nope', inferBody(['a']), 404, /"nope" is not served here/],
    ['wrong datatype', 'embed', { inputs: [{ name: 'text', shape: [1], datatype: 'FP32', data: ['a'] }] }, 400, /datatype "BYTES"/],
    ['shape not the data', 'embed', { inputs: [{ name: 'text', shape: [3], datatype: 'BYTES', data: ['a'] }] }, 400, /shape \[1\]/],
    ['a number for a text', 'embed', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: [1] }] }, 400, /inputs/],
    ['another input name', 'embed', { inputs: [{ name: 'input0', shape: [1], datatype: 'BYTES', data: ['a'] }] }, 400, /the input "text"/],
    ['two inputs', 'embed', { inputs: [inferBody(['a']).inputs[0], inferBody(['b']).inputs[0]] }, 400, /one input tensor/],
    ['no inputs', 'embed', { id: '1' }, 400, /inputs/],
    ['an output it lacks', 'clf', inferBody(['a'], { outputs: [{ name: 'embedding' }] }), 400, /"probabilities", "label"/],
    ['a bad parameter', 'embed', inferBody(['a'], { parameters: { dimensions: 1000 } }), 400, /dimensions/],
    ['no mask', 'mlm', inferBody(['no mask here']), 400, /mask/],
    [
      'qa: the context missing',
      'qa',
      { inputs: [pairBody(['q?'], ['c']).inputs[0]] },
      400,
      /2 input tensors \("question" and "context"\) but received 1/,
    ],
    ['qa: a text input', 'qa', inferBody(['a']), 400, /2 input tensors \("question" and "context"\)/],
    [
      'qa: shapes differ',
      'qa',
      pairBody(['q?', 'r?'], ['c']),
      400,
      /"question" and "context" of the same shape, but received \[2\] and \[1\]/,
    ],
    [
      'qa: the question twice',
      'qa',
      { inputs: [pairBody(['q?'], ['c']).inputs[0], pairBody(['q?'], ['c']).inputs[0]] },
      400,
      /"question" twice/,
    ],
    [
      'qa: another name',
      'qa',
      { inputs: [pairBody(['q?'], ['c']).inputs[0], { name: 'text', shape: [1], datatype: 'BYTES', data: ['c'] }] },
      400,
      /Expected the inputs "question" and "context" but received "text"/,
    ],
    [
      'qa: not BYTES',
      'qa',
      { inputs: [pairBody(['q?'], ['c']).inputs[0], { name: 'context', shape: [1], datatype: 'FP32', data: ['c'] }] },
      400,
      /datatype "BYTES" for the inputs "question" and "context"/,
    ],
    ['qa: an empty question', 'qa', pairBody([''], ['c']), 400, /question/],
    ['qa: top_k over 100', 'qa', pairBody(['q?'], ['c'], { parameters: { top_k: 101 } }), 400, /top_k/],
    ['too many texts', 'embed', inferBody(['a', 'b', 'c', 'd', 'e']), 413, /5 inputs is over the limit of 4/],
    ['a text over the token limit', 'embed', inferBody(['word '.repeat(2000)]), 413, /token/],
  ];
  for (const [what, name, body, status, pattern] of cases) {
    const r = await infer(name, body);
    t.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
    t.match(r.json.error, pattern, what);
  }
  const notJson = await fetch(`${base}/v2/models/embed/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"inputs": [',
  });
  t.equal(notJson.status, 400, 'not JSON');
  t.equal((await fetch(`${base}/v2/models/embed/infer`)).status, 405, 'GET on infer');
  const versioned = await infer('embed/versions/1', inferBody(['a']));
  t.equal(versioned.status, 404, 'versioned paths are not served');
  t.match(versioned.json.error, /no route/);
  t.equal((await infer('embed', inferBody(['still serving']))).status, 200, 'the server serves on');
});

t.test('/openapi.json lists the protocol routes for every served model', async (t) => {
  const doc = (await fetchJson('/openapi.json')).json;
  for (const path of ['/v2', '/v2/health/live', '/v2/health/ready']) t.ok(doc.paths[path]?.get, path);
  for (const name of Object.keys(MODELS)) {
    t.ok(doc.paths[`/v2/models/${name}`]?.get, `/v2/models/${name}`);
    t.ok(doc.paths[`/v2/models/${name}/ready`]?.get, `/v2/models/${name}/ready`);
    t.ok(doc.paths[`/v2/models/${name}/infer`]?.post, `/v2/models/${name}/infer`);
  }
  t.match(doc.paths['/v2/models/mlm/infer'].post.summary, /fill-mask/, "each model's infer is its task's");
});
