// HTTP fuzzing of the real server (the CLI serving the tiny test model), on the default transport
// and on uWebSockets.js where a build loads: first the committed corpus (test/long/corpus/http:
// requests that once broke something, and the hostile cases of docs/http.md), then generated
// requests (http_fuzz_cases.mjs: methods, paths, versions, header sets, framings, JSON bodies),
// each on its own connection, 24 at a time. Every request must be answered with a documented
// status and, for errors, the JSON error shape, or closed where docs/http.md says the transport
// closes; no 5xx but 503 and 504; nothing may hang past the server's timeouts; RSS stays bounded;
// the server still answers afterwards. Bounded by a case count and a time budget per transport
// (BERT_SERVE_FUZZ_CASES, BERT_SERVE_FUZZ_SECONDS); prints the seed and what it covered. A
// failing case is written to a temporary directory, ready to be added to the corpus.
import t from 'tap';
import net from 'node:net';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServer, requireBuilt, testModel, root } from '../helpers/server.mjs';
import { postText, request } from '../helpers/http.mjs';
import { generate, rng } from './http_fuzz_cases.mjs';

t.setTimeout(900_000);
requireBuilt(testModel('tiny'));

const CASES = Number(process.env.BERT_SERVE_FUZZ_CASES ?? 400);
const SECONDS = Number(process.env.BERT_SERVE_FUZZ_SECONDS ?? 90);
const SEED = Number(process.env.BERT_SERVE_FUZZ_SEED ?? Date.now() % 1e9);
const CONCURRENCY = 24;
/** Longer than every server-side bound: uWS's idle timeout (8-12 s), the upload rate (5-6 s) plus the linger (5 s). */
const HANG_MS = 30_000;
const ALLOWED = new Set([200, 204, 400, 401, 404, 405, 408, 413, 415, 422, 429, 431, 503, 504]);
const corpusDir = join(dirname(fileURLToPath(import.meta.url)), 'corpus', 'http');
const findingsDir = join(os.tmpdir(), 'bert-serve-http-fuzz-findings');

const { loadUwsBuild, UWS_BUILDS } = await import(join(root, 'dist', 'server', 'transport', 'uws.js'));
const transports = ['node', ...(UWS_BUILDS.some((b) => loadUwsBuild(b).ok) ? ['uws'] : [])];

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

const rss = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

/** Sends one case on a new connection: { status } for the first final answer, 'closed' or 'hang'. */
function send(port, c, split) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'hang' }), HANG_MS);
    s.on('error', () => {});
    s.on('connect', () => {
      if (split > 0 && split < c.bytes.length) {
        s.write(c.bytes.subarray(0, split));
        setTimeout(() => {
          if (!done) s.write(c.bytes.subarray(split));
        }, 5);
      } else s.write(c.bytes);
    });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
        if (status === 100) {
          buf = buf.subarray(end + 4);
          continue;
        } // interim: the final answer follows
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        const bodyless = c.bytes.subarray(0, 5).toString('latin1') === 'HEAD ' || status === 204;
        if (!bodyless && buf.length < end + 4 + length) return;
        const body = bodyless ? '' : buf.subarray(end + 4, end + 4 + length).toString('utf8');
        finish({ kind: 'answer', status, head, body });
        return;
      }
    });
    s.on('close', () => finish({ kind: 'closed' }));
  });
}

/** Why an outcome breaks the contract (docs/http.md), or undefined. */
function violation(transport, c, o) {
  if (o.kind === 'hang') return `no answer and no close within ${HANG_MS} ms`;
  if (o.kind === 'closed') {
    // uWS closes, without an answer, what its parser refuses (docs/http.md, "What uWebSockets.js cannot do").
    if (transport === 'uws') return undefined;
    return 'closed without an answer';
  }
  if (!ALLOWED.has(o.status)) return `status ${o.status} is not a documented answer`;
  if (o.status >= 400 && o.body !== '') {
    let json;
    try {
      json = JSON.parse(o.body);
    } catch {
      return `status ${o.status} without a JSON body: ${o.body.slice(0, 80)}`;
    }
    if (typeof json?.error !== 'string' || typeof json?.error_type !== 'string')
      return `status ${o.status} without the error shape: ${o.body.slice(0, 80)}`;
  }
  return undefined;
}

