#!/usr/bin/env node
// Soak: a mixed load against the real server for MINUTES, reporting memory over time, answers by
// status and answers checked. `npm run bench -- --soak MINUTES` (bench/run.js hands over here).
//
//   node bench/soak.js --minutes M [--model DIR] [--rate R] [--burst-every S] [--out NAME]
//
// Load, all on 127.0.0.1, every stream open-loop (sent on a schedule, not waiting for the server):
// - normal: fill-mask texts at --rate per second (default 150), each answer checked against the
//   answer the same text got alone at the start (same top token; scores within 1e-3, batching
//   only reorders float sums);
// - hang-ups: 10 per second, a request whose client closes the connection 0-5 ms after sending;
// - bad inputs: 10 per second, one of: malformed JSON, a text over the token limit, an unsupported
//   charset, too many masks, a body over --max-body-bytes, an unknown route, a wrong method;
//   each must get exactly its documented status (or 429/503 while a burst fills the queue: a
//   refusal is decided on arrival, before the body is read);
// - overload bursts: every --burst-every seconds (default 60), 400 requests at once on their own
//   connections against --max-queue 256; each must get 200, or 429/503 (refused), nothing else.
// Memory: the server's VmRSS every 5 s, and from /metrics where it is (tensors, malloc, V8).
// "Growth after warm-up" compares the median of the samples in a window at the end of the run with
// the median of the same window right after the warm-up (the first fifth of the run, at least 60 s):
// the allocators and caches fill up during warm-up; growth after it would be a leak. The window is
// 5 minutes in a long run, and the least-squares trend after the warm-up is reported beside it
// (bench/soak_growth.js says why).
//   node bench/soak.js --rescore bench/results/NAME.json   prints both figures for an earlier run.
// The server starts as users start it (bin/bert-serve, the engine's memory policy; BERT_SERVE_MALLOC as set).
// Writes bench/results/<out>.md and .json (default soak-latest). It measures and reports; exit 1
// only when the server died or an answer was wrong or unexpected.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCorpus } from './corpus.js';
import { serverCommand } from './launch.js';
import { startCli } from './lib/cli_server.js';
import { growth, warmupEnd } from './soak_growth.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const a = { minutes: 0, model: 'models/demo', rate: 150, burstEvery: 60, out: 'soak-latest' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) fail(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--rescore') a.rescore = val();
    else if (k === '--minutes' || k === '--soak') a.minutes = Number(val());
    else if (k === '--model') a.model = val();
    else if (k === '--rate') a.rate = Number(val());
    else if (k === '--burst-every') a.burstEvery = Number(val());
    else if (k === '--out') a.out = val();
    else fail(`unknown argument ${k}`);
  }
  if (!(a.minutes > 0) && !a.rescore) fail('--minutes must be a positive number');
  if (!/^[\w.-]+$/.test(a.out)) fail('--out: letters, digits, ., _ and - only');
  return a;
}

function fail(msg) {
  process.stderr.write(
    `soak: ${msg}\nusage: node bench/soak.js --minutes M [--model DIR] [--rate R] [--burst-every S] [--out NAME]\n       node bench/soak.js --rescore FILE.json\n`,
  );
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// Where the resident memory is, from /metrics (KiB): tensors (in use and cached, the block cache),
// the process's malloc, V8's heap. The rest (code, stacks, libraries' own mappings) is RSS minus these.
const PARTS = {
  tensors: ['bert_serve_tensor_memory_in_use_bytes', 'bert_serve_tensor_memory_cached_bytes'],
  malloc: ['bert_serve_malloc_resident_bytes'],
  v8: ['nodejs_heap_size_total_bytes'],
};
function memoryParts(text) {
  const value = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return Object.fromEntries(Object.entries(PARTS).map(([k, names]) => [k, Math.round(names.reduce((sum, n) => sum + value(n), 0) / 1024)]));
}

// One request on a kept-alive agent (normal traffic) or on a fresh connection (agent false).
function send(port, { method = 'POST', path = '/', body = '', type = 'text/plain; charset=utf-8', agent, abortAfterMs } = {}) {
  return new Promise((resolve) => {
    const buf = Buffer.from(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent, headers: { 'content-type': type, 'content-length': buf.length } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => resolve({ status: 0 }));
      },
    );
    req.on('error', () => resolve({ status: 0 }));
    req.end(buf);
    if (abortAfterMs !== undefined)
      setTimeout(() => {
        req.destroy();
        resolve({ status: -1 });
      }, abortAfterMs);
  });
}

