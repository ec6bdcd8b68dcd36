// Answer size against the real CLI and model: an amplification request (inputs x masks x top_k) is
// refused with 413 naming --max-answer-bytes; clients that request large answers and never read
// them are cut off after --send-timeout-ms and their answers released, while the server's RSS stays
// bounded and ordinary clients keep being answered.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { spawnServer, requireBuilt, testModel, until } from '../helpers/server.mjs';
import { RawClient, head, metrics, postJson, postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(testModel('tiny'), testModel('embed'));

const MIB = 1024 * 1024;
const LIMIT = 8 * MIB;
const rssBytes = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

t.test('amplification refused, non-reading clients cut off, RSS bounded, others served', async (t) => {
  // --max-predictions raised: this test is about the answer-bytes bound and the send path.
  const s = await spawnServer(
    [
      '--model',
      testModel('tiny'),
      '--max-answer-bytes',
      String(LIMIT),
      '--send-timeout-ms',
      '1000',
      '--max-predictions',
      '1000000',
      '--max-masks',
      '512',
    ],
    { t },
  );
  // Warm every path once, then take the baseline.
  const masked = (masks) => Array.from({ length: masks }, (_, i) => `w${i} [MASK]`).join(' ');
  const large = { inputs: Array(32).fill(masked(4)), parameters: { top_k: 320 } }; // about 5 MB
  const probe = await postJson(s.port, '/', large);
  t.equal(probe.status, 200, probe.text.slice(0, 200));
  const answerBytes = probe.bytes.length;
  t.ok(
    answerBytes > 4 * MIB && answerBytes < LIMIT,
    `a large answer under the limit: ${answerBytes} bytes (more than loopback buffers hold)`,
  );
  t.equal((await postText(s.port, 'test [MASK]')).status, 200);
  const baseline = rssBytes(s.pid);
  let peak = baseline;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(s.pid));
    } catch {
      /* exited */
    }
  }, 20);
  t.teardown(() => clearInterval(sampler));

  // The amplification request: 32 inputs x 4 masks x top_k 1000.
  const amp = await postJson(s.port, '/', { inputs: Array(32).fill(masked(4)), parameters: { top_k: 1000 } });
  t.equal(amp.status, 413, amp.text.slice(0, 200));
  t.equal(amp.json.error_type, 'validation');
  t.match(amp.json.error, /over the limit of 8388608 bytes \(--max-answer-bytes\)/);

  // Clients that ask for a large answer and never read.
  const N = 8;
  const body = JSON.stringify(large);
  const stalled = await Promise.all(Array.from({ length: N }, () => RawClient.connect(s.port)));
  for (const c of stalled) {
    c.socket.pause();
    await c.send(head('POST', '/', { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }) + body);
  }
  // Ordinary clients are answered meanwhile.
  for (let i = 0; i < 20; i++) {
    const r = await postText(s.port, `ordinary ${i} [MASK]`);
    t.equal(r.status, 200, `ordinary request ${i}`);
  }
  await until(async () => (await metrics(s.port)).get('bert_serve_client_closed_total', { stage: 'send' }) >= N, {
    what: 'every non-reading client to be cut off',
    timeoutMs: 30_000,
  });
  const m = await metrics(s.port);
  t.equal(m.get('bert_serve_http_in_flight'), 1, 'nothing in flight but this scrape: every held answer was released');
  clearInterval(sampler);
  const bound = baseline + N * LIMIT + 64 * MIB;
  t.ok(
    peak <= bound,
    `peak RSS ${(peak / MIB).toFixed(0)} MiB <= baseline ${(baseline / MIB).toFixed(0)} MiB + ${N} x ${LIMIT / MIB} MiB + 64 MiB`,
  );
  t.comment(
    `baseline RSS ${(baseline / MIB).toFixed(1)} MiB, peak ${(peak / MIB).toFixed(1)} MiB, after ${(rssBytes(s.pid) / MIB).toFixed(1)} MiB; answer ${answerBytes} bytes`,
  );
  for (const c of stalled) c.destroy();
  t.equal((await postText(s.port, 'after [MASK]')).status, 200, 'still serving');
  t.notOk(
    s.logs.some((l) => l.level === 'error'),
    'no errors logged',
  );
  t.equal((await s.stop()).code, 0, 'clean exit');
});

t.test('/embed_all: a vector per token, bounded before the work from the words; the exact size after', async (t) => {
  const { estimateAllTokensAnswerBytes } = await import('../../dist/server/answer_size.js');
  const LIMIT = 64 * 1024;
  const s = await spawnServer(['--model', testModel('embed'), '--max-answer-bytes', String(LIMIT)], { t });
  const hidden = JSON.parse((await request(s.port, { path: '/info' })).text).hidden_size;
  // Words of the real vocabulary, with punctuation and digits between (each at least one token).
  const WORDS = ['the', 'river', 'bank,', 'open', 'at', 'nine;', 'x1', 'museum', 'café', 'large', 'quiet', 'street.'];
  const words = (n, k) => Array.from({ length: n }, (_, i) => WORDS[(i * 7 + k) % WORDS.length]).join(' ');
  const run = () => metrics(s.port).then((m) => m.get('bert_serve_engine_requests_total'));

  // Under the limit: answered, and the estimate is below the real answer's size.
  const small = [words(40, 1)];
  const ok = await postJson(s.port, '/embed_all', { inputs: small });
  t.equal(ok.status, 200, ok.text.slice(0, 200));
  const estimate = estimateAllTokensAnswerBytes(small, hidden, 512);
  t.ok(estimate > 0 && estimate <= ok.bytes.length, `estimate ${estimate} <= real ${ok.bytes.length} bytes`);

  // Far over: refused before the engine runs (its request count does not move).
  const before = await run();
  const huge = { inputs: Array.from({ length: 8 }, (_, k) => words(300, k)), truncate: true };
  const t0 = performance.now();
  const refused = await postJson(s.port, '/embed_all', huge);
  const ms = performance.now() - t0;
  t.equal(refused.status, 413, refused.text.slice(0, 200));
  t.equal(refused.json.error_type, 'validation');
  t.match(refused.json.error, /at least \d+ bytes, over the limit of 65536 bytes \(--max-answer-bytes\); send fewer or shorter inputs/);
  t.match(refused.json.error, /POST \/embed for one pooled vector per input/);
  t.equal(await run(), before, 'nothing reached the model');
  t.comment(`refused in ${ms.toFixed(1)} ms`);

  // Over, but under the lower bound: the exact size, after the work, with the same advice.
  const middle = { inputs: Array.from({ length: 3 }, (_, k) => words(100, k)) };
  t.ok(estimateAllTokensAnswerBytes(middle.inputs, hidden, 512) <= LIMIT, 'the estimate lets it through');
  const late = await postJson(s.port, '/embed_all', middle);
  t.equal(late.status, 413, late.text.slice(0, 200));
  t.match(late.json.error, /^the answer would be \d+ bytes, over the limit of 65536 bytes \(--max-answer-bytes\); send fewer/);
  t.equal((await postJson(s.port, '/embed_all', { inputs: ['still serving'] })).status, 200);
  t.equal((await s.stop()).code, 0, 'clean exit');
});
