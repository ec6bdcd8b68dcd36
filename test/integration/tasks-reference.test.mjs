// Numerical contract for every task (embeddings, classification, rerank, token classification),
// against the eager PyTorch reference (scripts/reference.py: one sequence at a time, no padding, fp32)
// on the same weights, over 200+ varied texts and pairs each; and batch invariance (alone vs inside
// mixed-length batches). Exported and plainly traced (torch.jit.trace, tuple outputs) files alike.
import t from 'tap';
import { Engine } from '../../dist/engine.js';
import { corpus, runPython, testModel } from './fixtures.mjs';

/** Token ids and token_type_ids of a text or pair, as the engine encodes it ([CLS] a [SEP] b [SEP]). */
function encode(tok, text, pair) {
  const a = tok.encode(text);
  if (pair === undefined) return { ids: a.ids, token_type_ids: a.ids.map(() => 0) };
  const b = tok.encode(pair, { addSpecialTokens: false });
  return { ids: [...a.ids, ...b.ids, a.ids[a.ids.length - 1]], token_type_ids: [...a.ids.map(() => 0), ...b.ids.map(() => 1), 1] };
}

const cosine = (a, b) => {
  let d = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
};
const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

// The pooling each fixture's directory implies: sentence-transformers' 1_Pooling (mean), else cls.
const POOLING = { embed: 'mean', 'embed-cls': 'cls', 'embed-traced': 'mean', 'embed-traced-nopooler': 'cls' };
for (const name of Object.keys(POOLING)) {
  t.test(`embeddings (${name}) vs reference: cosine >= 0.99999, max abs diff <= 1e-5`, async (t) => {
    const model = testModel(name);
    const engine = await Engine.load({ model, maxBatchDelayMs: 2 });
    t.teardown(() => engine.close());
    const texts = corpus(220, 21);
    const vectors = await engine.embed(texts, { normalize: false });
    const pooling = engine.info.taskInfo.pooling;
    t.equal(pooling, POOLING[name], 'pooling from the model directory');
    const ref = runPython(
      'reference.py',
      [model],
      texts.map((x) => ({ task: 'embed', ids: engine.tokenizer.encode(x).ids, pooling })),
    );
    let worstCos = 1,
      worstAbs = 0;
    texts.forEach((_, i) => {
      worstCos = Math.min(worstCos, cosine(vectors[i], ref[i].embedding));
      worstAbs = Math.max(worstAbs, maxAbs(vectors[i], ref[i].embedding));
    });
    t.ok(worstCos >= 0.99999, `worst cosine ${worstCos}`);
    t.ok(worstAbs <= 1e-5, `worst abs diff ${worstAbs.toExponential(2)}`);
    // dimensions (Matryoshka, as OpenAI's and TEI's): the reference's first N values, L2-normalized
    // again when normalize is on (the default), as they are when it is off.
    const some = texts.slice(0, 12);
    for (const n of [1, 7, 16, vectors[0].length]) {
      const cut = await engine.embed(some, { dimensions: n });
      const raw = await engine.embed(some, { dimensions: n, normalize: false });
      t.same(
        [...cut, ...raw].map((v) => v.length),
        Array(2 * some.length).fill(n),
        `${n} dimensions`,
      );
      let worstCut = 0,
        worstRaw = 0;
      some.forEach((_, i) => {
        const want = ref[i].embedding.slice(0, n);
        const norm = Math.hypot(...want);
        worstCut = Math.max(
          worstCut,
          maxAbs(
            cut[i],
            want.map((v) => v / norm),
          ),
        );
        worstRaw = Math.max(worstRaw, maxAbs(raw[i], want));
      });
      t.ok(
        worstCut <= 1e-5,
        `dimensions ${n}: the reference's first ${n} values re-normalized (max abs diff ${worstCut.toExponential(2)})`,
      );
      t.ok(
        worstRaw <= 1e-5,
        `dimensions ${n}, normalize false: the reference's first ${n} values (max abs diff ${worstRaw.toExponential(2)})`,
      );
    }
    const over = await engine.embed(['x'], { dimensions: vectors[0].length + 1 }).catch((e) => e);
    t.equal(over.code, 'ERR_INVALID_ARGUMENT');
    t.equal(
      over.message,
      `Expected an integer between 1 and ${vectors[0].length} (this model's embedding size) for dimensions but received number ${vectors[0].length + 1}`,
    );
    await t.rejects(engine.embed(['x'], { dimensions: 0 }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /Expected a positive integer for dimensions/,
    });
    // Pairs carry token types: the same as the reference with token_type_ids 1 on the second text.
    const pairs = corpus(20, 22).map((x, i) => ({ text: x, text_pair: texts[i] }));
    if (engine.info.forwardInputs === 3) {
      const got = (await engine.embedJson(pairs, { normalize: false })).body;
      const rows = JSON.parse(got.toString());
      const want = runPython(
        'reference.py',
        [model],
        pairs.map((p) => ({ task: 'embed', ...encode(engine.tokenizer, p.text, p.text_pair), pooling })),
      );
      const worst = Math.min(...rows.map((r, i) => cosine(r, want[i].embedding)));
      t.ok(worst >= 0.99999, `pairs: worst cosine ${worst}`);
    }
  });
}

