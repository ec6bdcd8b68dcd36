// Admission control and cancellation against the real CLI serving the slow test model: 503 while
// loading, 429 with Retry-After past --max-queue, 504 when the deadline passes before inference,
// and clients that hang up mid-body or mid-inference (their request never reaches the model, nothing
// is written to them, and the server keeps answering).
import t from 'tap';
import { spawnServer, requireBuilt, testModel, sleep, until } from '../helpers/server.mjs';
import { RawClient, head, metrics, postText, request } from '../helpers/http.mjs';

t.setTimeout(480_000);
requireBuilt(testModel('slow'), testModel('tiny'));

const slow = testModel('slow');

/** Waits until the engine is running a batch (the slow model is busy). */
const busy = (port) => until(async () => (await metrics(port)).get('bert_serve_batch_in_flight') >= 1, { what: 'a batch in flight' });
/** Waits until `n` texts are pending in the engine (queued or running). */
const pending = (port, n) =>
  until(async () => (await metrics(port)).get('bert_serve_pending_requests') >= n, { what: `${n} pending texts` });

t.test('503 while the model loads (liveness 200, readiness 503), 200 once ready', async (t) => {
  // The slow model's warm-up keeps it loading for a while after the port opens (seconds; up to 64
  // tokens: the warm-up of every length to 512 took twice as long and showed nothing more).
  const s = await spawnServer(['--model', slow, '--max-tokens', '64'], { t, waitFor: 'listening' });
  const health = await request(s.port, { path: '/health' });
  const ready = await request(s.port, { path: '/ready' });
  const post = await postText(s.port, 'test [MASK]');
  const info = await request(s.port, { path: '/info' });
  const loadedBefore = s.logs.some((l) => l.msg === 'ready');
  t.equal(health.status, 200, 'alive while loading');
  if (loadedBefore) {
    t.comment('the model loaded before the probes were answered; loading-state checks skipped');
  } else {
    t.equal(ready.status, 503);
    t.equal(ready.json.error_type, 'unhealthy');
    t.equal(post.status, 503, post.text);
    t.equal(post.json.error_type, 'unhealthy');
    t.equal(post.headers['retry-after'], '1');
    t.equal(info.status, 503);
  }
  await s.waitLog((l) => l.msg === 'ready', 120_000);
  t.equal((await request(s.port, { path: '/ready' })).status, 200, 'ready after load');
  const ok = await postText(s.port, 'test [MASK]');
  t.equal(ok.status, 200, ok.text);
  const stop = await s.stop();
  t.equal(stop.code, 0, 'clean exit');
});

t.test('429 with Retry-After past --max-queue; served again once the queue drains', async (t) => {
  // --max-waiting 0: refused at once (by default a request waits for queue room; test/unit/admission.test.mjs).
  const s = await spawnServer(['--model', slow, '--no-warmup', '--max-queue', '2', '--max-batch-requests', '1', '--max-waiting', '0'], {
    t,
  });
  const n = 8;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => postText(s.port, `item ${i} is [MASK]`)));
  const statuses = results.map((r) => r.status);
  t.ok(
    statuses.every((x) => x === 200 || x === 429),
    `only 200 and 429: ${statuses}`,
  );
  const refused = results.filter((r) => r.status === 429);
  t.ok(refused.length >= 1, `some refused (${refused.length})`);
  t.ok(statuses.filter((x) => x === 200).length >= 1, 'some served');
  for (const r of refused) {
    t.equal(r.headers['retry-after'], '1');
    t.equal(r.json.error_type, 'overloaded');
  }
  // A JSON request whose inputs would overflow the queue is refused whole, never half-run.
  const a = postText(s.port, 'busy [MASK]');
  await pending(s.port, 1);
  const batch = await request(s.port, {
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: ['x [MASK]', 'y [MASK]'] }),
  });
  t.equal(batch.status, 429, 'two inputs do not fit behind one pending text');
  t.equal((await a).status, 200);
  const m = await metrics(s.port);
  t.equal(m.get('bert_serve_http_requests_total', { route: '/', status: '429' }), refused.length + 1, '429s counted');
  const after = await postText(s.port, 'again [MASK]');
  t.equal(after.status, 200, 'served again');
  t.equal((await s.stop()).code, 0);
});

