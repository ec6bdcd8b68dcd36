// bf16 with float32 where it decides the answer (native/engine/model/mixed_precision.h): LayerNorms,
// residual sums and the head stay float32, on exported (scripted) and plainly traced files of BERT
// and two relatives with other module trees, fill-mask, classification and embeddings; the answers
// are closer to float32's than with every tensor in bf16 (BERT_SERVE_MIXED_BF16=0). The figures on
// a trained model come from bench/trained.js (docs/benchmarks.md section 8).
import t from 'tap';
import { Engine } from '../../dist/engine.js';
import { maskCorpus, testModel } from './fixtures.mjs';
import { answers, top } from '../helpers/fill-mask-answers.mjs';

// Emulated bf16 on a CPU without bf16 instructions is slow: 16 model loads, about 10 s on an idle machine.
t.setTimeout(300_000);

t.test('bf16 keeps LayerNorms, residual sums and the head float32: closer to float32 than bf16 throughout', async (t) => {
  // Any CPU: emulated where it has no bf16 instructions (the same graphs and weights, slowly; these
  // models are small). BERT_SERVE_MIXED_BF16=0 (read at each load) converts every tensor, as before.
  process.env.BERT_SERVE_ALLOW_SLOW_BF16 = '1';
  t.teardown(() => {
    delete process.env.BERT_SERVE_ALLOW_SLOW_BF16;
    delete process.env.BERT_SERVE_MIXED_BF16;
  });
  const throughout = async (model, texts, fn) => {
    process.env.BERT_SERVE_MIXED_BF16 = '0';
    try {
      return await fn(model, texts, { dtype: 'bfloat16' });
    } finally {
      delete process.env.BERT_SERVE_MIXED_BF16;
    }
  };
  // The largest difference from float32 of any top-5 score, and the top-1 answers that differ.
  const fillMaskDiff = (ref, got) => {
    let worst = 0,
      flips = 0;
    ref.out.forEach((a, i) =>
      top(a).forEach((preds, m) => {
        const b = top(got.out[i])[m];
        if (b[0].token !== preds[0].token) flips++;
        preds.forEach((p, k) => (worst = Math.max(worst, Math.abs(p.score - b[k].score))));
      }),
    );
    return { worst, flips };
  };
  const head =
    /^bfloat16 linear layers and attention; float32 LayerNorms \((\d+), \d+ in the graphs\) and residual sums, and the head \((.+)\); [\d.]+ MiB of weights kept float32$/;
  // Exported (scripted) and plainly traced files, BERT and two relatives with other module trees.
  for (const [name, mask, heads] of [
    ['tiny', '[MASK]', 'cls'],
    ['mlm-traced', '[MASK]', 'cls'],
    ['distilbert-mlm-traced', '[MASK]', 'vocab_transform, activation, vocab_layer_norm, vocab_projector'],
    ['roberta-mlm', '<mask>', 'lm_head'],
  ]) {
    const texts = maskCorpus(24, 88, 20).map((s) => s.replaceAll('[MASK]', mask));
    const fp32 = await answers(testModel(name), texts);
    const mixed = await answers(testModel(name), texts, { dtype: 'bfloat16' });
    const all = await throughout(testModel(name), texts, answers);
    t.equal(fp32.info.precision, 'float32');
    const m = head.exec(mixed.info.precision);
    t.ok(m, `${name}: ${mixed.info.precision}`);
    t.equal(m?.[2], heads, `${name}: the head kept float32`);
    t.equal(all.info.precision, 'bfloat16 throughout (BERT_SERVE_MIXED_BF16=0)');
    const dm = fillMaskDiff(fp32, mixed),
      da = fillMaskDiff(fp32, all);
    t.ok(
      dm.worst < da.worst,
      `${name}: largest score difference from float32 ${dm.worst.toFixed(5)} (bf16 throughout ${da.worst.toFixed(5)})`,
    );
    t.ok(dm.flips <= da.flips, `${name}: top-1 answers that differ from float32: ${dm.flips} (bf16 throughout ${da.flips})`);
  }
  // The other tasks: a classifier's head, an encoder without one.
  const words = maskCorpus(24, 89, 20).map((s) => s.replace(/\[MASK\]/g, 'x'));
  const run = async (name, _words, opts = {}) => {
    const e = await Engine.load({ model: testModel(name), ...opts });
    try {
      return { info: e.info, out: e.task === 'feature-extraction' ? await e.embed(words) : await e.classify(words, { topK: null }) };
    } finally {
      await e.close();
    }
  };
  const c32 = await run('classify-traced');
  const c16 = await run('classify-traced', words, { dtype: 'bfloat16' });
  const call = await throughout('classify-traced', words, run);
  t.match(c16.info.precision, /and the head \(classifier\)/);
  const scoreDiff = (got) =>
    Math.max(...c32.out.flatMap((a, i) => a.map((x) => Math.abs(x.score - got.out[i].find((y) => y.label === x.label).score))));
  t.ok(
    scoreDiff(c16) < scoreDiff(call),
    `classify-traced: largest score difference ${scoreDiff(c16)} (bf16 throughout ${scoreDiff(call)})`,
  );
  const e32 = await run('embed-traced');
  const e16 = await run('embed-traced', words, { dtype: 'bfloat16' });
  const eall = await throughout('embed-traced', words, run);
  t.match(e16.info.precision, /and residual sums; [\d.]+ MiB/, 'an encoder has no head to keep');
  const cos = (a, b) =>
    a.reduce((s, v, i) => s + v * b[i], 0) / Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));
  const worstCos = (got) => Math.min(...e32.out.map((v, i) => cos(v, got.out[i])));
  t.ok(worstCos(e16) > worstCos(eall), `embed-traced: lowest cosine with float32 ${worstCos(e16)} (bf16 throughout ${worstCos(eall)})`);
});
