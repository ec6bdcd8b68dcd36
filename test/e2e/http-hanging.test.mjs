// A model that hangs: the hanging test model spins for seconds when its input holds "freeze". Its
// request gets 504 at the request deadline (not when the forward ends), requests queued behind it
// get 504 at theirs, /ready answers 503 naming the stall (/v2/health/ready 400) while the batch runs and 200 again once it
// returns, the stall is in /metrics and the log, and the server answers normally afterwards.
import t from 'tap';
import { spawnServer, requireBuilt, testModel, until } from '../helpers/server.mjs';
import { metrics, postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('hanging'));

const TIMEOUT_MS = 400;

t.test('a hung batch trips the request deadline and /ready; the server recovers', async (t) => {
  const s = await spawnServer(['--model', testModel('hanging'), '--request-timeout-ms', String(TIMEOUT_MS), '--workers', '1'], { t });
  const ok = await postText(s.port, 'a calm [MASK] day');
  t.equal(ok.status, 200, ok.text);
  t.equal((await request(s.port, { path: '/ready' })).status, 200, 'ready before');

  const hung = postText(s.port, 'freeze the [MASK]');
  // Wait until the hanging batch is running (in flight on the worker), then queue one behind it.
  await until(async () => (await metrics(s.port)).get('bert_serve_batch_in_flight') === 1, { what: 'the hanging batch to start' });
  const queued = postText(s.port, 'queued behind the [MASK]');

  const [h, q] = await Promise.all([hung, queued]);
  t.equal(h.status, 504, h.text);
  t.equal(h.json.error_type, 'timeout');
  t.match(h.json.error, /deadline/);
  t.equal(q.status, 504, 'the request queued behind it gets its 504 too');

  // The batch still runs: /ready says so (polled: the stall shows once the batch is older than the timeout).
  const stalled = await until(
    async () => {
      const r = await request(s.port, { path: '/ready' });
      return r.status === 503 ? r : undefined;
    },
    { what: '/ready to report the stall' },
  );
  t.equal(stalled.json.error_type, 'unhealthy');
  t.match(stalled.json.error, /a batch has been running for [\d.]+ s, longer than the request timeout \(400 ms\)/);
  const m = await metrics(s.port);
  t.ok(
    m.get('bert_serve_running_batch_seconds') > TIMEOUT_MS / 1000,
    `running batch in /metrics: ${m.get('bert_serve_running_batch_seconds')} s`,
  );
  t.ok(await s.waitLog((l) => l.level === 'warn' && l.msg === 'model stalled', 10_000), 'the stall is logged');
  t.equal((await request(s.port, { path: '/health' })).status, 200, 'liveness stays up: the process serves HTTP');
  // The Open Inference Protocol's probes say the same, with its 4xx for "not ready".
  for (const path of ['/v2/health/ready', '/v2/models/hanging/ready']) {
    const r = await request(s.port, { path });
    t.equal(r.status, 400, path);
    t.match(r.json.error, /a batch has been running for [\d.]+ s/, `${path} names the stall`);
  }
  t.equal((await request(s.port, { path: '/v2/health/live' })).status, 200, 'the protocol liveness stays up');

  // The forward returns (the fixture's spin is finite): ready again, answers as before.
  await until(async () => (await request(s.port, { path: '/ready' })).status === 200, {
    what: 'ready again after the batch returns',
    timeoutMs: 120_000,
    everyMs: 100,
  });
  t.equal((await metrics(s.port)).get('bert_serve_running_batch_seconds'), 0, 'no batch running');
  const again = await postText(s.port, 'a calm [MASK] day');
  t.equal(again.status, 200, again.text);
  t.same(again.json, ok.json, 'same answer as before the hang');
  t.equal((await s.stop()).code, 0);
});