// Bad inputs and the status each must get (docs/http.md).
function badInputs(maxBodyBytes) {
  return [
    { name: 'malformed JSON', req: { body: '{"inputs": "x [MASK]"', type: 'application/json' }, status: 400 },
    { name: 'over the token limit', req: { body: `${'word '.repeat(600)}[MASK]` }, status: 413 },
    { name: 'unsupported charset', req: { body: 'x [MASK]', type: 'text/plain; charset=latin1' }, status: 415 },
    { name: 'too many masks', req: { body: '[MASK] '.repeat(100) }, status: 422 },
    { name: 'body over the limit', req: { body: 'x'.repeat(maxBodyBytes + 1) }, status: 413 },
    { name: 'unknown route', req: { path: '/nope', body: 'x' }, status: 404 },
    { name: 'wrong method', req: { method: 'DELETE', path: '/health' }, status: 405 },
  ];
}

const top = (answer) => {
  const a = JSON.parse(answer);
  return a[0];
};

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.rescore) return rescore(a.rescore);
  const maxBodyBytes = 256 * 1024;
  const [cmd, env] = serverCommand(ROOT);
  const t0 = Date.now();
  const { proc: server, port } = await startCli(
    [
      '--model',
      resolve(ROOT, a.model),
      '--log-level',
      'error',
      '--max-body-bytes',
      String(maxBodyBytes),
      '--max-masks',
      '64',
      '--max-queue',
      '256',
    ],
    { command: [cmd], env, stderr: 'inherit' },
  );
  let exited = server.exitCode === null ? null : { code: server.exitCode };
  server.on('exit', (code, signal) => {
    exited = { code, signal };
  });

  const malloc = JSON.parse((await send(port, { method: 'GET', path: '/info', agent: false })).body).malloc;

  // Expected answers: each text alone, before any load.
  const texts = makeCorpus(200, 11).map((t) => t.replace(/\n/g, ' '));
  const expected = [];
  for (const text of texts) {
    const r = await send(port, { body: text, agent: false });
    if (r.status !== 200) throw new Error(`reference answer: ${r.status} ${r.body}`);
    expected.push(top(r.body));
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const counts = { normal: {}, hangup: {}, bad: {}, burst: {} };
  const count = (kind, status) => {
    counts[kind][status] = (counts[kind][status] ?? 0) + 1;
  };
  const wrong = [];
  const noteWrong = (w) => {
    // The first few go to stderr at once, so a long run shows a problem while it happens.
    if (wrong.length < 5) process.stderr.write(`soak: unexpected: ${JSON.stringify(w).slice(0, 300)}\n`);
    wrong.push(w);
  };
  let checked = 0;
  const bad = badInputs(maxBodyBytes);
  const endAt = Date.now() + a.minutes * 60_000;
  const warmupMs = Math.max(60_000, (a.minutes * 60_000) / 5);
  const rss = [];
  const inflight = new Set();
  const track = (p) => {
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  };

  const every = (ms, fn) => {
    let next = Date.now();
    return (async () => {
      while (Date.now() < endAt && !exited) {
        fn();
        next += ms;
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
  };
  let n = 0;
  const loops = [
    every(1000 / a.rate, () => {
      const i = n++ % texts.length;
      track(
        send(port, { body: texts[i], agent }).then((r) => {
          count('normal', r.status);
          if (r.status !== 200) return;
          const got = top(r.body),
            want = expected[i];
          checked++;
          if (got.token !== want.token || Math.abs(got.score - want.score) > 1e-3) noteWrong({ text: texts[i], got, want });
        }),
      );
    }),
    every(100, () =>
      track(
        send(port, { body: texts[n % texts.length], agent: false, abortAfterMs: Math.floor(Math.random() * 6) }).then((r) =>
          count('hangup', r.status),
        ),
      ),
    ),
    every(100, () => {
      const b = bad[n % bad.length];
      track(
        send(port, { ...b.req, agent: false }).then((r) => {
          count('bad', r.status);
          // 429/503: refused on arrival during a burst, before the body is read (documented order).
          if (r.status !== b.status && r.status !== 429 && r.status !== 503)
            noteWrong({ bad: b.name, status: r.status, want: b.status, body: r.body?.slice(0, 200) });
        }),
      );
    }),
    every(a.burstEvery * 1000, () => {
      if (Date.now() - t0 < 5000) return; // not at the very start
      for (let k = 0; k < 400; k++) {
        track(
          send(port, { body: texts[k % texts.length], agent: false }).then((r) => {
            count('burst', r.status);
            if (![200, 429, 503].includes(r.status)) noteWrong({ burst: true, status: r.status, body: r.body?.slice(0, 200) });
          }),
        );
      }
    }),
    every(5000, () => {
      if (exited) return;
      const sample = { s: Math.round((Date.now() - t0) / 1000), kib: rssKiB(server.pid) };
      rss.push(sample);
      send(port, { method: 'GET', path: '/metrics', agent: false }).then((r) => {
        if (r.status === 200) Object.assign(sample, memoryParts(r.body));
      });
    }),
  ];
  const start = Date.now();
  let lastLog = start;
  while (Date.now() < endAt && !exited) {
    await sleep(1000);
    if (Date.now() - lastLog >= 60_000) {
      lastLog = Date.now();
      process.stderr.write(
        `soak: ${((Date.now() - start) / 60_000).toFixed(0)} / ${a.minutes} min, RSS ${(rss.at(-1)?.kib / 1024).toFixed(1)} MiB, checked ${checked}, wrong ${wrong.length}\n`,
      );
    }
  }
  await Promise.all(loops);
  await Promise.all([...inflight]);
  agent.destroy();
  const died = exited;
  server.kill('SIGTERM');
  await new Promise((r) => (exited ? r() : server.on('exit', r)));

  const startS = Math.round((start - t0) / 1000);
  const g = growth(rss, startS + warmupMs / 1000, Object.keys(PARTS));
  const result = {
    minutes: a.minutes,
    model: a.model,
    malloc,
    rate: a.rate,
    burstEvery: a.burstEvery,
    counts,
    checked,
    wrong: wrong.slice(0, 20),
    wrongCount: wrong.length,
    died,
    rss,
    ...g,
    rssLastKiB: rss.at(-1).kib,
    rssPeakKiB: Math.max(...rss.map((x) => x.kib)),
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', `${a.out}.json`), JSON.stringify(result, null, 1));
  writeFileSync(join(ROOT, 'bench', 'results', `${a.out}.md`), report(result));
  process.stdout.write(report(result));
  process.exit(died || wrong.length ? 1 : 0);
}

// An earlier run's JSON scored with today's estimator.
function rescore(file) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const g = growth(r.rss, warmupEnd(r), Object.keys(PARTS));
  const mib = (k) => (k / 1024).toFixed(1);
  const where =
    g.partsWarm.tensors === undefined
      ? '' // runs before /metrics had the parts
      : `; where (KiB) ${Object.keys(g.partsWarm)
          .map((k) => `${k} ${g.partsWarm[k]} -> ${g.partsEnd[k]}`)
          .join(', ')}, rest ${restOf(g.rssWarmKiB, g.partsWarm)} -> ${restOf(g.rssEndKiB, g.partsEnd)}`;
  process.stdout.write(
    `${file}: window ${g.windowS} s, ${mib(g.rssWarmKiB)} -> ${mib(g.rssEndKiB)} MiB, growth after warm-up ${g.growthAfterWarmupPct}%, trend ${g.trendAfterWarmupPct}%${where}\n`,
  );
}

const restOf = (kib, parts) => kib - Object.values(parts).reduce((a, b) => a + (b ?? 0), 0);

function report(r) {
  const mib = (k) => (k / 1024).toFixed(1);
  const statusLine = (c) =>
    Object.entries(c)
      .map(([s, v]) => `${s === '0' ? 'connection error' : s === '-1' ? 'hung up' : s}: ${v}`)
      .join(', ');
  const series = r.rss.filter((_, i) => i % Math.max(1, Math.floor(r.rss.length / 12)) === 0 || i === r.rss.length - 1);
  return `# Soak: ${r.minutes} min on ${r.model}

- server: ${r.died ? `DIED ${JSON.stringify(r.died)}` : 'ran to the end, stopped with SIGTERM'}
- malloc: ${r.malloc}
- RSS (median of ${+(r.windowS / 60).toFixed(1)} min of samples): ${mib(r.rssWarmKiB)} MiB after warm-up, ${mib(r.rssEndKiB)} MiB at the end (growth after warm-up ${r.growthAfterWarmupPct}%; least-squares trend after warm-up ${r.trendAfterWarmupPct === null ? 'too few samples' : `${r.trendAfterWarmupPct}%`}); last sample ${mib(r.rssLastKiB)} MiB, peak ${mib(r.rssPeakKiB)} MiB
- where it is (median KiB after warm-up -> at the end): ${Object.keys(r.partsWarm)
    .map((k) => `${k} ${r.partsWarm[k]} -> ${r.partsEnd[k]}`)
    .join(
      ', ',
    )}; the rest (code, stacks, libraries' own mappings) ${restOf(r.rssWarmKiB, r.partsWarm)} -> ${restOf(r.rssEndKiB, r.partsEnd)}
- normal (${r.rate}/s, answers checked against each text's answer alone): ${statusLine(r.counts.normal)}; ${r.checked} checked, ${r.wrongCount} wrong or unexpected in all streams
- hang-ups (10/s): ${statusLine(r.counts.hangup)}
- bad inputs (10/s): ${statusLine(r.counts.bad)}
- overload bursts (400 at once every ${r.burstEvery} s): ${statusLine(r.counts.burst)}

RSS over time (s: MiB): ${series.map((x) => `${x.s}: ${mib(x.kib)}`).join(', ')}
${r.wrong.length ? `\nFirst wrong answers:\n\n\`\`\`\n${r.wrong.map((w) => JSON.stringify(w)).join('\n')}\n\`\`\`\n` : ''}`;
}

main().catch((e) => {
  process.stderr.write(`soak: ${e.stack ?? e}\n`);
  process.exit(1);
});