t.test('504 when the deadline passes before inference', async (t) => {
  const s = await spawnServer(['--model', slow, '--no-warmup', '--request-timeout-ms', '100', '--max-batch-requests', '1'], { t });
  // In the engine queue: wait behind a running batch until the deadline passes. On a starved
  // machine the first request itself can pass its 100 ms deadline before its batch starts (it is
  // answered 504 and nothing runs): then it is sent again, a bounded number of times.
  let first;
  for (let attempt = 1; !first; attempt++) {
    const sent = postText(s.port, 'first [MASK]');
    let settled;
    sent.then(
      (r) => {
        settled = r;
      },
      () => {},
    );
    await until(async () => settled || (await metrics(s.port)).get('bert_serve_batch_in_flight') >= 1, { what: 'a batch in flight' });
    if (settled?.status !== 504) first = sent;
    else if (attempt === 5) throw new Error('the first request passed its deadline before its batch started 5 times');
    else t.comment(`attempt ${attempt}: the first request passed its deadline before its batch started; again`);
  }
  const late = await postText(s.port, 'late [MASK]');
  const firstDone = await first;
  if (firstDone.status === 504) {
    t.comment('the slow model took over 100 ms to start the first batch; the deadline hit it too');
  } else {
    t.equal(firstDone.status, 200, 'the running request is answered');
  }
  t.equal(late.status, 504, late.text);
  t.equal(late.json.error_type, 'timeout');

  // While the body is still being read: the deadline counts from arrival.
  const inFlightBefore = (await metrics(s.port)).get('bert_serve_http_in_flight');
  const c = await RawClient.connect(s.port);
  const body = 'slow body [MASK]';
  await c.send(head('POST', '/', { 'Content-Length': String(body.length), 'Content-Type': 'text/plain' }) + body.slice(0, 5));
  await until(async () => (await metrics(s.port)).get('bert_serve_http_in_flight') > inFlightBefore, { what: 'the request to arrive' });
  // The server started this request's clock before it counted it in flight, so once 150 ms have
  // passed here its 100 ms deadline has passed there (timers never fire early): a bound, not a race.
  await sleep(150);
  await c.send(body.slice(5));
  const r = await c.response();
  t.equal(r.status, 504, 'deadline passed while the body arrived');
  c.destroy();

  await until(async () => (await metrics(s.port)).get('bert_serve_dropped_expired_total') >= 1, {
    what: 'the engine to drop the expired request before the model',
  });
  t.equal((await s.stop()).code, 0);
});

t.test('a client that hangs up mid-body: nothing runs, the server still answers', async (t) => {
  const s = await spawnServer(['--model', slow, '--no-warmup'], { t });
  const before = await metrics(s.port);
  const c = await RawClient.connect(s.port);
  await c.send(head('POST', '/', { 'Content-Length': '100', 'Content-Type': 'text/plain' }) + 'test [MA');
  await until(async () => (await metrics(s.port)).get('bert_serve_http_in_flight') >= 2, { what: 'the request being read' });
  c.destroy();
  await until(async () => (await metrics(s.port)).get('bert_serve_client_closed_total', { stage: 'body' }) >= 1, { what: 'the abort' });
  const after = await metrics(s.port);
  t.equal(after.get('bert_serve_engine_requests_total'), before.get('bert_serve_engine_requests_total'), 'nothing reached the model');
  t.equal(after.get('bert_serve_pending_requests'), 0);
  const ok = await postText(s.port, 'test [MASK]');
  t.equal(ok.status, 200, 'still answers');
  t.equal((await s.stop()).code, 0);
});

t.test(
  'a client that hangs up while queued is cancelled before the model; one that hangs up while running gets nothing written',
  async (t) => {
    const s = await spawnServer(['--model', slow, '--no-warmup', '--max-batch-requests', '1'], { t });
    const ranBefore = (await metrics(s.port)).get('bert_serve_engine_requests_total');

    // A runs; B waits behind it; B's client hangs up.
    const a = postText(s.port, 'first [MASK]');
    await busy(s.port);
    const b = await RawClient.connect(s.port);
    const body = 'queued [MASK]';
    await b.send(head('POST', '/', { 'Content-Length': String(body.length), 'Content-Type': 'text/plain' }) + body);
    await pending(s.port, 2);
    b.destroy();
    await until(async () => (await metrics(s.port)).get('bert_serve_client_closed_total', { stage: 'engine' }) >= 1, { what: 'the abort' });
    t.equal((await a).status, 200, 'A answered');
    await until(async () => (await metrics(s.port)).get('bert_serve_pending_requests') === 0, { what: 'the queue to empty' });
    let m = await metrics(s.port);
    t.equal(m.get('bert_serve_engine_requests_total') - ranBefore, 1, 'only A reached the model');
    t.equal(m.get('bert_serve_dropped_cancelled_total'), 1, 'B was dropped by the scheduler');

    // C's client hangs up while C runs: the batch finishes, nothing is written, the server goes on.
    const c = await RawClient.connect(s.port);
    await c.send(head('POST', '/', { 'Content-Length': String(body.length), 'Content-Type': 'text/plain' }) + body);
    await busy(s.port);
    c.destroy();
    await until(async () => (await metrics(s.port)).get('bert_serve_client_closed_total', { stage: 'engine' }) >= 2, {
      what: 'the second abort',
    });
    await until(async () => (await metrics(s.port)).get('bert_serve_pending_requests') === 0, { what: 'C to finish' });
    const ok = await postText(s.port, 'after [MASK]');
    t.equal(ok.status, 200, 'still answers');
    m = await metrics(s.port);
    t.equal(m.get('bert_serve_http_requests_total', { route: '/', status: '200' }), 2, 'A and the last one answered; B and C never');
    t.notOk(
      s.logs.some((l) => l.level === 'error'),
      'no errors logged',
    );
    t.equal((await s.stop()).code, 0);
  },
);
