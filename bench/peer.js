// bench/run.js stage `peer`: bert-serve against ONNX Runtime, the runtime users pick on a CPU, on
// the same weights and threads. The model is the BERT-base-sized embedding model of
// scripts/make_bench_models.py (models/bench/embed: mean pooling, random weights from a fixed seed),
// exported to ONNX by scripts/make_bench_onnx.py (torch.onnx.export, opset 14).
//
// Before anything is timed, the same texts go through both (bert-serve's embeddings, and ONNX
// Runtime's last_hidden_state mean-pooled over the same token ids) and must agree. Then, one at a
// time (never two runtimes at once):
//   ONNX Runtime (bench/ort_stage.js): batch x seq 1x16, 1x128, 32x16, 32x128 and the length mix;
//   bert-serve's engine limit (engine_limit --method plain: forward only) at the same shapes and mix,
//     also with BERT_SERVE_PACKED_LINEAR=0 (libtorch's own linear layers: the engine before its
//     packed kernels), and int8 / bf16;
//   bert-serve's engine from JS (bench/engine_stage.js, embedJson) at the same shapes and mix;
//   the HTTP server: single-connection latency at 16 and 128 tokens, and 64 connections on the mix.
// bench/report_peer.js renders the rows and the targets.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NATIVE_BF16, NO_BF16 } from './variants.js';

export const PEER = { dir: 'models/bench/embed', onnxDir: 'models/bench/embed-onnx', int8Dir: 'models/bench/embed-int8' };
const BATCHES = [1, 32];
const SEQS = [16, 128];
// Texts both runtimes embed before timing: short and long, punctuation, a word split in pieces.
const CHECK = [
  'Hello world.',
  'The quick brown fox jumps over the lazy dog, twice!',
  'Embedding models map sentences to vectors; similar sentences land near each other in that space, which search engines use to rank documents.',
];
const CHECK_TOLERANCE = 1e-3; // largest |difference| of any embedding component (values of order 1)

function run(ctx, script, args, label) {
  const r = spawnSync(ctx.python, [script, ...args], { cwd: ctx.root, stdio: ['ignore', 'pipe', 'pipe'] });
  const msg = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-1)[0];
  if (r.status !== 0) throw new Error(`${label}: ${ctx.python} ${script} ${args.join(' ')} failed: ${msg}`);
  if (msg) ctx.log(msg);
}