function loadCorpus() {
  return readdirSync(corpusDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const j = JSON.parse(readFileSync(join(corpusDir, f), 'utf8'));
      // `text`: readable, lines joined with \n (sent as \r\n); `base64`: exact bytes (what a finding is written as).
      const bytes = j.base64 !== undefined ? Buffer.from(j.base64, 'base64') : Buffer.from(j.text.replace(/\n/g, '\r\n'), 'latin1');
      return { bytes, note: `corpus ${f}: ${j.note}` };
    });
}

for (const transport of transports) {
  t.test(`fuzzing over HTTP, --transport ${transport} (seed ${SEED})`, async (t) => {
    // --log-level warn: no access log line per refused request (thousands of them would be read
    // from the server's stderr pipe by this process while it also drives the sockets). The port is
    // chosen here (a later --port wins over the helper's --port 0) since no "listening" line comes.
    const port = await freePort();
    const server = await spawnServer(
      [
        '--model',
        testModel('tiny'),
        '--transport',
        transport,
        '--request-timeout-ms',
        '5000',
        '--log-level',
        'warn',
        '--port',
        String(port),
      ],
      { t, waitFor: null },
    );
    for (let i = 0; (await request(port, { path: '/ready' }).catch(() => ({ status: 0 }))).status !== 200; i++) {
      if (i > 1200 || server.exitCode !== undefined) throw new Error(`server not ready: ${JSON.stringify(server.logs.slice(-3))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const baseline = rss(server.pid);
    const r = rng(SEED + (transport === 'uws' ? 1 : 0));
    const queue = [...loadCorpus()];
    const corpusSize = queue.length;
    const started = Date.now();
    let generated = 0;
    const counts = new Map();
    const findings = [];
    const next = () => {
      if (queue.length > 0) return queue.shift();
      if (generated >= CASES || Date.now() - started > SECONDS * 1000) return undefined;
      generated++;
      return generate(r);
    };
    const worker = async () => {
      for (let c = next(); c; c = next()) {
        const split = r.chance(0.2) ? 1 + r.int(c.bytes.length) : 0;
        const o = await send(port, c, split);
        const key = o.kind === 'answer' ? String(o.status) : o.kind;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        const why = violation(transport, c, o);
        if (why) findings.push({ why, note: c.note, bytes: c.bytes });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (Date.now() - started) / 1000;
    const growth = rss(server.pid) - baseline;

    const summary = [...counts]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    t.comment(
      `--transport ${transport}: ${corpusSize} corpus + ${generated} generated cases in ${seconds.toFixed(1)} s (seed ${SEED}); outcomes ${summary}; RSS +${(growth / 1048576).toFixed(1)} MiB`,
    );
    if (findings.length > 0) {
      mkdirSync(findingsDir, { recursive: true });
      for (const f of findings.slice(0, 20)) {
        const name = createHash('sha256').update(f.bytes).digest('hex').slice(0, 16);
        writeFileSync(
          join(findingsDir, `${name}.json`),
          JSON.stringify({ note: `${f.why}; ${f.note}`, base64: f.bytes.toString('base64') }, null, 1) + '\n',
        );
      }
      t.comment(`findings written to ${findingsDir} (add them to test/long/corpus/http once fixed)`);
    }
    t.same(
      findings.map((f) => `${f.why} [${f.note}]`).slice(0, 20),
      [],
      'every request answered as documented, or closed where documented',
    );
    t.ok(growth < 150 * 1048576, `RSS bounded: +${(growth / 1048576).toFixed(1)} MiB`);
    t.equal((await request(port, { path: '/health' })).status, 200, 'still serving');
    t.equal((await postText(port, 'a [MASK]')).status, 200, 'still answering inference');
  });
}
