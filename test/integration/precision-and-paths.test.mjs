// How each model runs: the fill-mask head at mask rows only on standard exports (a plain
// torch.jit.trace keeps its `bert` and `cls` submodules) with answers identical to the full
// forward; bf16 on a CPU with native bf16 (exported and plainly traced files: the traced graph's
// float32 casts are retargeted), int8 models with their quantized engine; and their agreement with
// float32 on the same weights (the figures docs/performance.md reports come from bench/accuracy.js).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Engine } from '../../dist/engine.js';
import { maskCorpus, testModel } from './fixtures.mjs';
import { answers, top } from '../helpers/fill-mask-answers.mjs';

const nativeBf16 = /\b(avx512_bf16|amx_bf16)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

t.test("a plain trace gets the mask-row path, with the full forward's answers", async (t) => {
  const texts = maskCorpus(60, 81, 40);
  const exported = await answers(testModel('tiny'), texts);
  const traced = await answers(testModel('mlm-traced'), texts);
  t.equal(exported.info.headPath.split(':')[0], 'fill_mask_logits');
  t.match(traced.info.headPath, /^bert \+ cls submodules/);
  t.equal(traced.info.maskedPositionsFastPath, true);
  let worst = 0,
    idMismatch = 0;
  texts.forEach((_, i) =>
    top(traced.out[i]).forEach((preds, m) =>
      preds.forEach((p, k) => {
        const q = top(exported.out[i])[m][k];
        if (p.token !== q.token) idMismatch++;
        worst = Math.max(worst, Math.abs(p.score - q.score));
      }),
    ),
  );
  t.equal(idMismatch, 0, 'same ids');
  t.ok(worst <= 1e-5, `scores within 1e-5 (worst ${worst.toExponential(2)})`);
});

t.test('bfloat16 on cpu', { skip: !nativeBf16 && 'this CPU has no native bf16' }, async (t) => {
  const texts = maskCorpus(60, 82, 40);
  const fp32 = await answers(testModel('tiny'), texts);
  for (const name of ['tiny', 'mlm-traced']) {
    const bf16 = await answers(testModel(name), texts, { dtype: 'bfloat16' });
    t.equal(bf16.info.dtype, 'bfloat16', `${name}: loads in bf16`);
    t.equal(bf16.info.cpuNativeBf16, true);
    let top5 = 0,
      n = 0;
    texts.forEach((_, i) =>
      top(bf16.out[i]).forEach((preds, m) => {
        const want = new Set(top(fp32.out[i])[m].map((p) => p.token));
        top5 += preds.filter((p) => want.has(p.token)).length / 5;
        n++;
      }),
    );
    t.ok(top5 / n >= 0.6, `${name}: top-5 sets overlap fp32's by ${(top5 / n).toFixed(3)} on average`);
  }
  // Plain traces of the other tasks: their answers stay close to fp32's on the same weights.
  const words = maskCorpus(60, 85, 30).map((s) => s.replace(/\[MASK\]/g, 'x'));
  const run = async (name, dtype, fn) => {
    const e = await Engine.load({ model: testModel(name), dtype });
    try {
      return await fn(e);
    } finally {
      await e.close();
    }
  };
  const cos = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
  const e32 = await run('embed', 'float32', (e) => e.embed(words));
  const e16 = await run('embed-traced', 'bfloat16', (e) => e.embed(words));
  const worstCos = Math.min(...e32.map((v, i) => cos(v, e16[i])));
  t.ok(worstCos >= 0.99, `embed-traced in bf16: worst cosine to fp32 ${worstCos.toFixed(5)}`);
  const c32 = await run('classify', 'float32', (e) => e.classify(words));
  const c16 = await run('classify-traced', 'bfloat16', (e) => e.classify(words));
  const agree = c32.filter((x, i) => x[0].label === c16[i][0].label).length / words.length;
  t.ok(agree >= 0.8, `classify-traced in bf16: label agreement with fp32 ${agree.toFixed(3)}`);
  const n16 = await run('ner-traced', 'bfloat16', (e) => e.tokenClassify(words, { ignoreLabels: [] }));
  t.ok(
    n16.every((ents, i) => ents.length === words[i].split(' ').length || ents.length > 0),
    'ner-traced in bf16 answers',
  );
});

