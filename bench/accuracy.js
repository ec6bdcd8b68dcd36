#!/usr/bin/env node
// Accuracy of reduced precision against float32 on the same weights, through the engine from JS.
//
//   node bench/accuracy.js --model DIR [--variants bf16,int8] [--int8 DIR] [--n 200] [--seed 7] [--out FILE.jsonl]
//                          [--corpus HELDOUT.jsonl]
//
// DIR is a float32 model directory (scripts/export_hf.py). Variants:
//   bf16: the same DIR loaded with dtype 'bfloat16' (the engine converts the weights at load, keeping
//     LayerNorms, residual sums and the head float32: native/engine/model/mixed_precision.h);
//   bf16-throughout: the same with every tensor converted (BERT_SERVE_MIXED_BF16=0), for comparison;
//   int8: --int8 DIR, default DIR-int8 (export_hf.py --quantize int8 of the same checkpoint).
// Each engine (float32 first) answers the same fixed corpus, every text submitted at once (so the
// batches are formed alike), and the answers are compared with float32's:
//   fill-mask (maskCorpus of test/integration/fixtures.mjs, top_k 5): per mask, top-1 agreement,
//     identical top-5 id sets, mean top-5 overlap, and the largest score difference at any rank;
//     for each top-1 disagreement, float32's own gap between its top-1 and top-2 scores;
//   feature-extraction (bench/corpus.js makeCorpus, [MASK] replaced by a word): cosine similarity of
//     each pooled, normalized embedding with float32's (min, 1st percentile, mean);
//   text-classification (same corpus, every label's score): top-1 label agreement, largest score
//     difference; for disagreements, float32's top-1/top-2 score gap;
//   token-classification (same corpus, aggregation none): agreement of the per-token (index, label)
//     entity sets over the whole corpus (Jaccard) and texts answered identically.
// --corpus: texts of one JSON object a line instead ({"text", "word"} for fill-mask, with one [MASK]
//   where `word` was; {"text", "label"} for classification; an embedding model takes the fill-mask
//   texts with the word put back), e.g. the held-out texts of the trained fixtures
//   (test/data/trained, scripts/make_trained_models.py): then float32's own accuracy against the
//   word or label is reported too (fp32_top1_accuracy, fp32_accuracy).
// bf16 on a CPU without native bf16 runs anyway for this measurement (BERT_SERVE_ALLOW_SLOW_BF16=1:
//   the same graphs and weights, computed slowly; the row says "emulated").
// Prints one JSON line per variant and a markdown table. Environment: BERT_SERVE_ADDON.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCorpus } from './corpus.js';
import { maskCorpus } from '../test/integration/fixtures.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const o = { model: null, variants: 'bf16,int8', int8: null, n: 200, seed: 7, out: null, corpus: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i],
      v = () => argv[++i];
    if (a === '--model') o.model = resolve(ROOT, v());
    else if (a === '--variants') o.variants = v();
    else if (a === '--int8') o.int8 = resolve(ROOT, v());
    else if (a === '--n') o.n = Number(v());
    else if (a === '--seed') o.seed = Number(v());
    else if (a === '--out') o.out = v();
    else if (a === '--corpus') o.corpus = resolve(ROOT, v());
    else {
      process.stderr.write(`accuracy: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  if (!o.model) {
    process.stderr.write('accuracy: --model DIR is required\n');
    process.exit(2);
  }
  o.int8 ??= o.model.replace(/\/+$/, '') + '-int8';
  o.variants = o.variants.split(',').filter(Boolean);
  return o;
}

const pct = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
};
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const r = (x, d = 4) => (x === null || x === undefined ? null : Number(x.toFixed(d)));

/** Every answer of one engine on the corpus. */
async function answers(Engine, dir, dtype, corpus, env = {}) {
  // truncate: held-out texts (--corpus) may be longer than a small model's 128 positions.
  // env: switches the engine reads at load only.
  Object.assign(process.env, env);
  let engine;
  try {
    engine = await Engine.load({ model: dir, dtype, maxQueue: 1 << 16, truncate: true });
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
  try {
    const t0 = performance.now();
    let out;
    switch (engine.task) {
      case 'fill-mask':
        out = await Promise.all(corpus.map((t) => engine.fillMask(t, { topK: 5 })));
        // One list of predictions per mask.
        out = out.map((a) => (Array.isArray(a[0]) ? a : [a]));
        break;
      case 'feature-extraction':
        out = await Promise.all(corpus.map((t) => engine.embed(t)));
        break;
      case 'text-classification':
        out = await Promise.all(corpus.map((t) => engine.classify(t, { topK: null })));
        break;
      case 'token-classification':
        out = await Promise.all(corpus.map((t) => engine.tokenClassify(t, { aggregationStrategy: 'none' })));
        break;
      default:
        throw new Error(`unknown task ${engine.task}`);
    }
    return { task: engine.task, out, seconds: (performance.now() - t0) / 1000, nativeBf16: engine.info.cpuNativeBf16 };
  } finally {
    await engine.close();
  }
}

function compareFillMask(ref, got) {
  let masks = 0,
    top1 = 0,
    set5 = 0,
    overlap = 0,
    refTop1InTop5 = 0,
    maxDiff = 0;
  const gaps = [];
  for (let i = 0; i < ref.length; i++) {
    for (let m = 0; m < ref[i].length; m++) {
      const a = ref[i][m],
        b = got[i][m];
      masks++;
      if (a[0].token === b[0].token) top1++;
      else gaps.push(a[0].score - a[1].score);
      const ids = new Set(a.map((p) => p.token));
      const common = b.filter((p) => ids.has(p.token)).length;
      overlap += common / a.length;
      if (common === a.length) set5++;
      if (b.some((p) => p.token === a[0].token)) refTop1InTop5++;
      for (let k = 0; k < a.length; k++) maxDiff = Math.max(maxDiff, Math.abs(a[k].score - b[k].score));
    }
  }
  return {
    masks,
    top1_agreement: r(top1 / masks),
    top5_set_agreement: r(set5 / masks),
    top5_overlap: r(overlap / masks),
    fp32_top1_in_top5: r(refTop1InTop5 / masks),
    max_score_diff: r(maxDiff, 5),
    fp32_gap_at_top1_disagreements: gaps.length ? r(Math.max(...gaps), 5) : null,
  };
}

function compareEmbed(ref, got) {
  const cos = ref.map((a, i) => {
    const b = got[i];
    let d = 0,
      na = 0,
      nb = 0;
    for (let k = 0; k < a.length; k++) {
      d += a[k] * b[k];
      na += a[k] * a[k];
      nb += b[k] * b[k];
    }
    return d / Math.sqrt(na * nb);
  });
  return {
    texts: cos.length,
    dims: ref[0].length,
    min_cosine: r(Math.min(...cos), 6),
    p1_cosine: r(pct(cos, 0.01), 6),
    mean_cosine: r(mean(cos), 6),
  };
}

function compareClassify(ref, got) {
  let agree = 0,
    maxDiff = 0;
  const gaps = [];
  for (let i = 0; i < ref.length; i++) {
    const a = ref[i],
      b = got[i];
    if (a[0].label === b[0].label) agree++;
    else gaps.push(a[0].score - a[1].score);
    const byLabel = new Map(b.map((x) => [x.label, x.score]));
    for (const x of a) maxDiff = Math.max(maxDiff, Math.abs(x.score - byLabel.get(x.label)));
  }
  return {
    texts: ref.length,
    label_agreement: r(agree / ref.length),
    max_score_diff: r(maxDiff, 5),
    fp32_gap_at_disagreements: gaps.length ? r(Math.max(...gaps), 5) : null,
  };
}

function compareTokens(ref, got) {
  let same = 0,
    inter = 0,
    union = 0,
    maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    const key = (e) => `${e.index}:${e.entity}`;
    const a = new Map(ref[i].map((e) => [key(e), e.score])),
      b = new Map(got[i].map((e) => [key(e), e.score]));
    let n = 0;
    for (const [k, s] of a)
      if (b.has(k)) {
        n++;
        maxDiff = Math.max(maxDiff, Math.abs(s - b.get(k)));
      }
    inter += n;
    union += a.size + b.size - n;
    if (n === a.size && n === b.size) same++;
  }
  return {
    texts: ref.length,
    entity_jaccard: r(union ? inter / union : 1),
    identical_texts: r(same / ref.length),
    fp32_entities: ref.reduce((s, x) => s + x.length, 0),
    max_score_diff_shared: r(maxDiff, 5),
  };
}

const COMPARE = {
  'fill-mask': compareFillMask,
  'feature-extraction': compareEmbed,
  'text-classification': compareClassify,
  'token-classification': compareTokens,
};

/** float32's own accuracy against the held-out words / labels. */
function taskAccuracy(task, ref, items) {
  if (!items) return {};
  if (task === 'fill-mask') {
    const hit = (k) => items.filter((it, i) => ref[i][0].slice(0, k).some((p) => p.token_str === it.word)).length / items.length;
    return { fp32_top1_accuracy: r(hit(1)), fp32_top5_accuracy: r(hit(5)) };
  }
  if (task === 'text-classification')
    return { fp32_accuracy: r(items.filter((it, i) => ref[i][0].label === it.label).length / items.length) };
  return {};
}

async function main() {
  process.env.BERT_SERVE_ALLOW_SLOW_BF16 ??= '1'; // read by the engine when bf16 is asked for
  const o = parseArgs(process.argv.slice(2));
  const { Engine } = await import('../dist/engine.js');
  const emit = (j) => {
    const line = JSON.stringify(j);
    process.stdout.write(line + '\n');
    if (o.out) appendFileSync(o.out, line + '\n');
  };
  // The task decides the corpus; a first float32 load tells the task.
  const probe = await Engine.load({ model: o.model, warmup: false });
  const task = probe.task;
  await probe.close();
  let items = null,
    corpus;
  if (o.corpus) {
    items = readFileSync(o.corpus, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .slice(0, o.n);
    corpus = items.map((it) => (task === 'fill-mask' || it.word === undefined ? it.text : it.text.replace('[MASK]', it.word)));
  } else {
    corpus = task === 'fill-mask' ? maskCorpus(o.n, o.seed) : makeCorpus(o.n, o.seed).map((t) => t.replace('[MASK]', 'city'));
  }
  const ref = await answers(Engine, o.model, 'float32', corpus);
  const fp32Accuracy = taskAccuracy(task, ref.out, task === 'feature-extraction' ? null : items);
  const rows = [];
  for (const v of o.variants) {
    const [dir, dtype, env] = {
      bf16: [o.model, 'bfloat16'],
      'bf16-throughout': [o.model, 'bfloat16', { BERT_SERVE_MIXED_BF16: '0' }],
      int8: [o.int8, 'float32'],
    }[v] ?? [null];
    if (!dir) throw new Error(`unknown variant ${v} (bf16, bf16-throughout, int8)`);
    if (!existsSync(join(dir, 'model.pt'))) {
      emit({ type: 'skipped', variant: v, reason: `${dir}/model.pt not found` });
      continue;
    }
    const got = await answers(Engine, dir, dtype, corpus, env);
    const row = {
      type: 'accuracy',
      model: basename(o.model),
      task,
      variant: v,
      n: corpus.length,
      seed: o.seed,
      fp32_seconds: r(ref.seconds, 2),
      variant_seconds: r(got.seconds, 2),
      ...(dtype === 'bfloat16' && !got.nativeBf16 ? { emulated: true } : {}),
      ...fp32Accuracy,
      ...COMPARE[task](ref.out, got.out),
    };
    emit(row);
    rows.push(row);
  }
  if (rows.length) {
    const keys = Object.keys(rows[0]).filter((k) => !['type', 'task', 'n', 'seed'].includes(k));
    process.stdout.write(`\n| ${keys.join(' | ')} |\n|${keys.map(() => '---').join('|')}|\n`);
    for (const row of rows) process.stdout.write(`| ${keys.map((k) => String(row[k] ?? '-')).join(' | ')} |\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`accuracy: ${e?.stack ?? e}\n`);
  process.exit(1);
});
