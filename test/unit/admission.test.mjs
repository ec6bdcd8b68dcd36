// Admission over real HTTP against a fake engine (no libtorch): the queue bound answered on arrival
// from pre-built bytes, deadlines, body limits, ambiguous framing, the answer-size limit, and
// answers written with backpressure to clients that do not read. Nothing here waits on a timer
// for a condition: requests are held in the fake engine until released, and conditions are polled
// with a bound.
import t from 'tap';
import { fake, startFakeServer } from '../helpers/fake-server.mjs';
import { RawClient, head, chunk, lastChunk, postText, postJson, request, metrics } from '../helpers/http.mjs';
import { until, sleep } from '../helpers/server.mjs';

const post = (body, headers = {}) =>
  head('POST', '/', { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body)), ...headers }) + body;

t.test(
  'queue bound with no waiting (--max-waiting 0): 429 on arrival without calling the engine; a list that does not fit is refused whole',
  async (t) => {
    const s = await startFakeServer(t, { maxQueue: 2, maxWaiting: 0 });
    fake.hold = true;
    const a = postText(s.port, 'a [MASK]'),
      b = postText(s.port, 'b [MASK]');
    await until(() => fake.held.length === 2, { what: 'two held requests' });
    const submitted = fake.submitted;
    const r = await postText(s.port, 'c [MASK]');
    t.equal(r.status, 429);
    t.equal(r.headers['retry-after'], '1');
    t.same(r.json, { error: 'the server is busy (--max-queue 2 texts pending); retry later', error_type: 'overloaded' });
    t.equal(fake.submitted, submitted, 'the engine was not called');

    // On a keep-alive connection the refused body is discarded, so the connection stays usable.
    const c = await RawClient.connect(s.port);
    await c.send(post('d [MASK]'));
    t.equal((await c.response()).status, 429);
    await c.send(head('GET', '/health'));
    t.equal((await c.response()).status, 200, 'same connection, next request answered');
    c.destroy();

    fake.release();
    t.equal((await a).status, 200);
    t.equal((await b).status, 200);
    fake.hold = true;
    const one = postText(s.port, 'e [MASK]');
    await until(() => fake.held.length === 1, { what: 'one held request' });
    const list = await postJson(s.port, '/', { inputs: ['x [MASK]', 'y [MASK]'] });
    t.equal(list.status, 429, 'two inputs do not fit behind one pending text');
    fake.release();
    t.equal((await one).status, 200);
  },
);

t.test('a full queue: requests wait for room, first come first served; past --max-waiting 429 at once', async (t) => {
  const s = await startFakeServer(t, { maxQueue: 2, maxWaiting: 2 });
  fake.hold = true;
  const a = postText(s.port, 'a [MASK]'),
    b = postText(s.port, 'b [MASK]');
  await until(() => fake.held.length === 2, { what: 'two held requests' });
  const c = postText(s.port, 'c [MASK]');
  await until(() => s.waiting === 1, { what: 'c waiting' });
  const d = postText(s.port, 'd [MASK]');
  await until(() => s.waiting === 2, { what: 'd waiting' });
  const refused = await postText(s.port, 'e [MASK]');
  t.equal(refused.status, 429, 'the waiting room is full: refused at once');
  t.equal((await metrics(s.port)).get('bert_serve_waiting_requests'), 2, '/metrics shows the waiting requests');
  t.equal(fake.held.length, 2, 'the waiting requests are not in the engine');
  fake.release(); // a and b answered: c and d, in their order, take the room
  t.equal((await a).status, 200);
  t.equal((await b).status, 200);
  await until(() => fake.held.length === 2, { what: 'c and d in the engine' });
  t.same(
    fake.held.map((h) => h.text),
    ['c [MASK]', 'd [MASK]'],
    'first come, first served',
  );
  fake.hold = false;
  fake.release();
  t.equal((await c).status, 200);
  t.equal((await d).status, 200);
  t.equal(s.waiting, 0);
  t.equal(s.memory.usedBytes, 0, 'every reservation given back');
});

