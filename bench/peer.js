// bench/run.js stage `peer`: bert-serve against ONNX Runtime, the runtime users pick on a CPU, on
// the same weights and threads. The model is the BERT-base-sized embedding model of
// scripts/make_bench_models.py (models/bench/embed: mean pooling, random weights from a fixed seed),
// exported to ONNX by scripts/make_bench_onnx.py (torch.onnx.export, opset 14).
//
// Before anything is timed, the same texts go through both (bert-serve's embeddings, and ONNX
// Runtime's last_hidden_state mean-pooled over the same token ids) and must agree.
//
// Then rounds, because this machine's speed drifts between minutes by more than the differences
// judged (the same binary, idle, twice in a row: 42.5 then 30.3 ms): every runtime stays loaded in
// its own process (bench/lib/worker.js) and, shape by shape, each is timed for a few repeats right
// after the other (ONNX Runtime, the engine from JS float32 and int8, the server's single
// connection at batch 1), the order reversed every other round; the engine limit (engine_limit
// --method plain, the forward alone), which cannot stay loaded, runs at the end of each round at
// batch 1 and on the mix. Only one runtime runs at a time; the others wait idle (bert-serve's
// OpenMP teams sleep, OMP_WAIT_POLICY=PASSIVE, and ONNX Runtime's spinning pool is given SETTLE_MS
// to stop spinning before the next one is timed). Round 0 warms every runtime and is not kept.
// Each round gives each comparison a ratio; bench/report_peer.js decides the targets on the
// median of the rounds' ratios and shows their range. The servers at 64 connections on the mix
// (float32 and int8) alternate the same way. Once, after the rounds (not alternated, so their
// ratios carry the machine's drift): the engine limit at 32 x 16 and 32 x 128, and with
// BERT_SERVE_PACKED_LINEAR=0 (libtorch's own linear layers).
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds } from './lib/proc_cpu.js';
import { startWorker } from './lib/worker.js';
import { NATIVE_BF16, NO_BF16 } from './variants.js';

export const PEER = { dir: 'models/bench/embed', onnxDir: 'models/bench/embed-onnx', int8Dir: 'models/bench/embed-int8' };
// Repeats per round (a round's figure is their median): few, so that the rounds are many.
export const REPEATS = { '1x16': 8, '1x128': 3, '32x16': 2, '32x128': 1, mix: 1 };
const SHAPES = [
  [1, 16],
  [1, 128],
  [32, 16],
  [32, 128],
];
const SETTLE_MS = 50; // ONNX Runtime's pool spins for a moment after a run; bert-serve's teams sleep at once
// Texts both runtimes embed before timing: short and long, punctuation, a word split in pieces.
const CHECK = [
  'Hello world.',
  'The quick brown fox jumps over the lazy dog, twice!',
  'Embedding models map sentences to vectors; similar sentences land near each other in that space, which search engines use to rank documents.',
];
const CHECK_TOLERANCE = 1e-3; // largest |difference| of any embedding component (values of order 1)

const median = (v) => {
  const s = [...v].sort((a, b) => a - b),
    n = s.length;
  return n === 0 ? null : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/**
 * Where the stage's models are: under the repository, or under --peer-models DIR (models made
 * elsewhere, used read-only: nothing is made or exported there).
 */
export function peerPaths(ctx) {
  const base = ctx.peerModels ? resolve(ctx.peerModels) : join(ctx.root, 'models', 'bench');
  const show = (p) => (isAbsolute(relative(ctx.root, p)) || relative(ctx.root, p).startsWith('..') ? p : relative(ctx.root, p));
  const paths = { dir: join(base, 'embed'), int8Dir: join(base, 'embed-int8'), onnx: join(base, 'embed-onnx', 'model.onnx') };
  return { ...paths, show: Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, show(v)])) };
}

