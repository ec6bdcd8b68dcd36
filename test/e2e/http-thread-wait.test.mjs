// x-thread-wait-time over real HTTP (the real CLI, two real TorchScript models on one thread budget):
// model h (the hanging test model: a batch holding "freeze" spins for seconds) holds every thread of
// the budget while model b's batch is ready to run. b's answer then says how long its batch waited
// for the threads (x-thread-wait-time), apart from its own forward (x-inference-time), so "b waited
// behind another model's batch" and "b's batch ran slower" are told apart; /metrics counts the wait.
// Nothing is timed by sleeping: the held lease is seen in /metrics (polled with a bound), and the
// wait is bounded below by what the polls saw and above by the request's own time.
// BERT_SERVE_SMALL_BATCHES=team: every batch leases the whole budget (one worker, intra-op threads =
// the CPUs = the budget), so a held lease leaves b nothing to run on, on any core count.
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { spawnServer, requireBuilt, testModel, until } from '../helpers/server.mjs';
import { metrics, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('hanging'), testModel('tiny'));

const server = await spawnServer(
  // --no-lease-split: this file shows the wait for a whole held batch (with the split, the default,
  // the wait is one operator: test/e2e/http-lease-split).
  [
    '--model',
    `h=${testModel('hanging')}`,
    '--model',
    `b=${testModel('tiny')}`,
    '--workers',
    '1',
    '--no-lease-split',
    '--request-timeout-ms',
    '240000',
  ],
  { t, env: { BERT_SERVE_SMALL_BATCHES: 'team' } },
);
const port = server.port;
const post = (model, text) =>
  request(port, { method: 'POST', path: `/models/${model}`, body: text, headers: { 'content-type': 'text/plain' } });
const header = (r, name) => {
  const v = r.headers[name];
  if (!/^\d+\.\d{3}$/.test(v ?? '')) throw new Error(`${name}: ${v} is not a time in ms`);
  return Number(v);
};
/** /metrics, with the times the scrape was sent and answered (performance.now(), ms). */
const scrape = async () => {
  const sent = performance.now();
  const m = await metrics(port);
  return { m, sent, answered: performance.now() };
};

t.test('a lease held by another model shows in x-thread-wait-time, not in x-inference-time', async (t) => {
  const info = (await request(port, { path: '/models/h/info' })).json;
  t.equal(info.intra_op_threads, info.thread_budget, 'every batch wants the whole budget');

  const alone = await post('b', 'paris is the [MASK] of france.');
  t.equal(alone.status, 200, alone.text.slice(0, 200));
  const aloneWait = header(alone, 'x-thread-wait-time');

  const hung = post('h', 'freeze the [MASK]');
  await until(async () => (await scrape()).m.get('bert_serve_thread_budget_in_use') === info.thread_budget, {
    what: "h's batch holding every thread",
  });
  const held = post('b', 'paris is the [MASK] of france.');
  // The first scrape that sees b's batch waiting was answered after b asked for the threads; the
  // last one that still sees it waiting was sent before b got them: the wait spans at least the gap.
  const first = await until(
    async () => {
      const s = await scrape();
      return s.m.get('bert_serve_thread_budget_waiting') === 1 ? s : undefined;
    },
    { what: "b's batch waiting for the threads" },
  );
  let last = first;
  await until(
    async () => {
      const s = await scrape();
      if (s.m.get('bert_serve_thread_budget_waiting') !== 1) return true;
      last = s;
      return false;
    },
    { what: "h's batch to end", timeoutMs: 200_000 },
  );
  const [b, h] = await Promise.all([held, hung]);
  t.equal(b.status, 200, b.text.slice(0, 200));
  t.equal(h.status, 200, h.text.slice(0, 200));
  const seen = last.sent - first.answered;
  t.ok(seen > 0, `b was seen waiting for ${seen.toFixed(1)} ms (the hanging batch spins for seconds)`);

  const wait = header(b, 'x-thread-wait-time');
  const inference = header(b, 'x-inference-time');
  const total = header(b, 'x-total-time');
  // 1 ms: the headers' rounding and the two clocks' (the server's and this process's) granularity.
  t.ok(wait + 1 >= seen, `x-thread-wait-time ${wait} ms >= the ${seen.toFixed(1)} ms the polls saw b wait`);
  t.ok(
    header(b, 'x-tokenization-time') + header(b, 'x-queue-time') + wait + inference <= total + 1,
    `the parts (wait ${wait} ms, inference ${inference} ms) fit in x-total-time ${total} ms`,
  );
  t.ok(inference < wait, `x-inference-time ${inference} ms is b's own forward, without the ${wait} ms wait`);
  t.ok(aloneWait < wait / 10, `alone, b's wait was ${aloneWait} ms`);

  const m = (await scrape()).m;
  t.ok(m.get('bert_serve_thread_budget_waits_total') >= 1, 'the wait is counted');
  t.equal(m.get('bert_serve_thread_budget_waiting'), 0, 'nothing waits now');
  t.ok(
    m.get('bert_serve_thread_wait_duration_seconds_sum') * 1000 + 1 >= wait,
    `the thread-wait histogram holds it (${m.get('bert_serve_thread_wait_duration_seconds_sum')} s)`,
  );
});