t.test('float16 on cpu is refused with a message that says what to use', async (t) => {
  const err = await Engine.load({ model: testModel('tiny'), dtype: 'float16' }).catch((e) => e);
  t.equal(err.code, 'ERR_INVALID_ARGUMENT');
  t.match(err.message, /float16 needs a CUDA device; use float32 or bfloat16/);
});

t.test('int8 models load with their quantized engine and agree with fp32', async (t) => {
  const texts = maskCorpus(60, 83, 40);
  const fp32 = await answers(testModel('tiny'), texts);
  const int8 = await answers(testModel('int8'), texts);
  let top1 = 0,
    n = 0;
  texts.forEach((_, i) =>
    top(int8.out[i]).forEach((preds, m) => {
      top1 += preds[0].token === top(fp32.out[i])[m][0].token ? 1 : 0;
      n++;
    }),
  );
  t.ok(top1 / n >= 0.8, `fill-mask top-1 agreement ${(top1 / n).toFixed(3)}`);
  const a = await Engine.load({ model: testModel('classify') });
  const b = await Engine.load({ model: testModel('classify-int8') });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const words = maskCorpus(100, 84, 30).map((s) => s.replace(/\[MASK\]/g, 'x'));
  const [la, lb] = await Promise.all([a.classify(words), b.classify(words)]);
  const agree = la.filter((x, i) => x[0].label === lb[i][0].label).length / words.length;
  t.ok(agree >= 0.8, `classification label agreement ${agree.toFixed(3)}`);
});

t.test('a faster path that does not reproduce forward on the probe is not used', async (t) => {
  // Both are wrong in ways a one-row, all-ones probe cannot see (ids equal to the mask, nothing
  // padded); the padded probe of distinct ids sees both, and the next path answers (forward's own
  // bert and cls calls, mapped from its graph).
  const texts = maskCorpus(30, 86, 30);
  const tiny = await answers(testModel('tiny'), texts);
  for (const name of ['fast-path-swapped', 'fast-path-inverted-mask']) {
    const got = await answers(testModel(name), texts, { warmup: false });
    t.equal(got.info.taskInfo.head_path, 'encoder_then_head', `${name}: its fill_mask_logits is not used`);
    let worst = 0,
      ids = 0;
    texts.forEach((_, i) =>
      top(got.out[i]).forEach((preds, m) =>
        preds.forEach((p, k) => {
          const q = top(tiny.out[i])[m][k];
          if (p.token !== q.token) ids++;
          worst = Math.max(worst, Math.abs(p.score - q.score));
        }),
      ),
    );
    t.equal(ids, 0, `${name}: tiny's ids`);
    t.ok(worst <= 1e-5, `${name}: tiny's scores (worst ${worst.toExponential(2)})`);
  }
});

t.test("float32 linear layers run packed where the CPU has AVX2, with libtorch's answers", async (t) => {
  const avx2 = /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8')) && /\bfma\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  const texts = maskCorpus(40, 86, 40);
  for (const name of ['tiny', 'mlm-traced']) {
    const packed = await answers(testModel(name), texts);
    if (avx2)
      t.match(packed.info.linearKernel, /^\d+ linear layers packed for the CPU .*GELU fused/, `${name}: ${packed.info.linearKernel}`);
    else t.equal(packed.info.linearKernel, 'libtorch linear layers');
    // BERT_SERVE_PACKED_LINEAR=0 (read at each load) keeps libtorch's own linear layers.
    process.env.BERT_SERVE_PACKED_LINEAR = '0';
    let plain;
    try {
      plain = await answers(testModel(name), texts);
    } finally {
      delete process.env.BERT_SERVE_PACKED_LINEAR;
    }
    t.equal(plain.info.linearKernel, 'libtorch linear layers');
    let worst = 0,
      idMismatch = 0;
    texts.forEach((_, i) =>
      top(plain.out[i]).forEach((preds, m) =>
        preds.forEach((p, k) => {
          const q = top(packed.out[i])[m][k];
          if (p.token !== q.token) idMismatch++;
          worst = Math.max(worst, Math.abs(p.score - q.score));
        }),
      ),
    );
    t.equal(idMismatch, 0, `${name}: same ids`);
    t.ok(worst <= 1e-5, `${name}: scores within 1e-5 (worst ${worst.toExponential(2)})`);
  }
});