t.test('a waiting request: 504 at its deadline, dropped when its client goes away', async (t) => {
  const s = await startFakeServer(t, { maxQueue: 1, requestTimeoutMs: 300 });
  fake.hold = true;
  // The queue's one place is taken by a library call with no deadline, so only the waiting one's can pass.
  const a = s.engine.fillMaskJson('a [MASK]');
  await until(() => fake.held.length === 1, { what: 'a held' });
  const waiting = postText(s.port, 'b [MASK]');
  const c = await RawClient.connect(s.port);
  await c.send(post('c [MASK]'));
  await until(() => s.waiting === 2, { what: 'b and c waiting' });
  c.destroy();
  await until(() => s.waiting === 1, { what: 'c dropped when its client went away' });
  const r = await waiting;
  t.equal(r.status, 504, r.text);
  t.equal(r.json.error_type, 'timeout');
  t.equal(fake.held.length, 1, 'neither reached the engine');
  fake.release();
  t.ok((await a).body.length > 0, 'the call holding the queue is answered');
});

t.test('once the oldest waiting request has used half its deadline, the newest is admitted first (adaptive LIFO)', async (t) => {
  const s = await startFakeServer(t, { maxQueue: 1, requestTimeoutMs: 2000 });
  fake.hold = true;
  const a = s.engine.fillMaskJson('a [MASK]'); // holds the queue's one place, with no deadline
  await until(() => fake.held.length === 1, { what: 'a held' });
  const old = postText(s.port, 'old [MASK]');
  await until(() => s.waiting === 1, { what: 'old waiting' });
  const t0 = Date.now();
  await until(() => Date.now() - t0 > 1100, { what: "more than half of old's 2 s deadline to pass" });
  const young = postText(s.port, 'young [MASK]');
  await until(() => s.waiting === 2, { what: 'young waiting' });
  fake.release(1);
  await a;
  await until(() => fake.held.length === 1, { what: 'one admitted' });
  t.same(
    fake.held.map((h) => h.text),
    ['young [MASK]'],
    'the newest, which still has its time',
  );
  t.equal((await old).status, 504, 'the oldest gets its 504 at its deadline, never having cost the engine');
  fake.hold = false;
  fake.release();
  t.equal((await young).status, 200);
});

t.test('deadline: 504 when it passes while the body arrives, or while queued', async (t) => {
  const s = await startFakeServer(t, { requestTimeoutMs: 100 });
  const c = await RawClient.connect(s.port);
  const body = 'slow body [MASK]';
  await c.send(head('POST', '/', { 'Content-Length': String(body.length), 'Content-Type': 'text/plain' }) + body.slice(0, 5));
  await until(() => s.inFlight === 1, { what: 'the request to arrive' });
  // The server's clock for this request started before inFlight became 1, so once 150 ms have
  // passed here its 100 ms deadline has certainly passed there (timers never fire early).
  await sleep(150);
  await c.send(body.slice(5));
  const r = await c.response();
  t.equal(r.status, 504, r.body);
  t.equal(r.json.error_type, 'timeout');
  c.destroy();

  fake.hold = true;
  const late = postText(s.port, 'late [MASK]');
  await until(() => fake.held.length === 1, { what: 'the held request' });
  const t0 = Date.now();
  await until(() => Date.now() - t0 > 150, { what: 'the deadline to pass' });
  fake.release();
  const lr = await late;
  t.equal(lr.status, 504, lr.text);
});

