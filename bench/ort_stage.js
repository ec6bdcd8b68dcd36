#!/usr/bin/env node
// ONNX Runtime on the CPU (onnxruntime-node, a development dependency used only here) running the
// ONNX export of a bench model (scripts/make_bench_onnx.py): the peer users pick on a CPU
// (transformers.js, text-embeddings-inference's CPU backend). bench/peer.js runs it as a child
// process that stays loaded and times one thing per request (bench/lib/worker.js), alternating with
// bert-serve's runtimes; it is never asked while another runtime is timed.
//
//   node bench/ort_stage.js '{"onnx": "models/bench/embed-onnx/model.onnx", "threads": 2,
//     "check": [[101, ...], ...], "vocabSize": 30522}'
//   then on stdin, one a line: {"op": "shape", "batch": 1, "seq": 16, "repeats": 8}
//                              {"op": "mix", "plan": [[12, 14], [30]], "repeats": 1}
//
// Session options are ONNX Runtime's defaults for a CPU user (all graph optimizations, its own
// spinning thread pool) with intraOpNumThreads = threads and one inter-op thread, as bert-serve's
// engine limit gets the same intra-op threads. Inputs are random token ids (ids >= 1000, [CLS]
// ... [SEP]) built before the clock starts (once per shape or plan), as engine_limit builds its own.
// A shape answers each repeat's ms and their median; a mix (the length mix as batches, each a list
// of token lengths: exactly the batches bert-serve's engine limit ran, its "plan") the ms of each
// pass over all of them. check: token-id rows whose mean-pooled last_hidden_state is printed before
// "ready", for bench/peer.js to compare with bert-serve's answers before anything is timed.
import os from 'node:os';
import { serveRequests } from './lib/worker.js';

const opts = JSON.parse(process.argv[2] ?? '{}');
const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (v) => {
  const s = [...v].sort((a, b) => a - b),
    n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const emit = (j) => process.stdout.write(JSON.stringify(j) + '\n');

let seed = opts.seed ?? 1234;
function rand() {
  // mulberry32: deterministic inputs
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function feeds(ort, rows) {
  const n = rows.length,
    seq = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(n * seq),
    mask = new BigInt64Array(n * seq),
    types = new BigInt64Array(n * seq);
  rows.forEach((r, i) =>
    r.forEach((id, j) => {
      ids[i * seq + j] = BigInt(id);
      mask[i * seq + j] = 1n;
    }),
  );
  const dims = [n, seq];
  return {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
    token_type_ids: new ort.Tensor('int64', types, dims),
  };
}

function randomRow(len, vocab) {
  const row = [101];
  for (let i = 1; i < len - 1; i++) row.push(1000 + Math.floor(rand() * (vocab - 1000)));
  row.push(102);
  return row;
}

// A fixed number of repeats: the caller alternates runtimes between calls, and the warm-up is its
// own request.
async function timeIt(fn, repeats) {
  const ms = [];
  for (let i = 0; i < Math.max(1, repeats); i++) {
    const t = now();
    await fn();
    ms.push(now() - t);
  }
  return { median_ms: median(ms), ms, repeats: ms.length };
}

async function main() {
  const ort = (await import('onnxruntime-node')).default;
  const threads = opts.threads || os.cpus().length;
  const t0 = now();
  // spinning: false turns ONNX Runtime's spinning off (its threads then sleep between operators, as
  // bert-serve's OpenMP team does with OMP_WAIT_POLICY=PASSIVE): for comparisons on a shared
  // machine, where a spinning team waits at every operator for the thread that was descheduled.
  const session = await ort.InferenceSession.create(opts.onnx, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    ...(opts.spinning === false ? { extra: { session: { 'intra_op.allow_spinning': '0' } } } : {}),
  });
  const out = session.outputNames[0];
  emit({
    type: 'info',
    onnxruntime: ort.env.versions?.common ?? null,
    threads,
    spinning: opts.spinning !== false,
    load_ms: Math.round(now() - t0),
    inputs: session.inputNames,
    output: out,
  });
  const vocab = opts.vocabSize ?? 30522;

  if (opts.check?.length) {
    const res = (await session.run(feeds(ort, opts.check)))[out];
    const [n, seq, hidden] = res.dims;
    const embeddings = [];
    for (let i = 0; i < n; i++) {
      const len = opts.check[i].length,
        v = new Array(hidden).fill(0);
      for (let j = 0; j < len; j++) for (let h = 0; h < hidden; h++) v[h] += res.data[(i * seq + j) * hidden + h];
      embeddings.push(v.map((x) => x / len));
    }
    emit({ type: 'check', embeddings });
  }

  const inputs = new Map(); // built once per shape or plan, before its first timing
  const built = (key, make) => inputs.get(key) ?? inputs.set(key, make()).get(key);
  await serveRequests({
    async shape({ batch, seq, repeats }) {
      const f = built(`${batch}x${seq}`, () =>
        feeds(
          ort,
          Array.from({ length: batch }, () => randomRow(seq, vocab)),
        ),
      );
      const t = await timeIt(() => session.run(f), repeats);
      return { batch, seq, ...t, seq_per_s: batch / (t.median_ms / 1000), threads };
    },
    async mix({ plan, repeats }) {
      const batches = built(JSON.stringify(plan), () =>
        plan.map((p) =>
          feeds(
            ort,
            p.map((len) => randomRow(Math.max(3, len), vocab)),
          ),
        ),
      );
      const sequences = plan.reduce((x, p) => x + p.length, 0);
      const real = plan.reduce((x, p) => x + p.reduce((u, v) => u + v, 0), 0);
      const padded = plan.reduce((x, p) => x + p.length * Math.max(...p), 0);
      const t = await timeIt(async () => {
        for (const f of batches) await session.run(f);
      }, repeats);
      return {
        sequences,
        batches: plan.length,
        real_tokens: real,
        padded_tokens: padded,
        padding_efficiency: real / padded,
        pass_ms: t.median_ms,
        ms: t.ms,
        seq_per_s: sequences / (t.median_ms / 1000),
        repeats: t.repeats,
        threads,
      };
    },
  });
  await session.release?.();
}

main().catch((e) => {
  process.stderr.write(`ort_stage: ${e?.stack ?? e}\n`);
  process.exit(1);
});
