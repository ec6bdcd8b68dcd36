// The bench's rows beside each model's float32 ones (bench/run.js stages `precision` and `trace`):
//   precision: bf16 (the same directory, engine dtype bfloat16) and int8 (DIR-int8, export_hf's
//     --quantize int8 of the same checkpoint), each through the engine limit, the engine from JS and
//     the HTTP server at 64 connections; and bench/accuracy.js's agreement with float32;
//   trace: DIR-traced, the checkpoint traced as Hugging Face's torchscript=True traces it (the file a
//     user brings), through the same three, and the seed recipe's batched Python server
//     (bench/recipe_server.py) on that same file.
// bench/run.js measures with the helpers it passes in (ctx); bench/report.js renders.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { round } from './report.js';

export const VARIANT_STAGES = ['precision', 'trace'];
const CONNECTIONS = 64;

// The engine refuses bf16 on a CPU without bf16 instructions (it would be slower than float32 there):
// on such a CPU the bf16 rows are not run, and the report says why.
export const NATIVE_BF16 = /\b(avx512_bf16|amx_bf16)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
export const NO_BF16 =
  'this CPU has no bf16 instructions (AVX512-BF16 or AMX): the engine refuses --dtype bfloat16 here, where it would run slower than float32';

/** The variant rows of one model directory, per stage. */
export function variantRows(dir) {
  return {
    precision: [
      {
        key: 'bf16',
        label: 'bf16 (`--dtype bfloat16`)',
        dir,
        engine: { dtype: 'bfloat16' },
        limitArgs: ['--dtype', 'bfloat16'],
        serverFlags: ['--dtype', 'bfloat16'],
        ...(NATIVE_BF16 ? {} : { skipped: NO_BF16 }),
      },
      { key: 'int8', label: `int8 (${dir}-int8)`, dir: `${dir}-int8`, make: 'int8', engine: {}, limitArgs: [], serverFlags: [] },
    ],
    trace: [
      {
        key: 'traced',
        label: `standard HF trace (${dir}-traced)`,
        dir: `${dir}-traced`,
        make: 'hf-trace',
        engine: {},
        limitArgs: [],
        serverFlags: [],
      },
    ],
  };
}

