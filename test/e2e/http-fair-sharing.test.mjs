// Fair sharing between models in one process, over real HTTP (the real CLI, two real TorchScript
// models): model a (the slow test model: every batch spins ~200 ms) is flooded past its own bounds
// (--max-queue 2 --max-waiting 2 apply to each model), and model b (the tiny model) is still
// admitted and answered, request after request, while a's arrivals are refused with 429: each
// model has its own queue bound and waiting room, and b's batches lease the shared threads ahead
// of a's next batch (native/engine/sched/thread_budget.h). Nothing is timed: the flood is kept up
// until b's requests are answered, and conditions are polled with a bound.
import t from 'tap';
import { spawnServer, requireBuilt, testModel, until } from '../helpers/server.mjs';
import { metrics, request } from '../helpers/http.mjs';

t.setTimeout(240_000);
requireBuilt(testModel('slow'), testModel('tiny'));

const server = await spawnServer(
  ['--model', `a=${testModel('slow')}`, '--model', `b=${testModel('tiny')}`, '--max-queue', '2', '--max-waiting', '2'],
  { t },
);
const port = server.port;
const post = (model, text) =>
  request(port, { method: 'POST', path: `/models/${model}`, body: text, headers: { 'content-type': 'text/plain' } });

t.test('/info: both models on one thread budget, with the batch cap that applies while the other is active', async (t) => {
  for (const name of ['a', 'b']) {
    const info = (await request(port, { path: `/models/${name}/info` })).json;
    t.ok(info.thread_budget >= 1, `${name}: thread budget ${info.thread_budget}`);
    t.ok(
      info.fair_batch_tokens >= 1 && info.fair_batch_tokens <= info.max_batch_tokens,
      `${name}: fair_batch_tokens ${info.fair_batch_tokens}`,
    );
    t.equal(info.max_concurrent_requests, 2);
    t.equal(info.max_waiting, 2);
  }
});

t.test('a flood on a past its bounds: b is admitted and answered every time, while a is refused', async (t) => {
  const a = { 200: 0, 429: 0, other: [] };
  let flooding = true;
  // Eight of a's requests outstanding at all times: two in a's queue, two in its waiting room, the
  // rest refused at once and sent again.
  const flood = async () => {
    while (flooding) {
      const r = await post('a', 'the [MASK] is slow.');
      if (r.status === 200 || r.status === 429) a[r.status]++;
      else a.other.push(r.status);
    }
  };
  const floods = Array.from({ length: 8 }, flood);
  await until(async () => (await metrics(port)).get('bert_serve_waiting_requests') === 2 && a[429] > 0, {
    what: "a's waiting room full and a refusing",
  });
  const refusedBefore = a[429];
  const b = [];
  for (let i = 0; i < 6; i++) b.push(await post('b', `paris is the [MASK] of france ${i}.`));
  const refusedDuring = a[429] - refusedBefore;
  flooding = false;
  await Promise.all(floods);
  for (const [i, r] of b.entries()) {
    t.equal(r.status, 200, `b's request ${i} answered: ${r.text.slice(0, 200)}`);
    t.ok(Array.isArray(r.json) && r.json.length === 5, "b's fill-mask answer");
  }
  t.ok(refusedDuring > 0, `a was over its bounds while b was served (${refusedDuring} of a's requests refused meanwhile)`);
  t.ok(a[200] > 0, `a's admitted requests are answered (${a[200]})`);
  t.same(a.other, [], 'a only ever got 200 or 429');
  const m = await metrics(port);
  t.equal(m.get('bert_serve_waiting_requests'), 0, 'nothing left waiting');
});