t.test('embed_all: every token row, as last_hidden_state', async (t) => {
  const model = testModel('embed');
  const engine = await Engine.load({ model });
  t.teardown(() => engine.close());
  const texts = corpus(30, 31);
  const rows = JSON.parse((await engine.embedAllJson(texts)).body.toString());
  const ref = runPython(
    'reference.py',
    [model],
    texts.map((x) => ({ task: 'embed_all', ids: engine.tokenizer.encode(x).ids })),
  );
  let worst = 0;
  texts.forEach((_, i) => {
    t.equal(rows[i].length, ref[i].embeddings.length, `text ${i}: one row per token`);
    rows[i].forEach((row, k) => {
      worst = Math.max(worst, maxAbs(row, ref[i].embeddings[k]));
    });
  });
  t.ok(worst <= 1e-5, `worst abs diff ${worst.toExponential(2)}`);
});

for (const name of ['classify', 'classify-multi', 'classify-traced']) {
  t.test(`classification (${name}) vs reference: scores within 1e-5, same order`, async (t) => {
    const model = testModel(name);
    const engine = await Engine.load({ model, maxBatchDelayMs: 2 });
    t.teardown(() => engine.close());
    const texts = corpus(210, 41);
    const withPairs = engine.info.forwardInputs === 3;
    const inputs = texts.map((x, i) => (withPairs && i % 3 === 0 ? { text: x, text_pair: texts[(i * 7) % texts.length] } : x));
    const got = await engine.classify(inputs, { topK: null });
    const ref = runPython(
      'reference.py',
      [model],
      inputs.map((x) => ({
        task: 'classify',
        ...(typeof x === 'string' ? encode(engine.tokenizer, x) : encode(engine.tokenizer, x.text, x.text_pair)),
      })),
    );
    let worst = 0,
      orderMismatches = 0;
    inputs.forEach((_, i) => {
      const want = ref[i].labels.map((label, k) => ({ label, score: ref[i].scores[k] })).sort((a, b) => b.score - a.score);
      for (const g of got[i]) worst = Math.max(worst, Math.abs(g.score - want.find((w) => w.label === g.label).score));
      if (got[i].map((g) => g.label).join() !== want.map((w) => w.label).join()) orderMismatches++;
    });
    t.ok(worst <= 1e-5, `worst score diff ${worst.toExponential(2)}`);
    t.equal(orderMismatches, 0, 'same label order everywhere');
    t.ok(new Set(got.map((g) => g[0].label)).size > 1, 'the fixture predicts more than one label');
    const top1 = await engine.classify(texts[0]);
    t.equal(top1.length, 1, 'topK defaults to 1');
  });
}

t.test('rerank (one-label cross-encoder) vs reference: same order, sigmoid scores within 1e-5', async (t) => {
  const model = testModel('rerank');
  const engine = await Engine.load({ model, maxBatchDelayMs: 2 });
  t.teardown(() => engine.close());
  const queries = corpus(10, 51, 8);
  const docs = corpus(25, 52);
  // One reference run for every (query, doc) pair (a Python start costs seconds).
  const ref = runPython(
    'reference.py',
    [model],
    queries.flatMap((q) => docs.map((d) => ({ task: 'classify', ...encode(engine.tokenizer, q, d) }))),
  );
  let worst = 0;
  for (const [qi, q] of queries.entries()) {
    const got = await engine.rerank(q, docs);
    const want = docs
      .map((_, index) => ({ index, score: ref[qi * docs.length + index].scores[0] }))
      .sort((a, b) => b.score - a.score || a.index - b.index);
    t.same(
      got.map((g) => g.index),
      want.map((w) => w.index),
      `order for ${JSON.stringify(q)}`,
    );
    got.forEach((g) => {
      worst = Math.max(worst, Math.abs(g.score - want.find((w) => w.index === g.index).score));
    });
  }
  t.ok(worst <= 1e-5, `worst score diff ${worst.toExponential(2)}`);
  await t.rejects(
    Engine.load({ model: testModel('classify') }).then(async (e) => {
      try {
        await e.rerank('q', ['d']);
      } finally {
        await e.close();
      }
    }),
    { code: 'ERR_WRONG_TASK' },
    'rerank on a 3-label model is refused',
  );
});