function run(ctx, script, args, label) {
  const r = spawnSync(ctx.python, [script, ...args], { cwd: ctx.root, stdio: ['ignore', 'pipe', 'pipe'] });
  const msg = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-1)[0];
  if (r.status !== 0) throw new Error(`${label}: ${ctx.python} ${script} ${args.join(' ')} failed: ${msg}`);
  if (msg) ctx.log(msg);
}

/** The models the stage needs: made when missing (the embed model takes minutes: BERT-base export). */
export function ensurePeerModels(ctx) {
  const p = peerPaths(ctx);
  if (ctx.peerModels) {
    for (const f of [join(p.dir, 'model.pt'), join(p.int8Dir, 'model.pt'), p.onnx])
      if (!existsSync(f)) throw new Error(`--peer-models: ${f} is missing (scripts/make_bench_models.py and make_bench_onnx.py make it)`);
    return;
  }
  if (!existsSync(join(p.dir, 'model.pt')) || !existsSync(join(p.int8Dir, 'model.pt'))) {
    ctx.log(`peer: making ${PEER.dir} and ${PEER.int8Dir} (scripts/make_bench_models.py --only embed: a few minutes)`);
    run(ctx, 'scripts/make_bench_models.py', ['models/bench', '--only', 'embed'], 'make_bench_models');
  }
  run(ctx, 'scripts/make_bench_onnx.py', [PEER.dir, PEER.onnxDir], 'make_bench_onnx');
}

function compare(a, b) {
  let maxAbs = 0,
    minCos = 1;
  for (let i = 0; i < a.length; i++) {
    let dot = 0,
      na = 0,
      nb = 0;
    for (let j = 0; j < a[i].length; j++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i][j] - b[i][j]));
      dot += a[i][j] * b[i][j];
      na += a[i][j] ** 2;
      nb += b[i][j] ** 2;
    }
    minCos = Math.min(minCos, dot / Math.sqrt(na * nb));
  }
  return { texts: a.length, max_abs_diff: maxAbs, min_cosine: minCos, tolerance: CHECK_TOLERANCE, equal: maxAbs <= CHECK_TOLERANCE };
}

function engineWorker(ctx, P, dir, { engineOptions = {}, corpusFile, lengthsOut = null, mixCount, check = null, label }) {
  const cfg = {
    model: dir,
    corpus: corpusFile,
    lengthsOut,
    mixCount,
    batches: [32],
    seqs: [16, 128],
    check,
    serve: true,
    engineOptions: { ...engineOptions, ...(ctx.threads ? { intraOpThreads: ctx.threads } : {}) },
  };
  return startWorker(process.execPath, [join(ctx.root, 'bench', 'engine_stage.js'), JSON.stringify(cfg)], {
    cwd: ctx.root,
    env: { OMP_WAIT_POLICY: 'PASSIVE' },
    label: `engine_stage ${label}`,
  });
}

// NaN when the process has gone (its timing then fails on its own, recorded as a stage error).
const cpuOf = (pid) => {
  try {
    return cpuSeconds(pid);
  } catch {
    return NaN;
  }
};
const line = (lines, type) => lines.find((l) => l.type === type);

// The engine limit: a fresh process per call (it cannot stay loaded). shapes: batch 1 at 16 and 128
// tokens; mix: the scheduler's own batching of the length mix (its plan is what ONNX Runtime runs).
async function limitRun(ctx, bin, dir, what, { lengthsFile, overhead, repeats, extra = [], env = {}, label }) {
  const args = ['--model', dir, ...(ctx.threads ? ['--threads', String(ctx.threads)] : []), '--method', 'plain', '--warmup', '1'];
  if (what === 'mix')
    args.push(
      ...['--no-shapes', '--mix', lengthsFile, '--mix-batch', '32', '--mix-tokens', '16384', '--mix-policy', 'cost'],
      ...['--mix-window', '256', '--mix-overhead', String(overhead)],
    );
  else args.push('--batches', what.batches.join(','), '--seqs', what.seqs.join(','));
  args.push('--target-seconds', '0', '--min-repeats', String(repeats), '--max-repeats', String(repeats), ...extra);
  return ctx.runJsonLines(bin, args, { env: { OMP_WAIT_POLICY: 'PASSIVE', ...env }, label: `engine_limit ${label}` });
}