t.test('body limits: 413 by Content-Length and by counting a chunked body, read by the client', async (t) => {
  const s = await startFakeServer(t, { maxBodyBytes: 4096 });
  // The whole body is sent first (as fetch and http.client do): discarded, then 413, then close.
  const c = await RawClient.connect(s.port);
  const big = 'x'.repeat(100_000);
  await c.send(post(big));
  const r = await c.response();
  t.equal(r.status, 413);
  t.equal(r.json.error_type, 'payload_too_large');
  t.match(r.json.error, /100000 bytes is over the limit of 4096 bytes \(--max-body-bytes\)/);
  t.equal(r.headers.connection, 'close');
  t.ok(await c.waitClosed(), 'closed after the answer');
  t.notOk(c.error, `no reset: ${c.error?.code}`);

  // A client that sends no body (waits, as for 100-continue) is answered once it has been idle
  // for the linger bound, then closed.
  const idle = await RawClient.connect(s.port);
  await idle.send(head('POST', '/', { 'Content-Length': '100000', 'Content-Type': 'text/plain' }));
  t.equal((await idle.response(5000)).status, 413);
  t.ok(await idle.waitClosed());

  // Chunked: counted while reading; the rest is discarded up to the last chunk, then 413.
  const ch = await RawClient.connect(s.port);
  await ch.send(head('POST', '/', { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain' }));
  for (let i = 0; i < 8; i++) await ch.send(chunk('y'.repeat(1000)));
  await ch.send(lastChunk);
  const r2 = await ch.response();
  t.equal(r2.status, 413);
  t.ok(await ch.waitClosed());
  t.notOk(ch.error, 'no reset');
  t.equal((await request(s.port, { path: '/health' })).status, 200);
});

t.test('ambiguous framing: 400 and close, never guessed', async (t) => {
  const s = await startFakeServer(t);
  const cases = {
    'two different Content-Length': 'Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde',
    'Transfer-Encoding gzip, chunked': 'Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'Transfer-Encoding twice': 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'Content-Length and Transfer-Encoding': 'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  };
  // node:http's parser refuses even identical repeated Content-Length lines (uWS: framing.ts counts them as one).
  if (s.transport === 'node') cases['two identical Content-Length'] = 'Content-Length: 8\r\nContent-Length: 8\r\n\r\nx [MASK]';
  for (const [what, rest] of Object.entries(cases)) {
    if (what === 'Content-Length and Transfer-Encoding' && s.transport === 'uws') continue; // uWS closes without an answer (docs/http.md)
    const c = await RawClient.connect(s.port);
    await c.send(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n${rest}`);
    const r = await c.response();
    t.equal(r.status, 400, what);
    t.equal(r.json.error_type, 'malformed');
    t.match(r.json.error, /ambiguous request framing/);
    t.equal(r.headers.connection, 'close', `${what}: Connection: close`);
    t.ok(await c.waitClosed(), `${what}: closed`);
  }
  t.equal(fake.submitted, 0, 'none of them reached the engine');
  if (s.transport === 'uws') {
    const same = await RawClient.connect(s.port);
    await same.send('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nContent-Length: 8\r\n\r\nx [MASK]');
    t.equal((await same.response()).status, 200, 'identical Content-Length lines are one');
    same.destroy();
  }
});

t.test('answer size: 413 naming --max-answer-bytes when the answer is over it', async (t) => {
  const s = await startFakeServer(t, { maxAnswerBytes: 2048 });
  fake.answer = () => Buffer.from(JSON.stringify([{ sequence: 'z'.repeat(4000) }]));
  const r = await postText(s.port, 'x [MASK]');
  t.equal(r.status, 413);
  t.equal(r.json.error_type, 'validation');
  t.match(r.json.error, /over the limit of 2048 bytes \(--max-answer-bytes\)/);
  fake.answer = () => Buffer.from('[1]');
  t.equal((await postText(s.port, 'x [MASK]')).status, 200);
});

t.test('large answers: written as the client reads; a client that stops reading is cut off', async (t) => {
  // 1.5 s without progress: far above a reading client's pauses on a loaded machine (300 ms once cut
  // the reading client off at load 12-15: its garbage collection of the 24 MB it had read), and still
  // a short wait for the client that never reads.
  const s = await startFakeServer(t, { maxAnswerBytes: 64 << 20, sendTimeoutMs: 1500 });
  const size = 24 << 20; // more than the loopback socket buffers hold
  const answer = Buffer.alloc(size, 'a');
  answer[0] = 0x5b;
  answer[size - 1] = 0x5d;
  fake.answer = () => answer;

  // A reading client gets every byte.
  const ok = await postText(s.port, 'x [MASK]');
  t.equal(ok.status, 200);
  t.equal(ok.bytes.length, size);
  t.ok(ok.bytes.equals(answer), 'byte for byte');

  // A client that never reads: cut off after --send-timeout-ms without progress.
  const c = await RawClient.connect(s.port);
  c.socket.pause();
  await c.send(post('x [MASK]'));
  await until(async () => (await metrics(s.port)).get('bert_serve_client_closed_total', { stage: 'send' }) === 1, {
    what: 'the stalled answer to be cut off',
    timeoutMs: 20_000,
  });
  t.equal(s.inFlight, 0, 'nothing in flight: the answer was released');
  c.socket.resume(); // a paused socket sees the close only once it reads
  await c.waitClosed(5000);
  t.ok(c.buf.length < size, `the client got part of it (${c.buf.length} bytes) and then the connection closed`);
  t.equal((await postText(s.port, 'x [MASK]')).status, 200, 'others are still answered');
});

t.test('pipelined requests answered synchronously are answered in order', async (t) => {
  const s = await startFakeServer(t);
  const c = await RawClient.connect(s.port);
  await c.send(head('GET', '/health') + head('GET', '/ready') + head('GET', '/nope'));
  t.same([(await c.response()).status, (await c.response()).status, (await c.response()).status], [200, 200, 404]);
  c.destroy();
});

t.test(
  'a request pipelined behind an inference request: uWS closes the connection and nothing runs; node:http answers both in order',
  async (t) => {
    const s = await startFakeServer(t);
    fake.hold = true;
    const c = await RawClient.connect(s.port);
    await c.send(post('x [MASK]') + head('GET', '/health'));
    if (s.transport === 'node') {
      // node:http reads the next request only after the previous answer: it waits in the socket.
      await until(() => fake.held.length === 1, { what: 'the held request' });
      fake.release();
      t.same([(await c.response()).status, (await c.response()).status], [200, 200], 'both answered, in order');
      t.notOk(c.isClosed, 'the connection stays open');
      c.destroy();
      return;
    }
    // uWS refuses "async pipelining": a new request while a response is pending closes the
    // connection (documented in docs/http.md). What bert-serve guarantees is that it costs nothing.
    t.ok(await c.waitClosed(), 'closed by uWS');
    t.equal(c.buf.length, 0, 'nothing answered');
    await until(() => s.inFlight === 0, { what: 'the aborted request to end' });
    // The POST was complete, so it was submitted; the close cancelled it before it could run.
    t.equal(fake.held.length, 0, 'nothing left queued');
    t.equal(s.engine.stats().droppedCancelled, 1, 'cancelled before the model');
    fake.hold = false;
    t.equal((await postText(s.port, 'x [MASK]')).status, 200, 'still serving');
  },
);

t.test('requests node:http refuses before a route: answered in the JSON error shape, connection closed', async (t) => {
  const s = await startFakeServer(t);
  if (s.transport !== 'node') {
    // uWS answers none of these (docs/http.md; measured by bench/http_probe.js).
    t.pass('node:http only');
    return;
  }
  const refused = async (raw, what) => {
    const c = await RawClient.connect(s.port);
    await c.send(raw);
    const r = await c.response();
    t.ok(await c.waitClosed(), `${what}: closed`);
    return r;
  };
  const big = await refused(head('GET', '/health', { 'X-Big': 'a'.repeat(20 * 1024) }), 'head over 16 KiB');
  t.equal(big.status, 431);
  t.same(big.json, { error: 'the request head is over 16384 bytes', error_type: 'request_header_fields_too_large' });
  const garbage = await refused('GARBAGE\r\n\r\n', 'malformed request line');
  t.equal(garbage.status, 400);
  t.equal(garbage.json.error_type, 'malformed');
  t.match(garbage.json.error, /^malformed request/);
  // Just under the limit, in many segments (uWS keeps 4 KiB of a split head): accepted.
  const c = await RawClient.connect(s.port);
  const ok = head('GET', '/health', { 'X-Big': 'a'.repeat(15 * 1024) });
  for (let i = 0; i < ok.length; i += 1000) await c.send(ok.slice(i, i + 1000));
  t.equal((await c.response()).status, 200, 'a 15 KiB head split across writes');
  // HTTP/1.0 is served (uWS does not answer it), and the connection closed after the answer.
  await c.send('GET /health HTTP/1.0\r\n\r\n');
  const old = await c.response();
  t.equal(old.status, 200, 'HTTP/1.0');
  t.ok(await c.waitClosed(), 'HTTP/1.0 without keep-alive: closed after the answer');
  // A head that stops halfway: 408 once headersTimeout (10 s, checked every second) has passed.
  const stalled = await RawClient.connect(s.port);
  const t0 = Date.now();
  await stalled.send('GET /health HTTP/1.1\r\nHost: x\r\n');
  const late = await stalled.response(20_000);
  t.equal(late.status, 408);
  t.equal(late.json.error_type, 'timeout');
  t.ok(Date.now() - t0 >= 9_000, `not before the 10 s bound (${Date.now() - t0} ms)`);
  t.ok(await stalled.waitClosed(), 'closed');
  t.equal(fake.submitted, 0, 'nothing reached the engine');
});

t.test("the gate's one sweep timer: each waiter leaves at its own deadline, never before, in deadline order", async (t) => {
  const { Gate } = await import('../../dist/server/gate.js');
  const { AnswerMemory } = await import('../../dist/server/answer_memory.js');
  const gate = new Gate(new AnswerMemory(1e9), 100);
  const engine = { pending: 1, options: { maxQueue: 1 } }; // full: every request waits
  const t0 = performance.now();
  const left = [];
  const wait = (name, deadlineMs, onGone = () => {}) =>
    Promise.resolve(gate.admit(engine, 1, 0, deadlineMs, onGone)).then((a) => {
      left.push({ name, a, ms: performance.now() - t0, deadlineMs });
      return a;
    });
  // Out of deadline order on purpose: the sweep re-arms for the earliest, wherever it stands.
  const late = wait('late', 90);
  const early = wait('early', 30);
  let hangUp;
  const gone = wait('gone', 60, (fn) => (hangUp = fn));
  const patient = wait('patient', Infinity);
  t.equal(gate.waiting, 4);
  hangUp();
  t.equal(await gone, 'gone', 'a client that goes away leaves at once');
  t.equal(await early, 'timeout');
  t.equal(await late, 'timeout');
  for (const w of left.filter((l) => l.a === 'timeout'))
    t.ok(w.ms >= w.deadlineMs - 1, `${w.name} left after ${w.ms.toFixed(1)} ms, not before its ${w.deadlineMs} ms deadline`);
  t.same(
    left.map((l) => l.name),
    ['gone', 'early', 'late'],
    'in deadline order',
  );
  t.equal(gate.waiting, 1, 'the one without a deadline still waits');
  engine.pending = 0;
  gate.answered();
  t.equal(await patient, 'go', 'and is admitted when room opens');
  t.equal(gate.waiting, 0);
});

t.test('access log under an overload: the first overload answers of a second get a line each, the rest one count', async (t) => {
  const { AccessLog, OVERLOAD_LINES_PER_SECOND } = await import('../../dist/server/access_log.js');
  const { Logger } = await import('../../dist/logger.js');
  const lines = [];
  const log = new AccessLog(new Logger({ level: 'info', format: 'json', write: (l) => lines.push(JSON.parse(l)) }), 0);
  const ex = (i) => ({ requestId: `r${i}`, method: 'POST', url: '/', stage: 'engine' });
  for (let i = 0; i < 50; i++) log.ended(ex(i), i % 2 ? 504 : 429, 1);
  log.ended(ex('bad'), 422, 1);
  log.ended(ex('ok'), 200, 1); // sampled out (0)
  t.equal(lines.filter((l) => l.msg === 'request' && l.status >= 429).length, OVERLOAD_LINES_PER_SECOND, 'overload lines, up to the rate');
  t.ok(
    lines.some((l) => l.msg === 'request' && l.status === 422),
    'other errors keep their line',
  );
  log.flush();
  const summary = lines.filter((l) => l.msg === 'overload answers');
  t.equal(summary.length, 1, 'one line for the rest');
  t.same(summary[0].not_logged_one_by_one, { 429: 15, 504: 15 });
  log.flush();
  t.equal(lines.filter((l) => l.msg === 'overload answers').length, 1, 'nothing more to count');
});

t.test("two models' gates share the memory budget, each keeping a floor the other cannot take", async (t) => {
  const { Gate } = await import('../../dist/server/gate.js');
  const { AnswerMemory } = await import('../../dist/server/answer_memory.js');
  const memory = new AnswerMemory(1000);
  const a = new Gate(memory, 10);
  const b = new Gate(memory, 10);
  t.equal(memory.floorBytes, 250, 'budget / (2 x models)');
  const room = { pending: 0, options: { maxQueue: 100 } };
  const never = () => {};
  for (let i = 0; i < 3; i++) t.equal(a.admit(room, 1, 250, Infinity, never), 'go', `a's reservation ${i + 1} of 250 bytes`);
  t.equal(a.heldBytes, 750);
  const late = a.admit(room, 1, 1, Infinity, never);
  t.not(late, 'go', "a past budget - b's floor waits");
  t.ok(a.overBudget, 'a is over its budget: its next arrivals are refused before their body is read');
  t.notOk(b.overBudget, 'b is not');
  t.equal(b.admit(room, 1, 250, Infinity, never), 'go', "b's floor is there at once");
  t.equal(memory.usedBytes, 1000);
  b.release(250);
  t.equal(a.waiting, 1, "b's bytes given back are still its floor: a keeps waiting");
  a.release(250);
  t.equal(await late, 'go', 'a waiter is admitted when its own model gives bytes back');
  t.equal(a.heldBytes, 501);
  const more = a.admit(room, 1, 400, Infinity, never);
  t.not(more, 'go', "b's floor still kept");
  memory.leave(b);
  t.equal(memory.floorBytes, 0, 'one model left: no floor');
  t.equal(await more, 'go', "b no longer served: its floor goes to a's waiters at once");
});
