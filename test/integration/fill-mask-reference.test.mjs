// Numerical contract (docs/http.md, docs/models.md): the engine's fill-mask answers match an eager PyTorch reference on
// the same weights (scripts/reference_fill_mask.py, one sequence at a time, no padding): same top-5
// ids, scores within 1e-4; and batch invariance: a text answered alone and inside batches with texts
// of very different lengths gets the same answer.
import t from 'tap';
import { Engine } from '../../dist/engine.js';
import { demoModel, maskCorpus, runPython, compareTopK } from './fixtures.mjs';

const TOL = 1e-4;
const perMask = (answer) => (Array.isArray(answer[0]) ? answer : [answer]);

t.test('engine vs eager PyTorch reference, 240 texts', async (t) => {
  const engine = await Engine.load({ model: demoModel, maxBatchDelayMs: 2 });
  t.teardown(() => engine.close());
  const texts = maskCorpus(240, 7, 120);
  // Engine answers, submitted together so they are batched with mixed lengths.
  const answers = await Promise.all(texts.map((x) => engine.fillMask(x)));
  const tokens = await Promise.all(texts.map((x) => engine.tokenize(x)));
  const ref = runPython(
    'reference_fill_mask.py',
    [demoModel],
    tokens.map((toks) => ({ ids: toks.map((k) => k.id), top_k: 5 })),
  );
  t.equal(ref.length, texts.length, 'one reference answer per text');
  let failures = 0;
  let maxDiff = 0;
  texts.forEach((text, i) => {
    const got = perMask(answers[i]);
    const want = ref[i].top;
    if (got.length !== want.length) {
      failures++;
      t.fail(`mask count differs for ${JSON.stringify(text)}`);
      return;
    }
    got.forEach((preds, m) => {
      const g = preds.map((p) => ({ id: p.token, score: p.score }));
      for (let k = 0; k < g.length; k++) maxDiff = Math.max(maxDiff, Math.abs(g[k].score - want[m][k].score));
      const why = compareTopK(g, want[m], TOL);
      if (why) {
        failures++;
        t.fail(`${JSON.stringify(text)} mask ${m}: ${why}`);
      }
    });
  });
  t.equal(failures, 0, `all texts agree (max score difference ${maxDiff.toExponential(2)})`);
  const s = engine.stats();
  t.ok(s.meanBatchSize > 1, `requests were batched (mean batch size ${s.meanBatchSize.toFixed(2)})`);
});

t.test('batch invariance: alone vs inside mixed-length batches', async (t) => {
  const engine = await Engine.load({ model: demoModel, maxBatchDelayMs: 5 });
  t.teardown(() => engine.close());
  const probes = maskCorpus(30, 11, 20);
  const fillers = maskCorpus(120, 12, 200);
  const alone = [];
  for (const p of probes) alone.push(await engine.fillMask(p));
  // Each probe inside a crowd of long and short texts.
  const crowded = await Promise.all(
    probes.map((p, i) => {
      const crowd = fillers.slice((i * 4) % 116, ((i * 4) % 116) + 4).map((f) => engine.fillMask(f));
      return Promise.all([engine.fillMask(p), ...crowd]).then((r) => r[0]);
    }),
  );
  let failures = 0;
  probes.forEach((p, i) => {
    const a = perMask(alone[i]),
      b = perMask(crowded[i]);
    a.forEach((preds, m) => {
      const why = compareTopK(
        b[m].map((x) => ({ id: x.token, score: x.score })),
        preds.map((x) => ({ id: x.token, score: x.score })),
        TOL,
      );
      if (why) {
        failures++;
        t.fail(`${JSON.stringify(p)}: ${why}`);
      }
      t.same(
        b[m].map((x) => x.sequence),
        preds.map((x) => x.sequence),
        'same sequences',
      );
    });
  });
  t.equal(failures, 0, 'every probe answered the same alone and batched');
  t.ok(engine.stats().meanBatchSize > 1, 'probes really shared batches');
});