for (const name of ['ner', 'ner-traced']) {
  t.test(`token classification (${name}) vs the pipeline's post-processing: identical entities`, async (t) => {
    const model = testModel(name);
    const engine = await Engine.load({ model, maxBatchDelayMs: 2 });
    t.teardown(() => engine.close());
    const texts = corpus(200, 61);
    const strategies = ['none', 'simple', 'first', 'average', 'max'];
    const lines = texts.map((x) => {
      const e = engine.tokenizer.encode(x);
      // The fast tokenizer's special_tokens_mask: added [CLS]/[SEP] and special tokens typed in the text.
      const { cls, sep, pad, mask, unk } = engine.tokenizer.info.specialIds;
      const special = e.ids.map((id, k) => [cls, sep, pad, mask].includes(id) || (id === unk && x.slice(...e.offsets[k]) === '[UNK]'));
      return { task: 'token_classify', ids: e.ids, text: x, offsets: e.offsets, tokens: e.tokens, special };
    });
    // One reference run for every strategy (a Python start costs seconds): texts.length lines each.
    const refs = runPython(
      'reference.py',
      [model],
      strategies.flatMap((strategy) => lines.map((l) => ({ ...l, aggregation_strategy: strategy }))),
    );
    for (const [n, strategy] of strategies.entries()) {
      const got = await engine.tokenClassify(texts, { aggregationStrategy: strategy });
      const ref = refs.slice(n * texts.length, (n + 1) * texts.length);
      let mismatches = 0,
        worst = 0,
        entities = 0;
      texts.forEach((_, i) => {
        const want = ref[i].entities;
        entities += want.length;
        const strip = (list) => list.map(({ score, ...rest }) => rest);
        if (JSON.stringify(strip(got[i])) !== JSON.stringify(strip(want))) {
          if (mismatches++ < 3)
            t.fail(`${strategy} ${JSON.stringify(texts[i])}: ${JSON.stringify(strip(got[i]))} vs ${JSON.stringify(strip(want))}`);
          return;
        }
        got[i].forEach((g, k) => {
          worst = Math.max(worst, Math.abs(g.score - want[k].score));
        });
      });
      t.equal(mismatches, 0, `${strategy}: words, offsets, labels and groups identical (${entities} entities)`);
      t.ok(worst <= 1e-5, `${strategy}: worst score diff ${worst.toExponential(2)}`);
    }
  });
}

t.test('batch invariance for every task: alone vs inside mixed-length batches', async (t) => {
  const cases = [
    ['embed', (e, x) => e.embedJson([x], { normalize: false })],
    ['classify', (e, x) => e.classifyJson([x], { topK: null })],
    ['ner', (e, x) => e.tokenClassifyJson(x, { aggregationStrategy: 'none' })],
  ];
  for (const [name, call] of cases) {
    const engine = await Engine.load({ model: testModel(name), maxBatchDelayMs: 5 });
    const probes = corpus(20, 71, 10);
    const fillers = corpus(80, 72, 120);
    const alone = [];
    for (const p of probes) alone.push(JSON.parse((await call(engine, p)).body.toString()));
    const mixed = await Promise.all([...fillers.map((f) => call(engine, f)), ...probes.map((p) => call(engine, p))]);
    const inBatch = mixed.slice(fillers.length).map((a) => JSON.parse(a.body.toString()));
    let worst = 0,
      structural = 0;
    const walk = (a, b) => {
      if (typeof a === 'number') {
        worst = Math.max(worst, Math.abs(a - b));
        return;
      }
      if (Array.isArray(a)) {
        if (!Array.isArray(b) || a.length !== b.length) {
          structural++;
          return;
        }
        a.forEach((x, i) => walk(x, b[i]));
        return;
      }
      if (a && typeof a === 'object') {
        for (const k of Object.keys(a)) {
          if (typeof a[k] === 'number') walk(a[k], b[k]);
          else if (JSON.stringify(a[k]) !== JSON.stringify(b[k]) && typeof a[k] !== 'object') structural++;
          else walk(a[k], b[k]);
        }
      }
    };
    probes.forEach((_, i) => walk(alone[i], inBatch[i]));
    t.equal(structural, 0, `${name}: same labels / shapes alone and batched`);
    t.ok(worst <= 1e-4, `${name}: worst difference ${worst.toExponential(2)}`);
    t.ok(engine.stats().meanBatchSize > 1, `${name}: batched (mean ${engine.stats().meanBatchSize.toFixed(2)})`);
    await engine.close();
  }
});