/** The models the stage needs: made when missing (the embed model takes minutes: BERT-base export). */
export function ensurePeerModels(ctx) {
  if (!existsSync(join(ctx.root, PEER.dir, 'model.pt')) || !existsSync(join(ctx.root, PEER.int8Dir, 'model.pt'))) {
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

async function engineRows(ctx, P, dir, { engineOptions = {}, corpusFile, lengthsOut, mixCount, check = null, label }) {
  const lines = await ctx.runJsonLines(
    process.execPath,
    [
      join(ctx.root, 'bench', 'engine_stage.js'),
      JSON.stringify({
        model: join(ctx.root, dir),
        corpus: corpusFile,
        lengthsOut,
        mixCount,
        mixRepeats: P.mixRepeats,
        batches: BATCHES,
        seqs: SEQS,
        targetSeconds: P.engineTargetS,
        minRepeats: P.minRepeats.base,
        warmupRounds: 1,
        check,
        engineOptions: { ...engineOptions, ...(ctx.threads ? { intraOpThreads: ctx.threads } : {}) },
      }),
    ],
    { label: `engine_stage ${label}`, env: { OMP_WAIT_POLICY: 'PASSIVE' } },
  );
  return {
    info: lines.find((l) => l.type === 'info')?.info,
    shapes: lines.filter((l) => l.type === 'shape'),
    mix: lines.find((l) => l.type === 'mix'),
    texts: lines.find((l) => l.type === 'texts')?.texts,
    check: lines.find((l) => l.type === 'check'),
    lengths: lines.find((l) => l.type === 'lengths'),
  };
}

async function limitRows(ctx, P, bin, dir, lengthsFile, { extra = [], env = {}, label, overhead = 64 }) {
  const limit = (args, l) =>
    ctx.runJsonLines(bin, ['--model', join(ctx.root, dir), ...(ctx.threads ? ['--threads', String(ctx.threads)] : []), ...args, ...extra], {
      env: { OMP_WAIT_POLICY: 'PASSIVE', ...env },
      label: l,
    });
  const shapes = await limit(
    [
      '--method',
      'plain',
      '--batches',
      BATCHES.join(','),
      '--seqs',
      SEQS.join(','),
      '--target-seconds',
      String(P.limitTargetS),
      '--min-repeats',
      String(P.minRepeats.base),
    ],
    `engine_limit ${label}`,
  );
  const mixArgs = [
    '--method',
    'plain',
    '--no-shapes',
    '--target-seconds',
    '0',
    '--mix',
    lengthsFile,
    '--mix-batch',
    '32',
    '--mix-tokens',
    '16384',
    '--min-repeats',
    String(P.mixRepeats),
    '--max-repeats',
    String(P.mixRepeats),
  ];
  const sorted = await limit([...mixArgs, '--mix-policy', 'sorted', '--mix-window', '256'], `engine_limit mix ${label}`);
  const cost = await limit(
    [...mixArgs, '--mix-policy', 'cost', '--mix-window', '256', '--mix-overhead', String(overhead)],
    `engine_limit mix ${label}`,
  );
  return {
    info: shapes.find((l) => l.type === 'info'),
    shapes: shapes.filter((l) => l.type === 'shape'),
    mix: { sorted256: sorted.find((l) => l.type === 'mix'), cost: cost.find((l) => l.type === 'mix') },
  };
}

// The batch plans out of the results (ONNX Runtime gets exactly the engine limit's batches; the
// report keeps the timings, not the lengths).
function takePlans(limit) {
  const plans = {};
  for (const [key, m] of Object.entries(limit?.mix ?? {})) {
    if (m?.plan) plans[key] = m.plan;
    if (m) delete m.plan;
  }
  return plans;
}

async function serverRows(ctx, P, dir, flags, texts, bodies, { single }) {
  const server = await ctx.startServer(dir, flags);
  try {
    const out = { info: server.info, single: [] };
    if (single) {
      for (const seq of SEQS) {
        const t = texts?.[seq];
        if (!t) continue;
        // A fixed number of requests: at BERT-base's 128 tokens a few seconds hold only a handful.
        const amount = Math.max(10, Math.round(P.singleS * 10));
        ctx.log(`peer: server ${dir} ${flags.join(' ')}: single connection, ${t.tokens}-token text, ${amount} requests`);
        out.single.push({
          seq,
          tokens: t.tokens,
          ...(await ctx.closedLoop(server, [t.text], { connections: 1, duration: 0, warmup: P.warmupS, amount })),
        });
      }
    }
    ctx.log(`peer: server ${dir} ${flags.join(' ')}: closed loop, 64 connections, the mix`);
    out.closed64 = await ctx.closedLoop(server, bodies, { connections: 64, duration: Math.max(P.closedS, 6), warmup: P.warmupS });
    return out;
  } finally {
    await ctx.stopServer(server);
  }
}

/** The whole stage; returns results.peer. Each part that fails is recorded and the rest still runs. */
export async function peerStage(ctx, P, { corpusFile, tmp, bin, fail }) {
  const R = {
    dir: PEER.dir,
    onnx: `${PEER.onnxDir}/model.onnx`,
    mixCount: P.mixCount.base,
    shapes: BATCHES.flatMap((b) => SEQS.map((s) => ({ batch: b, seq: s }))),
  };
  const lengthsFile = join(tmp, 'peer-lengths.txt');
  const corpus = readFileSync(corpusFile, 'utf8').split('\n').filter(Boolean);
  const bodies = corpus.slice(0, R.mixCount).map((t) => t.replace('[MASK]', 'city'));
  const attempt = async (key, fn) => {
    try {
      R[key] = await fn();
    } catch (e) {
      fail(`peer ${key}`, e);
    }
  };

  ctx.log('peer: bert-serve engine from JS, float32 (answers for the check, shapes, mix)');
  await attempt('engine', () =>
    engineRows(ctx, P, PEER.dir, { corpusFile, lengthsOut: lengthsFile, mixCount: R.mixCount, check: CHECK, label: 'peer fp32' }),
  );
  if (!existsSync(lengthsFile)) return R;
  writeFileSync(lengthsFile, readFileSync(lengthsFile, 'utf8').split('\n').filter(Boolean).slice(0, R.mixCount).join('\n') + '\n');
  R.lengths = R.engine?.lengths;
  const vocab = R.engine?.info?.vocabSize ?? 30522;

  const overhead = R.engine?.info?.batchOverheadTokens || 64;
  if (bin) {
    ctx.log('peer: engine limit, float32 (packed linear layers, as the engine runs)');
    await attempt('limit', () => limitRows(ctx, P, bin, PEER.dir, lengthsFile, { label: 'peer fp32', overhead }));
  }
  const plans = takePlans(R.limit);

  ctx.log('peer: ONNX Runtime (check against bert-serve, shapes, mix)');
  await attempt('ort', async () => {
    const ids = R.engine?.check?.ids;
    const check = await ctx.runJsonLines(
      process.execPath,
      [
        join(ctx.root, 'bench', 'ort_stage.js'),
        JSON.stringify({ onnx: join(ctx.root, R.onnx), threads: ctx.threads, check: ids, vocabSize: vocab }),
      ],
      { label: 'ort_stage check' },
    );
    const got = check.find((l) => l.type === 'check')?.embeddings;
    const agreement = got && R.engine?.check ? compare(R.engine.check.embeddings, got) : null;
    if (!agreement?.equal)
      return {
        info: check.find((l) => l.type === 'info'),
        agreement,
        skipped: "ONNX Runtime's answers differ from bert-serve's: not timed",
      };
    const lines = await ctx.runJsonLines(
      process.execPath,
      [
        join(ctx.root, 'bench', 'ort_stage.js'),
        JSON.stringify({
          onnx: join(ctx.root, R.onnx),
          threads: ctx.threads,
          shapes: R.shapes,
          plans,
          vocabSize: vocab,
          targetSeconds: P.limitTargetS,
          minRepeats: P.minRepeats.base,
          maxRepeats: 200,
        }),
      ],
      { label: 'ort_stage', timeoutMs: 1_800_000 },
    );
    // The faster of the two batchings counts, as for the engine limit.
    const mixes = lines.filter((l) => l.type === 'mix');
    const mix = mixes.reduce((a, b) => (!a || b.seq_per_s > a.seq_per_s ? b : a), null);
    return { info: lines.find((l) => l.type === 'info'), agreement, shapes: lines.filter((l) => l.type === 'shape'), mix, mixes };
  });

  if (bin) {
    ctx.log("peer: engine limit, float32 with libtorch's linear layers (BERT_SERVE_PACKED_LINEAR=0)");
    await attempt('limitLibtorch', () =>
      limitRows(ctx, P, bin, PEER.dir, lengthsFile, { env: { BERT_SERVE_PACKED_LINEAR: '0' }, label: 'peer fp32 libtorch', overhead }),
    );
    takePlans(R.limitLibtorch);
  }

  const bf16 = NATIVE_BF16;
  R.variants = {};
  const variants = [['int8', PEER.int8Dir, {}, [], []]];
  if (bf16) variants.push(['bf16', PEER.dir, { dtype: 'bfloat16' }, ['--dtype', 'bfloat16'], ['--dtype', 'bfloat16']]);
  else R.variants.bf16 = { skipped: NO_BF16 };
  for (const [key, dir, engineOptions, limitArgs] of variants) {
    const V = (R.variants[key] = { dir });
    ctx.log(`peer: ${key}: engine from JS and engine limit`);
    try {
      Object.assign(V, {
        engine: await engineRows(ctx, P, dir, { engineOptions, corpusFile, mixCount: R.mixCount, label: `peer ${key}` }),
      });
    } catch (e) {
      fail(`peer ${key} engine`, e);
    }
    if (bin) {
      try {
        V.limit = await limitRows(ctx, P, bin, dir, lengthsFile, { extra: limitArgs, label: `peer ${key}`, overhead });
        takePlans(V.limit);
      } catch (e) {
        fail(`peer ${key} limit`, e);
      }
    }
  }

  await attempt('server', () => serverRows(ctx, P, PEER.dir, [], R.engine?.texts, bodies, { single: true }));
  for (const [key, dir, , , serverFlags] of variants) {
    try {
      R.variants[key].server = await serverRows(ctx, P, dir, serverFlags, null, bodies, { single: false });
    } catch (e) {
      fail(`peer ${key} server`, e);
    }
  }
  return R;
}
