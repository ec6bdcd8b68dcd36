#!/usr/bin/env node
// Every task's throughput from JavaScript, against the plain libtorch loop on the same model.
//
// For each model: the engine (dist/engine.js, no HTTP) runs batch B x S tokens for each shape: B
// texts of exactly S tokens ([CLS]/[SEP] included) submitted in one tick, one request per text (as B
// concurrent clients would), all awaited; repeated for about --target-seconds after one warm-up
// round; the median round gives sequences/s. The call is the task's JSON method (what the HTTP routes
// call): fillMaskJson, embedJson, classifyJson or tokenClassifyJson. Each answer carries the native
// timings the server sends as x-tokenization-time, x-queue-time and x-inference-time; inference is the
// batch's forward plus the task's post-processing and JSON serialization on the worker thread.
// Then build/engine_limit runs the same shapes with --method plain (forward only, random token ids:
// no tokenizer, queue, head, serialization or N-API), and for fill-mask also --method auto (what
// the engine's fill-mask head computes: fill_mask_logits + softmax + top-5).
// The engine and engine_limit never run at the same time (each point is measured alone).
//
//   node bench/tasks.js [--set tiny|base|MODEL_DIR[,...]] [--shapes 1x16,8x16,32x16,1x128,8x128,32x128]
//                       [--dtype float32|bfloat16] [--threads N] [--target-seconds 2] [--min-repeats 3]
//                       [--no-limit] [--out FILE.jsonl]
//   --set tiny: models/test/{tiny,embed,classify,ner}; base: models/bench/{mlm,embed,classify,ner}
//     (scripts/make_bench_models.py); int8: models/bench/{mlm,classify}-int8; or directories.
//   --dtype bfloat16: the engine's dtype option, and engine_limit --dtype bfloat16.
//   --threads N: the engine's intraOpThreads and engine_limit --threads (default: both use every
//     core). On a shared machine, 1 thread gives steadier figures: an OpenMP team of 2 on 2 busy
//     cores waits at every operator for the thread that was descheduled.
// Environment: BERT_SERVE_ADDON (the addon), BERT_SERVE_ENGINE_LIMIT (default build/engine_limit).
// Prints one JSON line per point on stdout (also appended to --out) and a markdown table at the end;
// `uptime` before and after each model goes into the JSON lines: the machine may be shared.
import { spawnSync, execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { textOfLength } from './corpus.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SETS = {
  tiny: ['models/test/tiny', 'models/test/embed', 'models/test/classify', 'models/test/ner'],
  base: ['models/bench/mlm', 'models/bench/embed', 'models/bench/classify', 'models/bench/ner'],
  int8: ['models/bench/mlm-int8', 'models/bench/classify-int8'],
};