// What the report's bounds are computed from: the encoder's linear layers' size.
function modelShape(dir) {
  try {
    const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    return { layers: c.num_hidden_layers, hidden: c.hidden_size, intermediate: c.intermediate_size };
  } catch {
    return null;
  }
}

/** n sequential POSTs of one text on one keep-alive connection: client ms and the server's own timings. */
async function lonePosts(port, text, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const post = () =>
    new Promise((resolvePost, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/', method: 'POST', agent, headers: { 'content-type': 'text/plain; charset=utf-8' } },
        (res) => {
          res.resume();
          res.on('end', () => resolvePost(res));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(text);
    });
  const ms = [],
    inference = [],
    total = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const res = await post();
      ms.push(performance.now() - t0);
      if (res.statusCode !== 200) throw new Error(`server answered ${res.statusCode} to a lone request`);
      inference.push(parseFloat(res.headers['x-inference-time']));
      total.push(parseFloat(res.headers['x-total-time']));
    }
  } finally {
    agent.destroy();
  }
  return { ms, median_ms: median(ms), inference_ms: median(inference), total_ms: median(total), repeats: n };
}

/** The whole stage; returns results.peer. Each part that fails is recorded and the rest still runs. */
export async function peerStage(ctx, P, { corpusFile, tmp, bin, fail }) {
  const paths = peerPaths(ctx);
  const t0 = Date.now();
  const R = {
    dir: paths.show.dir,
    onnx: paths.show.onnx,
    int8Dir: paths.show.int8Dir,
    method: 'rounds',
    repeats: REPEATS,
    mixCount: P.mixCount.base,
    shapes: SHAPES.map(([batch, seq]) => ({ batch, seq })),
    rounds: [],
    model: modelShape(paths.dir),
  };
  const lengthsFile = join(tmp, 'peer-lengths.txt');
  const corpus = readFileSync(corpusFile, 'utf8').split('\n').filter(Boolean);
  const bodies = corpus.slice(0, R.mixCount).map((t) => t.replace('[MASK]', 'city'));
  const workers = [];
  const servers = [];
  const attempt = async (label, fn) => {
    try {
      return await fn();
    } catch (e) {
      fail(`peer ${label}`, e);
      return null;
    }
  };
  try {
    ctx.log('peer: loading bert-serve float32 from JS (answers for the check, corpus lengths)');
    const engine = await attempt('engine', () =>
      engineWorker(ctx, P, paths.dir, { corpusFile, lengthsOut: lengthsFile, mixCount: R.mixCount, check: CHECK, label: 'fp32' }),
    );
    if (!engine || !existsSync(lengthsFile)) return R;
    workers.push(engine);
    writeFileSync(lengthsFile, readFileSync(lengthsFile, 'utf8').split('\n').filter(Boolean).slice(0, R.mixCount).join('\n') + '\n');
    R.engine = { info: line(engine.lines, 'info')?.info };
    R.lengths = line(engine.lines, 'lengths');
    const texts = line(engine.lines, 'texts')?.texts;
    const vocab = R.engine.info?.vocabSize ?? 30522;
    const overhead = R.engine.info?.batchOverheadTokens || 64;

    // The mix's batches as the scheduler's picker forms them: ONNX Runtime runs exactly these.
    let plan = null;
    if (bin) {
      const l = await attempt('limit plan', () =>
        limitRun(ctx, bin, paths.dir, 'mix', { lengthsFile, overhead, repeats: 1, label: 'plan' }),
      );
      plan = line(l ?? [], 'mix')?.plan ?? null;
      R.limit = { info: line(l ?? [], 'info') };
    }

    ctx.log('peer: loading ONNX Runtime (check against bert-serve)');
    const ort = await attempt('ort', () =>
      startWorker(
        process.execPath,
        [
          join(ctx.root, 'bench', 'ort_stage.js'),
          JSON.stringify({ onnx: paths.onnx, threads: ctx.threads, check: line(engine.lines, 'check')?.ids, vocabSize: vocab }),
        ],
        { cwd: ctx.root, label: 'ort_stage' },
      ),
    );
    if (ort) {
      workers.push(ort);
      const got = line(ort.lines, 'check')?.embeddings;
      const mine = line(engine.lines, 'check')?.embeddings;
      R.ort = { info: line(ort.lines, 'info'), agreement: got && mine ? compare(mine, got) : null };
      if (!R.ort.agreement?.equal) R.ort.skipped = "ONNX Runtime's answers differ from bert-serve's: not timed";
    }
    const ortTimed = ort && !R.ort.skipped;

    ctx.log('peer: loading bert-serve int8 (and bf16 where the CPU has it) from JS and the float32 server');
    const int8 = await attempt('int8 engine', () =>
      engineWorker(ctx, P, paths.int8Dir, { corpusFile, mixCount: R.mixCount, label: 'int8' }),
    );
    if (int8) workers.push(int8);
    R.variants = { int8: { dir: R.int8Dir, engine: int8 ? { info: line(int8.lines, 'info')?.info } : null } };
    // bf16 is the float32 directory converted at load; only on a CPU with native bf16 (elsewhere the
    // engine refuses it).
    let bf16 = null;
    if (NATIVE_BF16) {
      bf16 = await attempt('bf16 engine', () =>
        engineWorker(ctx, P, paths.dir, { engineOptions: { dtype: 'bfloat16' }, corpusFile, mixCount: R.mixCount, label: 'bf16' }),
      );
      if (bf16) workers.push(bf16);
      R.variants.bf16 = { dir: R.dir, engine: bf16 ? { info: line(bf16.lines, 'info')?.info } : null };
    } else R.variants.bf16 = { skipped: NO_BF16 };
    const server = await attempt('server', () => ctx.startServer(paths.dir, []));
    if (server) servers.push(server);
    R.server = server ? { info: server.info } : null;

    // One timing of one runtime: settle first, so that nothing else is still running.
    const timed = async (fn) => {
      await sleep(SETTLE_MS);
      return fn();
    };
    const rounds = P.peerRounds ?? 4;
    for (let r = 0; r <= rounds; r++) {
      const warm = r === 0;
      const reps = (k) => (warm ? 1 : REPEATS[k]);
      ctx.log(`peer: round ${r}/${rounds}${warm ? ' (warm-up, not kept)' : ''}`);
      const round = { round: r, ort: {}, engine: {}, engineInt8: {}, engineBf16: {}, server: {}, limit: {}, limitInt8: {} };
      const engineRunner = (w) =>
        w &&
        ((k, [b, s]) => w.request(k === 'mix' ? { op: 'mix', repeats: reps(k) } : { op: 'shape', batch: b, seq: s, repeats: reps(k) }));
      const runners = {
        ort:
          ortTimed &&
          ((k, [b, s]) =>
            ort.request(k === 'mix' ? { op: 'mix', plan, repeats: reps(k) } : { op: 'shape', batch: b, seq: s, repeats: reps(k) })),
        engine: engineRunner(engine),
        engineInt8: engineRunner(int8),
        engineBf16: engineRunner(bf16),
        server: server && ((k, [b, s]) => (b === 1 && texts?.[s] ? lonePosts(server.port, texts[s].text, reps(k)) : null)),
      };
      let order = Object.keys(runners).filter((k) => runners[k]);
      if (r % 2) order = order.reverse();
      round.order = order;
      // Each process's CPU time over its timing (all its threads; ONNX Runtime's includes its spinning):
      // what the server spends beyond the engine, whatever the waits.
      const pids = { ort: ort?.pid, engine: engine.pid, engineInt8: int8?.pid, engineBf16: bf16?.pid, server: server?.pid };
      for (const [k, shape] of [...SHAPES.map((s) => [`${s[0]}x${s[1]}`, s]), ['mix', []]]) {
        if (k === 'mix' && !plan) runners.ort = null;
        for (const who of order) {
          if (!runners[who]) continue;
          const cpu0 = cpuOf(pids[who]);
          const res = await attempt(`${who} ${k}`, () => timed(() => runners[who](k, shape)));
          if (res) {
            res.cpu_ms = ((cpuOf(pids[who]) - cpu0) * 1000) / reps(k);
            delete res.type;
            if (who === 'server') res.tokens = texts[shape[1]].tokens;
            round[who][k] = res;
          }
        }
      }
      if (bin && !warm) {
        const limits = [
          ['limit', paths.dir],
          ['limitInt8', paths.int8Dir],
        ];
        for (const [who, dir] of r % 2 ? limits.reverse() : limits) {
          const one = await attempt(`${who} batch 1`, () =>
            limitRun(ctx, bin, dir, { batches: [1], seqs: [16, 128] }, { repeats: REPEATS['1x16'], label: `${who} round ${r}` }),
          );
          for (const s of (one ?? []).filter((l) => l.type === 'shape')) round[who][`1x${s.seq}`] = s;
          const mix = await attempt(`${who} mix`, () =>
            limitRun(ctx, bin, dir, 'mix', { lengthsFile, overhead, repeats: REPEATS.mix, label: `${who} mix round ${r}` }),
          );
          const m = line(mix ?? [], 'mix');
          if (m) {
            delete m.plan;
            round[who].mix = m;
          }
          if (who === 'limitInt8' && one && !R.variants.int8.limit) R.variants.int8.limit = { info: line(one, 'info') };
        }
      }
      if (!warm) R.rounds.push(round);
    }
    for (const w of workers.splice(0)) await w.close();

    // The servers at 64 connections on the mix, float32 and int8 (and bf16) alternated.
    const variantServers = [['fp32', server]];
    for (const [key, dir, flags] of [['int8', paths.int8Dir, []], ...(bf16 ? [['bf16', paths.dir, ['--dtype', 'bfloat16']]] : [])]) {
      const s = await attempt(`${key} server`, () => ctx.startServer(dir, flags));
      if (s) servers.push(s);
      variantServers.push([key, s]);
    }
    R.serverRounds = [];
    if (server) {
      const n = P.peerServerRounds ?? 3;
      for (let r = 0; r < n; r++) {
        const row = { round: r + 1 };
        const order = variantServers.filter(([, s]) => s);
        for (const [key, s] of r % 2 ? order.reverse() : order) {
          ctx.log(`peer: server ${key}: closed loop, 64 connections, the mix (round ${r + 1}/${n})`);
          row[key] = await attempt(`server ${key} closed64`, () =>
            ctx.closedLoop(s, bodies, { connections: 64, duration: Math.max(P.closedS, 6), warmup: P.warmupS }),
          );
        }
        R.serverRounds.push(row);
      }
    }
    for (const s of servers.splice(0)) await ctx.stopServer(s);

    // Once, not alternated: the engine limit at batch 32, and with libtorch's own linear layers.
    if (bin) {
      ctx.log('peer: engine limit at batch 32 (float32, int8) and with libtorch linear layers (not alternated)');
      const big = { batches: [32], seqs: [16, 128] };
      const fp32Big = await attempt('limit batch 32', () => limitRun(ctx, bin, paths.dir, big, { repeats: 1, label: 'batch 32' }));
      const int8Big = await attempt('int8 limit batch 32', () =>
        limitRun(ctx, bin, paths.int8Dir, big, { repeats: 1, label: 'int8 batch 32' }),
      );
      const env = { BERT_SERVE_PACKED_LINEAR: '0' };
      const lt1 = await attempt('libtorch limit', () =>
        limitRun(ctx, bin, paths.dir, { batches: [1, 32], seqs: [16, 128] }, { repeats: 1, env, label: 'libtorch' }),
      );
      const ltMix = await attempt('libtorch limit mix', () =>
        limitRun(ctx, bin, paths.dir, 'mix', { lengthsFile, overhead, repeats: 1, env, label: 'libtorch mix' }),
      );
      R.once = {
        limit: (fp32Big ?? []).filter((l) => l.type === 'shape'),
        limitInt8: (int8Big ?? []).filter((l) => l.type === 'shape'),
      };
      if (lt1) {
        const m = line(ltMix ?? [], 'mix');
        if (m) delete m.plan;
        R.limitLibtorch = { info: line(lt1, 'info'), shapes: lt1.filter((l) => l.type === 'shape'), mix: m ? { cost: m } : {} };
      }
    }
    summarize(R);
    R.seconds = Math.round((Date.now() - t0) / 1000);
    return R;
  } finally {
    for (const w of workers) await w.close();
    for (const s of servers) await ctx.stopServer(s);
  }
}

