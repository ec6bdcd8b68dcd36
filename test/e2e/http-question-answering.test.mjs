// Question answering over real HTTP against the real CLI: POST / (and /models/{name}) in the
// Hugging Face Inference API's shape, asked with Node's fetch and with @huggingface/inference's
// questionAnswering; then bad input (each a 422 naming the field, or 413 naming the limit) with the
// server unaffected. The answers' numbers are checked against the eager reference in
// test/integration/question-answering.test.mjs.
import t from 'tap';
import { InferenceClient } from '@huggingface/inference';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { checkError, curlPost, postJson } from '../helpers/http.mjs';

t.setTimeout(120_000);
requireBuilt(testModel('qa'));
const server = await spawnServer(['--model', testModel('qa'), '--max-tokens', '32', '--max-client-batch-size', '4'], { t });

const context = 'John Smith lives in New York and works for the United Nations.';
const question = 'Where does John Smith live?';
const ask = (body, path = '/') =>
  fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
    async (r) => ({ status: r.status, json: await r.json() }),
  );

/** An answer as the pipeline gives it: its text is the context's slice. */
function checkAnswer(t, a, ctx = context) {
  t.same(Object.keys(a).sort(), ['answer', 'end', 'score', 'start']);
  t.ok(a.score >= 0 && a.score <= 1, `score ${a.score}`);
  t.equal(a.answer, ctx.slice(a.start, a.end), `"${a.answer}" is context.slice(${a.start}, ${a.end})`);
}

t.test('POST /: one pair, top_k, a list of pairs, the per-model path; /info names the task', async (t) => {
  const one = await ask({ inputs: { question, context } });
  t.equal(one.status, 200, JSON.stringify(one.json));
  checkAnswer(t, one.json);
  const three = await ask({ inputs: { question, context }, parameters: { top_k: 3 } });
  t.equal(three.json.length, 3, 'top_k 3: a list of three');
  three.json.forEach((a) => checkAnswer(t, a));
  t.ok(
    three.json.every((a, i) => i === 0 || a.score <= three.json[i - 1].score),
    'best first',
  );
  t.same(three.json[0], one.json, 'the best of three is the one answer');
  const other = 'Paris is the capital of France.';
  const list = await ask({
    inputs: [
      { question, context },
      { question: 'What is Paris?', context: other },
    ],
  });
  t.equal(list.json.length, 2, 'one answer per pair');
  t.same(list.json[0], one.json, 'the same answer in a list');
  checkAnswer(t, list.json[1], other);
  const null_ = await ask({ inputs: { question, context }, parameters: { top_k: 100, max_answer_len: 2, handle_impossible_answer: true } });
  t.ok(
    null_.json.some((a) => a.answer === '' && a.start === 0 && a.end === 0),
    'handle_impossible_answer: the null answer is among them',
  );
  const perModel = await ask({ inputs: { question, context } }, '/models/qa');
  t.same(perModel.json, one.json, 'POST /models/qa');
  const info = await fetch(server.url + '/info').then((r) => r.json());
  t.match(info, { task: 'question-answering', architecture: 'BertForQuestionAnswering' });
});

t.test('@huggingface/inference questionAnswering pointed at the server works unchanged', async (t) => {
  const hf = new InferenceClient();
  const a = await hf.questionAnswering({ endpointUrl: server.url, inputs: { question, context } });
  checkAnswer(t, a);
});

t.test('bad input: 422 naming the field, 413 naming the limit; the server keeps serving', async (t) => {
  const port = server.port;
  const cases = [
    [{ inputs: { context } }, 422, /"inputs\.question"/],
    [{ inputs: { question } }, 422, /"inputs\.context"/],
    [{ inputs: { question: '', context } }, 422, /"inputs\.question" but received the string ""/],
    [{ inputs: { question, context: 7 } }, 422, /"inputs\.context" but received number 7/],
    [{ inputs: 'just a text' }, 422, /\{question, context\}/],
    [{ inputs: [] }, 422, /"inputs"/],
    [{ inputs: { question, context }, parameters: { top_k: 0 } }, 422, /between 1 and 100 for "parameters\.top_k"/],
    [{ inputs: { question, context }, parameters: { top_k: 101 } }, 422, /parameters\.top_k/],
    [{ inputs: { question, context }, parameters: { max_answer_len: 0 } }, 422, /parameters\.max_answer_len/],
    [{ inputs: { question, context }, parameters: { handle_impossible_answer: 'yes' } }, 422, /handle_impossible_answer/],
    [{ inputs: { question: '  ', context } }, 422, /has no tokens/],
    [{ inputs: Array(5).fill({ question, context }) }, 413, /5 inputs is over the limit of 4/],
    [{ inputs: { question, context: 'word '.repeat(40) } }, 413, /limit is 32; question answering does not cut or split a context/],
  ];
  for (const [body, status, pattern] of cases) checkError(t, await postJson(port, '/', body), status, 'validation', pattern);
  const raw = await curlPost(server.url + '/', 'where is it?');
  t.equal(raw.status, 422, `a raw text body is no pair (${raw.via}): ${raw.text}`);
  t.equal((await ask({ inputs: { question, context } })).status, 200, 'still serving');
});