/** Makes (or finds up to date: the maker's stamp) the variant directories the wanted stages need. */
export function ensureVariantModels(ctx, dir, stages) {
  for (const stage of stages) {
    for (const row of variantRows(dir)[stage].filter((r) => r.make)) {
      const r = spawnSync(ctx.python, ['scripts/make_bench_variant.py', dir, row.dir, '--variant', row.make], {
        cwd: ctx.root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const msg = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-1)[0];
      if (r.status !== 0) throw new Error(`make_bench_variant ${row.make} of ${dir}: ${msg}`);
      if (msg) ctx.log(msg);
    }
  }
}

/** Engine from JS (the mix submitted at once) and engine limit (the scheduler's cost batches) of one row. */
export async function variantEngineAndLimit(ctx, row, { corpusFile, mixCount, mixRepeats, tmp, name, bin }) {
  const out = {};
  const lengthsFile = join(tmp, `${name}-${row.key}-lengths.txt`);
  const lines = await ctx.runJsonLines(
    process.execPath,
    [
      join(ctx.root, 'bench', 'engine_stage.js'),
      JSON.stringify({
        model: join(ctx.root, row.dir),
        corpus: corpusFile,
        lengthsOut: lengthsFile,
        mixCount,
        mixRepeats,
        batches: [],
        seqs: [],
        engineOptions: { ...row.engine, ...(ctx.threads ? { intraOpThreads: ctx.threads } : {}) },
      }),
    ],
    { label: `engine_stage ${name} ${row.key}`, env: { OMP_WAIT_POLICY: 'PASSIVE' } },
  );
  out.engineInfo = lines.find((l) => l.type === 'info')?.info;
  out.engine = lines.find((l) => l.type === 'mix');
  if (bin) {
    writeFileSync(lengthsFile, readFileSync(lengthsFile, 'utf8').split('\n').filter(Boolean).slice(0, mixCount).join('\n') + '\n');
    const overhead = String(out.engineInfo?.batchOverheadTokens || 64);
    const l = await ctx.limitRun(
      bin,
      row.dir,
      [
        '--target-seconds',
        '0',
        '--no-shapes',
        '--mix',
        lengthsFile,
        '--mix-batch',
        '32',
        '--mix-tokens',
        '16384',
        '--min-repeats',
        String(mixRepeats),
        '--max-repeats',
        String(mixRepeats),
        '--mix-policy',
        'cost',
        '--mix-window',
        '256',
        '--mix-overhead',
        overhead,
        ...row.limitArgs,
      ],
      ctx.threads,
      `engine_limit mix ${name} ${row.key}`,
    );
    out.limitInfo = l.find((x) => x.type === 'info');
    out.limit = l.find((x) => x.type === 'mix');
    delete out.limit?.plan;
  }
  return out;
}

/** The HTTP server on the row's model, closed loop at 64 connections. */
export async function variantServer(ctx, row, bodies, { duration, warmup }) {
  const server = await ctx.startServer(row.dir, row.serverFlags);
  try {
    ctx.log(`${row.dir} ${row.serverFlags.join(' ')}: closed loop, ${CONNECTIONS} connections, ${duration} s`);
    const closed = await ctx.closedLoop(server, bodies, { connections: CONNECTIONS, duration, warmup });
    return { info: server.info, startupS: server.startupS, closed };
  } finally {
    await ctx.stopServer(server);
  }
}

/** Why the recipe row cannot run here, or null when Starlette and uvicorn import. */
export function recipeUnavailable(python) {
  const r = spawnSync(python, ['-c', 'import starlette, uvicorn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status === 0) return null;
  return (
    `${python} cannot import starlette/uvicorn (${`${r.stderr ?? ''}`.trim().split('\n').slice(-1)[0] || r.error?.message}); ` +
    '`bash scripts/install-system-deps.sh --bench` installs python3-starlette and python3-uvicorn (npm run bench tries it)'
  );
}

async function recipeStats(port) {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/stats`)).json();
  } catch {
    return {};
  }
}

function recipeDelta(a, b) {
  const d = (k) => (b[k] ?? 0) - (a[k] ?? 0);
  const batches = d('batches'),
    requests = d('requests'),
    real = d('real_tokens'),
    padded = d('padded_tokens');
  const busy = d('loop_busy_s'),
    tok = d('tokenize_s');
  return {
    batches,
    engine_requests: requests,
    mean_batch: batches ? round(requests / batches, 2) : null,
    real_tokens: real,
    padded_tokens: padded,
    padding_efficiency: padded ? round(real / padded, 3) : null,
    loop_busy_s: round(busy, 3),
    tokenize_s: round(tok, 3),
    forward_s: round(d('forward_s'), 3),
    postprocess_s: round(d('postprocess_s'), 3),
    loop_us_per_request: requests ? round((busy / requests) * 1e6, 1) : null,
    tokenize_us_per_request: requests ? round((tok / requests) * 1e6, 1) : null,
    forward_us_per_request: requests ? round((d('forward_s') / requests) * 1e6, 1) : null,
    postprocess_us_per_request: requests ? round((d('postprocess_s') / requests) * 1e6, 1) : null,
    tokenize_share_of_loop: busy ? round(tok / busy, 3) : null,
  };
}

/** The seed recipe's server (bench/recipe_server.py) on the traced file, closed loop at 64
 * connections, measured over the whole length mix once (every text one request; as many times
 * over as it takes to give each connection a request, which autocannon requires): its batches are
 * padded to their longest text and project every position onto the vocabulary, so one batch can
 * take seconds, and a run of fixed seconds would measure one batch or none. */
export async function recipeServer(ctx, row, bodies) {
  const port = await ctx.freePort();
  const server = await ctx.startProcess(
    ctx.python,
    [join(ctx.root, 'bench', 'recipe_server.py'), '--model', join(ctx.root, row.dir), '--host', '127.0.0.1', '--port', String(port)],
    { port, readyPath: '/stats', label: `recipe server (${row.dir})` },
  );
  try {
    // Warm-up: three texts one after another (TorchScript's profiling executor optimizes the graph
    // after its first calls), not a burst of 64 whose batches would each take seconds.
    for (const body of bodies.slice(0, 3)) {
      await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers: { 'content-type': 'text/plain; charset=utf-8' } }).then(
        (r) => r.arrayBuffer(),
      );
    }
    const stats = await recipeStats(port);
    const amount = bodies.length * Math.ceil(CONNECTIONS / bodies.length);
    ctx.log(
      `recipe server on ${row.dir}: closed loop, ${CONNECTIONS} connections, ${amount} requests (the ${bodies.length} texts of the mix, each ${amount / bodies.length} time(s))`,
    );
    const closed = await ctx.closedLoop(server, bodies, {
      connections: CONNECTIONS,
      duration: 0,
      warmup: 0,
      metrics: recipeStats,
      delta: recipeDelta,
      amount,
      timeoutS: 600,
    });
    return {
      info: { threads: stats.threads, max_batch: stats.max_batch, torch: stats.torch, uvicorn: stats.uvicorn },
      startupS: server.startupS,
      closed,
    };
  } finally {
    await ctx.stopServer(server);
  }
}

/** bench/accuracy.js on the model: bf16 and int8 answers against float32's. */
export async function accuracyRows(ctx, dir, n) {
  if (!existsSync(join(ctx.root, dir, 'model.pt'))) return [];
  // Without bf16 instructions, bf16 would run emulated (tens of times slower on BERT-base): the
  // trained stage measures bf16's accuracy on a model small enough for that.
  const variants = NATIVE_BF16 ? 'bf16,int8' : 'int8';
  const lines = await ctx.runJsonLines(
    process.execPath,
    [join(ctx.root, 'bench', 'accuracy.js'), '--model', dir, '--int8', `${dir}-int8`, '--n', String(n), '--variants', variants],
    { label: `accuracy ${dir}`, env: { OMP_WAIT_POLICY: 'PASSIVE' } },
  );
  const rows = lines.filter((l) => l.type === 'accuracy' || l.type === 'skipped');
  if (!NATIVE_BF16) rows.unshift({ type: 'skipped', variant: 'bf16', reason: NO_BF16 });
  return rows;
}