function parseArgs(argv) {
  const o = {
    set: 'tiny',
    shapes: '1x16,8x16,32x16,1x128,8x128,32x128',
    dtype: 'float32',
    threads: 0,
    targetSeconds: 2,
    minRepeats: 3,
    limit: true,
    out: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i],
      v = () => argv[++i];
    if (a === '--set') o.set = v();
    else if (a === '--shapes') o.shapes = v();
    else if (a === '--dtype') o.dtype = v();
    else if (a === '--threads') o.threads = Number(v());
    else if (a === '--target-seconds') o.targetSeconds = Number(v());
    else if (a === '--min-repeats') o.minRepeats = Number(v());
    else if (a === '--no-limit') o.limit = false;
    else if (a === '--out') o.out = v();
    else {
      process.stderr.write(`tasks: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  o.models = o.set
    .split(',')
    .flatMap((s) => SETS[s] ?? [s])
    .map((m) => resolve(ROOT, m));
  o.shapes = o.shapes.split(',').map((s) => {
    const [b, t] = s.split('x').map(Number);
    return { batch: b, seq: t };
  });
  return o;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (v) => {
  const s = [...v].sort((a, b) => a - b),
    n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const r2 = (x) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 100) / 100);
const uptime = () => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' })
      .trim()
      .replace(/^.*load average: /, '');
  } catch {
    return '?';
  }
};

/** The task's JSON call for one text (what the HTTP route calls). */
function call(engine, text) {
  switch (engine.task) {
    case 'fill-mask':
      return engine.fillMaskJson(text);
    case 'feature-extraction':
      return engine.embedJson(text);
    case 'text-classification':
      return engine.classifyJson(text);
    case 'token-classification':
      return engine.tokenClassifyJson(text);
    default:
      throw new Error(`unknown task ${engine.task}`);
  }
}

async function engineShapes(o, dir) {
  const { Engine } = await import('../dist/engine.js');
  const t0 = now();
  const engine = await Engine.load({
    model: dir,
    dtype: o.dtype,
    maxQueue: 1 << 16,
    ...(o.threads > 0 ? { intraOpThreads: o.threads } : {}),
  });
  const loadMs = now() - t0;
  const res = [];
  try {
    const count = async (t) => (await engine.tokenize(t)).length;
    const texts = {};
    for (const seq of new Set(o.shapes.map((s) => s.seq))) {
      const maxB = Math.max(...o.shapes.filter((s) => s.seq === seq).map((s) => s.batch));
      texts[seq] = [];
      for (let i = 0; i < maxB; i++) {
        let { text, tokens } = await textOfLength(count, seq, 1000 + i);
        if (engine.task !== 'fill-mask') {
          text = text.replace('[MASK]', 'city');
          tokens = await count(text);
        }
        texts[seq].push({ text, tokens });
      }
    }
    for (const { batch, seq } of o.shapes) {
      const rows = texts[seq].slice(0, batch);
      const round = async () => {
        const t = now();
        const answers = await Promise.all(rows.map((r) => call(engine, r.text)));
        const ms = now() - t;
        const tm = answers.map((a) => a.timings);
        return {
          ms,
          inferMs: Math.max(...tm.map((x) => x.inferenceUs)) / 1000,
          tokMs: Math.max(...tm.map((x) => x.tokenizeUs)) / 1000,
          queueMs: Math.max(...tm.map((x) => x.queueUs)) / 1000,
          bytes: answers.reduce((s, a) => s + a.body.length, 0),
        };
      };
      await round();
      const s0 = engine.stats();
      const rounds = [];
      const start = now();
      while (rounds.length < 200 && (rounds.length < o.minRepeats || now() - start < o.targetSeconds * 1000)) rounds.push(await round());
      const s1 = engine.stats();
      const m = median(rounds.map((x) => x.ms));
      res.push({
        batch,
        seq,
        tokens: [Math.min(...rows.map((r) => r.tokens)), Math.max(...rows.map((r) => r.tokens))],
        engine_seq_per_s: r2(batch / (m / 1000)),
        engine_ms: r2(m),
        inference_ms: r2(median(rounds.map((x) => x.inferMs))),
        tokenize_ms: r2(median(rounds.map((x) => x.tokMs))),
        queue_ms: r2(median(rounds.map((x) => x.queueMs))),
        answer_bytes: rounds[0].bytes,
        repeats: rounds.length,
        batches_per_round: r2((s1.batchesRun - s0.batchesRun) / rounds.length),
      });
    }
    return {
      info: {
        threads: engine.options.intraOpThreads,
        task: engine.task,
        architecture: engine.info.architecture,
        dtype: o.dtype,
        load_ms: Math.round(loadMs),
        head_path: engine.info.taskInfo.head_path,
        pooling: engine.info.taskInfo.pooling,
        blas: engine.info.blas,
      },
      shapes: res,
    };
  } finally {
    await engine.close();
  }
}

function limitShapes(o, dir, method) {
  const bin = process.env.BERT_SERVE_ENGINE_LIMIT ?? join(ROOT, 'build', 'engine_limit');
  if (!existsSync(bin)) throw new Error(`engine_limit not found at ${bin} (BERT_SERVE_ENGINE_LIMIT)`);
  const out = {};
  // One run per seq, with that seq's batches (engine_limit runs the cross product of its lists).
  for (const seq of new Set(o.shapes.map((s) => s.seq))) {
    const batches = o.shapes.filter((s) => s.seq === seq).map((s) => s.batch);
    const args = [
      '--model',
      dir,
      '--method',
      method,
      '--batches',
      batches.join(','),
      '--seqs',
      String(seq),
      '--target-seconds',
      String(o.targetSeconds),
      '--min-repeats',
      String(o.minRepeats),
      '--max-repeats',
      '200',
      '--warmup',
      '1',
    ];
    if (o.dtype !== 'float32') args.push('--dtype', o.dtype);
    if (o.threads > 0) args.push('--threads', String(o.threads));
    const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`engine_limit ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().slice(-500)}`);
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const j = JSON.parse(line);
      if (j.type === 'info') out.info = j;
      if (j.type === 'shape') out[`${j.batch}x${j.seq}`] = j;
    }
  }
  return out;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const emit = (j) => {
    const line = JSON.stringify(j);
    process.stdout.write(line + '\n');
    if (o.out) appendFileSync(o.out, line + '\n');
  };
  const table = [];
  for (const dir of o.models) {
    const name = `${basename(dirname(dir))}/${basename(dir)}`;
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const quant = cfg.bert_serve?.quantization ?? null;
    const loadBefore = uptime();
    const eng = await engineShapes(o, dir);
    const plain = o.limit ? limitShapes(o, dir, 'plain') : {};
    const head = o.limit && eng.info.task === 'fill-mask' ? limitShapes(o, dir, 'auto') : {};
    const loadAfter = uptime();
    emit({
      type: 'model',
      model: name,
      hidden: cfg.hidden_size,
      layers: cfg.num_hidden_layers,
      quantization: quant,
      ...eng.info,
      limit_threads: plain.info?.threads,
      load_before: loadBefore,
      load_after: loadAfter,
    });
    for (const s of eng.shapes) {
      const key = `${s.batch}x${s.seq}`;
      const p = plain[key],
        h = head[key];
      const row = {
        type: 'shape',
        model: name,
        task: eng.info.task,
        dtype: o.dtype,
        quantization: quant,
        ...s,
        limit_plain_seq_per_s: r2(p?.seq_per_s),
        limit_plain_ms: r2(p?.median_ms),
        limit_head_seq_per_s: r2(h?.seq_per_s),
        limit_head_ms: r2(h?.median_ms),
        ratio_engine_plain: p ? r2(s.engine_seq_per_s / p.seq_per_s) : null,
        ratio_engine_head: h ? r2(s.engine_seq_per_s / h.seq_per_s) : null,
        // What the worker adds over the plain forward: the head (pooling, softmax, top-k, labels),
        // decoding and JSON serialization; and what JS adds over the worker: tokenizing, queueing, N-API.
        worker_minus_plain_ms: p ? r2(s.inference_ms - p.median_ms) : null,
        js_minus_worker_ms: r2(s.engine_ms - s.inference_ms),
        load: loadAfter,
      };
      emit(row);
      table.push(row);
    }
  }
  const f = (x) => (x === null || x === undefined ? '-' : String(x));
  const lines = [
    '',
    '| model | task | shape | engine seq/s | limit plain seq/s | engine/plain | limit head seq/s | engine/head | round ms | inference ms | plain ms | inference - plain ms | round - inference ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of table) {
    lines.push(
      `| ${r.model}${r.dtype !== 'float32' ? ` ${r.dtype}` : ''} | ${r.task} | ${r.batch}x${r.seq} | ${f(r.engine_seq_per_s)} | ${f(r.limit_plain_seq_per_s)} | ${f(r.ratio_engine_plain)} | ${f(r.limit_head_seq_per_s)} | ${f(r.ratio_engine_head)} | ${f(r.engine_ms)} | ${f(r.inference_ms)} | ${f(r.limit_plain_ms)} | ${f(r.worker_minus_plain_ms)} | ${f(r.js_minus_worker_ms)} |`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`tasks: ${e?.stack ?? e}\n`);
  process.exit(1);
});
