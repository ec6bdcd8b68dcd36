// Graceful shutdown of the real CLI: on SIGTERM every request in flight is answered 200, the
// listen socket closes, requests arriving on open keep-alive connections get 503 + Connection:
// close, the engine drains, and the process exits 0 by itself (no process.exit: idle keep-alive
// connections must not keep it alive). A drain that cannot finish in --drain-timeout-ms exits 1.
import t from 'tap';
import http from 'node:http';
import { spawnServer, requireBuilt, testModel, until } from '../helpers/server.mjs';
import { RawClient, head, metrics, postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('slow'), testModel('tiny'));

t.test('SIGTERM with requests in flight: all answered 200, new ones 503 + close, exit 0', async (t) => {
  const s = await spawnServer(['--model', testModel('slow'), '--no-warmup', '--max-batch-requests', '2'], { t });
  // A keep-alive connection that is idle when the signal comes.
  const keep = await RawClient.connect(s.port);
  await keep.send(head('GET', '/health'));
  t.equal((await keep.response()).status, 200);

  const n = 4;
  const inFlight = Array.from({ length: n }, (_, i) => postText(s.port, `request ${i} is [MASK]`));
  await until(async () => (await metrics(s.port)).get('bert_serve_pending_requests') >= n, { what: 'all requests accepted' });
  const t0 = Date.now();
  s.proc.kill('SIGTERM');
  await s.waitLog((l) => l.msg === 'draining: stopped accepting connections');

  // New connections are refused; a request on the open keep-alive connection is answered 503 + close.
  const refused = await request(s.port, { path: '/health', timeoutMs: 5000 }).then(
    () => 'answered',
    (e) => e.code,
  );
  t.equal(refused, 'ECONNREFUSED', 'listen socket closed');
  const body = 'late [MASK]';
  await keep.send(head('POST', '/', { 'Content-Length': String(body.length), 'Content-Type': 'text/plain' }) + body);
  const late = await keep.response();
  t.equal(late.status, 503);
  t.equal(late.json.error_type, 'unhealthy');
  t.equal(late.headers.connection, 'close');
  t.ok(await keep.waitClosed(), 'the keep-alive connection is closed');

  const answers = await Promise.all(inFlight);
  t.same(
    answers.map((r) => r.status),
    Array(n).fill(200),
    'every in-flight request answered 200',
  );
  for (const r of answers) t.equal(r.json.length, 5);
  const exit = await s.exited;
  t.equal(exit.code, 0, 'exit 0');
  t.ok(Date.now() - t0 < 30_000, 'within the drain timeout');
  t.ok(
    s.logs.some((l) => l.msg === 'stopped'),
    'logged "stopped"',
  );
  t.notOk(
    s.logs.some((l) => l.level === 'error'),
    'no errors',
  );
});

t.test('an idle server with idle keep-alive clients exits 0 at once on SIGTERM', async (t) => {
  const s = await spawnServer(['--model', testModel('tiny'), '--no-warmup'], { t });
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  for (let i = 0; i < 3; i++) t.equal((await request(s.port, { path: '/health', agent })).status, 200);
  t.equal((await postText(s.port, 'test [MASK]')).status, 200);
  const stop = await s.stop('SIGTERM', 20_000);
  t.equal(stop.code, 0);
  t.ok(stop.ms < 5000, `exited in ${stop.ms} ms (idle keep-alive connections did not hold it)`);
});

t.test('a drain that cannot finish within --drain-timeout-ms exits 1', async (t) => {
  const s = await spawnServer(['--model', testModel('slow'), '--no-warmup', '--max-batch-requests', '1', '--drain-timeout-ms', '50'], {
    t,
  });
  const inFlight = Array.from({ length: 6 }, (_, i) => postText(s.port, `request ${i} is [MASK]`).catch((e) => e));
  await until(async () => (await metrics(s.port)).get('bert_serve_pending_requests') >= 6, { what: 'all requests accepted' });
  const stop = await s.stop('SIGTERM', 30_000);
  t.equal(stop.code, 1, 'exit 1');
  t.ok(
    s.logs.some((l) => l.level === 'error' && /drain gave up/.test(l.msg)),
    'says it gave up',
  );
  const results = await Promise.all(inFlight);
  const statuses = results.map((r) => r.status ?? r.code);
  t.ok(
    statuses.every((x) => x === 200 || x === 503),
    `each answered, 200 or 503 (no resets): ${statuses}`,
  );
  t.ok(statuses.includes(503), 'the unfinished ones got 503');
});

t.test('a second signal stops at once: in-flight requests get 503, exit 1', async (t) => {
  const s = await spawnServer(['--model', testModel('slow'), '--no-warmup', '--max-batch-requests', '1'], { t });
  const inFlight = Array.from({ length: 6 }, (_, i) => postText(s.port, `request ${i} is [MASK]`).catch((e) => e));
  await until(async () => (await metrics(s.port)).get('bert_serve_pending_requests') >= 6, { what: 'all requests accepted' });
  s.proc.kill('SIGINT');
  await s.waitLog((l) => l.msg === 'draining: stopped accepting connections');
  const stop = await s.stop('SIGINT', 30_000);
  t.equal(stop.code, 1, `exit 1 (signal ${stop.signal})`);
  t.ok(stop.ms < 10_000, `stopped in ${stop.ms} ms`);
  t.ok(s.logs.some((l) => /received again/.test(l.msg)));
  const statuses = (await Promise.all(inFlight)).map((r) => r.status ?? r.code);
  t.ok(
    statuses.every((x) => x === 200 || x === 503),
    `each answered, 200 or 503 (no resets): ${statuses}`,
  );
});
