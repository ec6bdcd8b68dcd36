#!/usr/bin/env node
// Fair sharing between models in one process (issue 23, point 2): model A flooded, model B on light
// traffic, one server serving both (--model a=DIR --model b=DIR; they share one thread budget).
//
//   node bench/fairness.js [--dist DIR] [--a DIR] [--b DIR] [--seconds S] [--rounds N]
//                          [--b-rate R] [--capacity C] [--variants fair,uncapped,cap:N,...]
//                          [--a-min-words W]
//
// Texts: bench/corpus.js's (lengths as users send them, median 20 words); A gets those of at least
// --a-min-words words (default 0: all), so that its batches can be made long: then A's capacity in
// requests/s is lower and the HTTP front end's share of the work smaller, and what B waits for is
// mostly A's batches.
// Per server variant (default: `fair`, the defaults; `uncapped`, --fair-batch-tokens equal to
// --max-batch-tokens: the same fair lease order without the batch cap; `cap:N`, --fair-batch-tokens
// N; `uws`, --transport uws (whose refusals cost the JS thread less); `no-waiting`, --max-waiting 0
// (A's excess refused with 429 at once instead of waiting for room until its 504); `split`,
// --lease-split (A's running batch gives B's waiting batch a thread at its next operator; the
// default since 2026-12-08); `no-split`, --no-lease-split (B's batch waits for A's whole batch);
// joined with `+`,
// and what the bench does around the server: `gen-nice`, A's load generator at nice
// 19, so that the CPU it takes on this machine goes to the server first; `js-nice:N`, the server's
// JS thread (its main thread only: the engine threads, started at load, keep nice 0) reniced to N
// once ready, so that its HTTP work for A's flood yields to the engine threads); `engine-nice:N`, every
// other thread of the server (the engine's workers and their OpenMP teams, started at load; also
// libuv's and V8's helpers, which do little here) reniced to N once ready (N < 0 needs root), the
// same split from the other side: the engine threads ahead of the JS thread and of the load
// generators, which keep nice 0), on a fresh server with
// --max-queue 64 --request-timeout-ms 1000 (as bench/goodput.js: goodput is answers within the
// deadline):
//   capacity  A's capacity alone: the 200/s it answers when offered far more (8x a first probe's
//             answered rate), measured once (or --capacity C);
// then `rounds` rounds, the variants interleaved (A, B, A, B, ...: the machine is shared, so a
// ratio is taken within its round and the medians are reported), each round on each variant:
//   B alone   B offered --b-rate/s (default 20, Poisson: about one request at a time), A idle;
//   A alone   A offered 4x its capacity, B idle;
//   shared    both at once, as offered alone.
// Printed: B's p99 shared / alone (target <= 2) and A's goodput shared / alone (target >= 0.8), per
// round and as medians, with the load average before and after and at each shared run, and the
// cores (CPU seconds per second, /proc) A's load generator, the server's JS thread and the server's
// other threads used while shared. B's p99 is the client's (from the
// scheduled send to the answer); its server-side part (x-total-time: arrival to answer written,
// so without the client's and the kernel's share) is printed beside it, and its parts: the engine queue,
// the wait for the shared threads (x-thread-wait-time: the A batches B's batch waited behind, and how
// many of B's answers waited >= 1 ms at all) and the inference (B's own forward, after the wait).
// Bounded: every run is `seconds`
// long (default 5) after 1 s of warm-up; open loop (bench/loadgen.js), so the offered load does not
// slow down when the server does.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCorpus } from './corpus.js';
import { startCli } from './lib/cli_server.js';
import { arg } from './lib/args.js';
import { statCpuSeconds } from './lib/proc_cpu.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(arg('dist', join(ROOT, 'dist')));
const modelA = resolve(arg('a', join(ROOT, 'models', 'demo')));
const modelB = resolve(arg('b', join(ROOT, 'models', 'demo')));
const seconds = Number(arg('seconds', 5));
const rounds = Number(arg('rounds', 3));
const bRate = Number(arg('b-rate', 20));
const variants = arg('variants', 'fair,uncapped').split(',');
let capacity = arg('capacity') ? Number(arg('capacity')) : undefined;
const log = (m) => process.stderr.write(`[fairness] ${m}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r3 = (x) => Math.round(x * 1000) / 1000;

/** A variant's server flags, A's load generator's nice and the server JS thread's nice. */
const variantOf = (v) => {
  const out = { flags: [], genNice: 0, jsNice: 0, engineNice: 0 };
  for (const part of v.split('+')) {
    if (part === 'fair') continue;
    else if (part === 'uncapped') out.flags.push('--fair-batch-tokens', '16384', '--max-batch-tokens', '16384');
    else if (/^cap:\d+$/.test(part)) out.flags.push('--fair-batch-tokens', part.slice(4));
    else if (part === 'uws') out.flags.push('--transport', 'uws');
    else if (part === 'no-waiting') out.flags.push('--max-waiting', '0');
    else if (part === 'split') out.flags.push('--lease-split');
    else if (part === 'no-split') out.flags.push('--no-lease-split');
    else if (part === 'gen-nice') out.genNice = 19;
    else if (/^js-nice:\d+$/.test(part)) out.jsNice = Number(part.slice(8));
    else if (/^engine-nice:-?\d+$/.test(part)) out.engineNice = Number(part.slice(12));
    else
      throw new Error(
        `unknown variant ${v} (known, joined with +: fair, uncapped, cap:N, uws, no-waiting, split, no-split, gen-nice, js-nice:N, engine-nice:N)`,
      );
  }
  return out;
};
for (const v of variants) variantOf(v);

const tmp = mkdtempSync(join(os.tmpdir(), 'bert-serve-fairness-'));
const aMinWords = Number(arg('a-min-words', 0));
const texts = (await makeCorpus(2000)).map((t) => t.text ?? t);
const corpusB = join(tmp, 'corpus-b.txt');
const corpusA = join(tmp, 'corpus-a.txt');
writeFileSync(corpusB, texts.slice(0, 500).join('\n') + '\n');
const textsA = texts.filter((t) => t.split(/\s+/).length >= aMinWords).slice(0, 500);
writeFileSync(corpusA, textsA.join('\n') + '\n');

/** One open-loop run of bench/loadgen.js against `path` (at `nice` when > 0); resolves with its summary. */
function load(port, path, rate, seed, nice = 0) {
  const corpus = path === '/models/a' ? corpusA : corpusB;
  return new Promise((res, rej) => {
    const argv = [
      process.execPath,
      join(ROOT, 'bench', 'loadgen.js'),
      JSON.stringify({ port, path, rate, duration: seconds, warmup: 1, corpus, timeoutMs: 10_000, seed }),
    ];
    const [cmd, ...args] = nice > 0 ? ['nice', '-n', String(nice), ...argv] : argv;
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').pop())) : rej(new Error(`loadgen exited ${code}`))));
  });
}
/** CPU seconds the server has used (/proc/PID/task/TID/stat), its JS thread (TID = PID) apart from the rest (engine, libuv, V8's helpers). */
function serverCpu(pid) {
  const cpu = { js: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      cpu[tid === String(pid) ? 'js' : 'other'] += statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return cpu;
}
const p99 = (r) => r.latency_ok_from_schedule?.p99 ?? NaN;
const serverP99 = (r) => r.server_timing_ms?.total?.p99 ?? NaN;
/**
 * Where B's time went on the server, p99 of each part (ms): in the engine's queue, waiting for the
 * shared threads (and its median, and how many answers waited >= 1 ms), in the model.
 */
const parts = (r) => ({
  queue: r.server_timing_ms?.queue?.p99 ?? NaN,
  threadWait: r.server_timing_ms?.thread_wait?.p99 ?? NaN,
  threadWaitP50: r.server_timing_ms?.thread_wait?.p50 ?? NaN,
  threadWaited: r.thread_waited ?? NaN,
  answered: r.ok,
  inference: r.server_timing_ms?.inference?.p99 ?? NaN,
});

const servers = {};
try {
  for (const v of variants) {
    servers[v] = await startCli(
      [
        '--model',
        `a=${modelA}`,
        '--model',
        `b=${modelB}`,
        '--log-level',
        'warn',
        '--max-queue',
        '64',
        '--request-timeout-ms',
        '1000',
        ...variantOf(v).flags,
      ],
      { dist, readyTimeoutMs: 120_000 },
    );
    // setpriority on the PID moves its main thread only (Linux nice is per thread); the engine threads
    // were started at load, before this, with nice 0.
    const { jsNice, engineNice } = variantOf(v);
    const { pid } = servers[v].proc;
    if (jsNice > 0) execFileSync('renice', ['-n', String(jsNice), '-p', String(pid)], { stdio: 'ignore' });
    if (engineNice !== 0) {
      const others = readdirSync(`/proc/${pid}/task`).filter((tid) => tid !== String(pid));
      execFileSync('renice', ['-n', String(engineNice), '-p', ...others], { stdio: 'ignore' });
    }
  }
  const loadBefore = os.loadavg();
  if (capacity === undefined) {
    const first = servers[variants[0]];
    const probe = await load(first.port, '/models/a', 400, 1);
    const flood = await load(first.port, '/models/a', Math.max(400, Math.round(8 * probe.ok_rate)), 2);
    capacity = Math.round(flood.ok_rate);
    log(`A's capacity alone: ${capacity}/s (answered 200 when offered ${Math.max(400, Math.round(8 * probe.ok_rate))}/s)`);
  }
  const aRate = 4 * capacity;
  const results = Object.fromEntries(variants.map((v) => [v, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const v of variants) {
      const { port } = servers[v];
      const { genNice } = variantOf(v);
      const seed = round * 10;
      const bAlone = await load(port, '/models/b', bRate, seed + 1);
      const aAlone = await load(port, '/models/a', aRate, seed + 2, genNice);
      const loadStart = os.loadavg()[0];
      const cpu0 = serverCpu(servers[v].proc.pid);
      const t0 = performance.now();
      const [aShared, bShared] = await Promise.all([
        load(port, '/models/a', aRate, seed + 2, genNice),
        load(port, '/models/b', bRate, seed + 1),
      ]);
      const wall = (performance.now() - t0) / 1000;
      const cpu1 = serverCpu(servers[v].proc.pid);
      // Cores each part used while shared: who took the CPU from B's batches.
      const cores = {
        loadgenA: r3(aShared.client_cpu_s / wall),
        serverJs: r3((cpu1.js - cpu0.js) / wall),
        serverOther: r3((cpu1.other - cpu0.other) / wall),
      };
      const r = {
        round,
        bP99AloneMs: p99(bAlone),
        bP99SharedMs: p99(bShared),
        bP99Ratio: r3(p99(bShared) / p99(bAlone)),
        bServerP99AloneMs: serverP99(bAlone),
        bServerP99SharedMs: serverP99(bShared),
        bPartsAlone: parts(bAlone),
        bPartsShared: parts(bShared),
        bRefusedShared: bShared.recorded - bShared.ok,
        aGoodputAlone: r3(aAlone.ok_rate),
        aGoodputShared: r3(aShared.ok_rate),
        aGoodputRatio: r3(aShared.ok_rate / aAlone.ok_rate),
        aStatusShared: aShared.status,
        coresShared: cores,
        load1: loadStart,
      };
      results[v].push(r);
      log(
        `round ${round} ${v}: B p99 ${r.bP99AloneMs} -> ${r.bP99SharedMs} ms (${r.bP99Ratio}x, ${r.bRefusedShared} not 200; ` +
          `server-side ${r.bServerP99AloneMs} -> ${r.bServerP99SharedMs} ms, of which engine queue ${r.bPartsAlone.queue} -> ` +
          `${r.bPartsShared.queue} ms, thread wait ${r.bPartsAlone.threadWait} -> ${r.bPartsShared.threadWait} ms (median ` +
          `${r.bPartsShared.threadWaitP50} ms; ${r.bPartsShared.threadWaited} of ${r.bPartsShared.answered} answers waited >= 1 ms) ` +
          `and inference ${r.bPartsAlone.inference} -> ${r.bPartsShared.inference} ms); ` +
          `A goodput ${r.aGoodputAlone} -> ${r.aGoodputShared}/s (${r.aGoodputRatio}x); cores while shared: A's load generator ` +
          `${cores.loadgenA}, server JS thread ${cores.serverJs}, server's other threads ${cores.serverOther}; load average ${r.load1.toFixed(2)}`,
      );
    }
  }
  const summary = Object.fromEntries(
    variants.map((v) => {
      const rs = results[v];
      return [
        v,
        {
          bP99AloneMs: median(rs.map((r) => r.bP99AloneMs)),
          bP99SharedMs: median(rs.map((r) => r.bP99SharedMs)),
          bP99Ratio: median(rs.map((r) => r.bP99Ratio)),
          bServerP99AloneMs: median(rs.map((r) => r.bServerP99AloneMs)),
          bServerP99SharedMs: median(rs.map((r) => r.bServerP99SharedMs)),
          bQueueP99AloneMs: median(rs.map((r) => r.bPartsAlone.queue)),
          bQueueP99SharedMs: median(rs.map((r) => r.bPartsShared.queue)),
          bThreadWaitP99AloneMs: median(rs.map((r) => r.bPartsAlone.threadWait)),
          bThreadWaitP99SharedMs: median(rs.map((r) => r.bPartsShared.threadWait)),
          bThreadWaitP50SharedMs: median(rs.map((r) => r.bPartsShared.threadWaitP50)),
          bThreadWaitedShared: rs.reduce((n, r) => n + r.bPartsShared.threadWaited, 0),
          bAnsweredShared: rs.reduce((n, r) => n + r.bPartsShared.answered, 0),
          bInferenceP99AloneMs: median(rs.map((r) => r.bPartsAlone.inference)),
          bInferenceP99SharedMs: median(rs.map((r) => r.bPartsShared.inference)),
          aGoodputAlone: median(rs.map((r) => r.aGoodputAlone)),
          aGoodputShared: median(rs.map((r) => r.aGoodputShared)),
          aGoodputRatio: median(rs.map((r) => r.aGoodputRatio)),
          bNot200Shared: rs.reduce((n, r) => n + r.bRefusedShared, 0),
          coresShared: Object.fromEntries(['loadgenA', 'serverJs', 'serverOther'].map((k) => [k, median(rs.map((r) => r.coresShared[k]))])),
        },
      ];
    }),
  );
  for (const [v, s] of Object.entries(summary)) {
    log(
      `${v} (median of ${rounds}): B p99 ${s.bP99AloneMs} -> ${s.bP99SharedMs} ms = ${s.bP99Ratio}x (target <= 2; server-side ` +
        `${s.bServerP99AloneMs} -> ${s.bServerP99SharedMs} ms; engine queue ${s.bQueueP99AloneMs} -> ${s.bQueueP99SharedMs} ms, ` +
        `thread wait ${s.bThreadWaitP99AloneMs} -> ${s.bThreadWaitP99SharedMs} ms (median ${s.bThreadWaitP50SharedMs} ms; ` +
        `${s.bThreadWaitedShared} of ${s.bAnsweredShared} answers waited >= 1 ms), ` +
        `inference ${s.bInferenceP99AloneMs} -> ${s.bInferenceP99SharedMs} ms); A goodput ${s.aGoodputAlone} -> ${s.aGoodputShared}/s = ${s.aGoodputRatio}x ` +
        `(target >= 0.8); B answers not 200 while shared: ${s.bNot200Shared}; cores while shared: A's load generator ` +
        `${s.coresShared.loadgenA}, server JS thread ${s.coresShared.serverJs}, other server threads ${s.coresShared.serverOther}`,
    );
  }
  console.log(
    JSON.stringify({
      // Relative to the repository, so a saved result names no path of the machine it ran on.
      modelA: relative(ROOT, modelA),
      modelB: relative(ROOT, modelB),
      seconds,
      rounds,
      bRate,
      aMinWords,
      aTexts: textsA.length,
      capacity,
      aRate,
      loadBefore,
      loadAfter: os.loadavg(),
      summary,
      results,
    }),
  );
} finally {
  for (const s of Object.values(servers)) await s.stop();
  rmSync(tmp, { recursive: true, force: true });
}
