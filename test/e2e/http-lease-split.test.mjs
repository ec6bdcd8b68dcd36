// The lease split over real HTTP (the real CLI, whose default it is, two real TorchScript models on one
// thread budget): model h (the hanging test model: a batch holding "freeze" spins for seconds, one
// operator after another) holds every thread of the budget; model b's requests then run during h's
// batch, on the thread h's batch gives up at its next operator, instead of waiting for the whole
// batch (test/e2e/http-thread-wait.test.mjs is the same scene without the split). Nothing is timed
// by sleeping: h's batch is seen holding the threads in /metrics (polled with a bound), and the
// checks are orders and counts: b answered while h's request is still open, h still holding a thread
// then, every request answered once, the thread given up counted.
// BERT_SERVE_SMALL_BATCHES=team: every batch leases the whole budget, on any core count.
import t from 'tap';
import { spawnServer, requireBuilt, testModel, until } from '../helpers/server.mjs';
import { metrics, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('hanging'), testModel('tiny'));

const server = await spawnServer(
  ['--model', `h=${testModel('hanging')}`, '--model', `b=${testModel('tiny')}`, '--workers', '1', '--request-timeout-ms', '240000'],
  { t, env: { BERT_SERVE_SMALL_BATCHES: 'team' } },
);
const port = server.port;
const post = (model, text) =>
  request(port, { method: 'POST', path: `/models/${model}`, body: text, headers: { 'content-type': 'text/plain' } });
const ms = (r, name) => {
  const v = r.headers[name];
  if (!/^\d+\.\d{3}$/.test(v ?? '')) throw new Error(`${name}: ${v} is not a time in ms`);
  return Number(v);
};

t.test("b's requests run during h's batch, on the thread it gives up", async (t) => {
  const info = (await request(port, { path: '/models/h/info' })).json;
  t.equal(info.intra_op_threads, info.thread_budget, 'every batch wants the whole budget');
  const text = 'paris is the [MASK] of france.';
  const alone = await post('b', text);
  t.equal(alone.status, 200, alone.text.slice(0, 200));

  let hDone = false;
  const hung = post('h', 'freeze the [MASK]').finally(() => {
    hDone = true;
  });
  await until(async () => (await metrics(port)).get('bert_serve_thread_budget_in_use') === info.thread_budget, {
    what: "h's batch holding every thread",
  });
  const answers = [];
  for (let i = 0; i < 3; i++) {
    const b = await post('b', text);
    t.equal(b.status, 200, b.text.slice(0, 200));
    t.equal(b.text, alone.text, 'the same answer as when b ran alone on the whole budget');
    answers.push(b);
  }
  t.notOk(hDone, "all three of b's answers came while h's request was still open");
  const during = await metrics(port);
  t.ok(during.get('bert_serve_thread_budget_in_use') >= 1, "h's batch still holds a thread");
  t.ok(during.get('bert_serve_thread_budget_given_up_total') >= 1, "the thread h's batch gave up is counted");

  const h = await hung;
  t.equal(h.status, 200, h.text.slice(0, 200));
  // Without the split each of b's batches would wait for the rest of h's batch; with it, for one of
  // h's operators: b's three waits together are a small part of h's batch.
  const waits = answers.map((b) => ms(b, 'x-thread-wait-time'));
  const hBatch = ms(h, 'x-inference-time');
  t.ok(
    waits.reduce((a, b) => a + b, 0) * 4 < hBatch,
    `b's thread waits (${waits.join(', ')} ms) are a small part of h's batch (${hBatch} ms)`,
  );
  const after = await metrics(port);
  t.equal(after.get('bert_serve_thread_budget_in_use'), 0, 'every thread given back');
  t.equal(after.get('bert_serve_thread_budget_waiting'), 0, 'nothing waits');
});