/**
 * The rows the report's tables read (runtime.shapes, runtime.mix, server.single, server.closed64),
 * each the median over the rounds of the rounds' figures; the rounds themselves stay in R.rounds for
 * the per-round ratios.
 */
export function summarize(R) {
  const med = (who, k, field) => median(R.rounds.map((r) => r[who]?.[k]?.[field]).filter(Number.isFinite));
  const rows = (who, once = []) => {
    const shapes = [];
    for (const [b, s] of SHAPES) {
      const k = `${b}x${s}`;
      const n = R.rounds.filter((r) => r[who]?.[k]).length;
      if (n) shapes.push({ batch: b, seq: s, median_ms: med(who, k, 'median_ms'), seq_per_s: med(who, k, 'seq_per_s'), rounds: n });
      else {
        const o = once.find((x) => x.batch === b && x.seq === s);
        if (o) shapes.push({ ...o, once: true });
      }
    }
    const n = R.rounds.filter((r) => r[who]?.mix).length;
    const mix = n ? { pass_ms: med(who, 'mix', 'pass_ms'), seq_per_s: med(who, 'mix', 'seq_per_s'), rounds: n } : null;
    return { shapes, mix };
  };
  if (R.ort && !R.ort.skipped) Object.assign(R.ort, rows('ort'));
  if (R.engine) Object.assign(R.engine, rows('engine'));
  if (R.limit) {
    const x = rows('limit', R.once?.limit);
    R.limit.shapes = x.shapes;
    R.limit.mix = x.mix ? { cost: x.mix } : {};
  }
  const V = R.variants?.int8;
  if (V?.engine) Object.assign(V.engine, rows('engineInt8'));
  if (V?.limit) {
    const x = rows('limitInt8', R.once?.limitInt8);
    V.limit.shapes = x.shapes;
    V.limit.mix = x.mix ? { cost: x.mix } : {};
  }
  if (R.server) {
    R.server.single = [];
    for (const seq of [16, 128]) {
      const k = `1x${seq}`;
      const got = R.rounds.map((r) => r.server?.[k]).filter(Boolean);
      if (got.length)
        R.server.single.push({
          seq,
          tokens: got[0].tokens,
          rounds: got.length,
          latency_ok: { p50: med('server', k, 'median_ms') },
          server_timing_ms: { inference: { p50: med('server', k, 'inference_ms') }, total: { p50: med('server', k, 'total_ms') } },
        });
    }
  }
  // The servers' 64-connection rows: the round of median throughput.
  const medianRound = (key) => {
    const got = (R.serverRounds ?? []).map((r) => r[key]).filter((c) => Number.isFinite(c?.throughput));
    return got.sort((a, b) => a.throughput - b.throughput)[Math.floor((got.length - 1) / 2)] ?? null;
  };
  if (R.server) R.server.closed64 = medianRound('fp32');
  if (V) V.server = { closed64: medianRound('int8') };
  const B = R.variants?.bf16;
  if (B?.engine) {
    Object.assign(B.engine, rows('engineBf16'));
    B.server = { closed64: medianRound('bf16') };
  }
  return R;
}
