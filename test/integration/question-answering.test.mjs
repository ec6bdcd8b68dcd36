// Extractive question answering against the eager reference (scripts/reference.py: the model's start
// and end logits in plain PyTorch, one pair at a time, then transformers' span search and word
// alignment ported there in numpy), for the exported fixture (forward -> [b, s, 2]) and a plain
// trace (-> (start_logits, end_logits)) of the same weights, every option varied, the pairs run as
// one batched list; then what the library refuses and why.
import t from 'tap';
import { Engine } from '../../dist/engine.js';
import { rng } from '../../bench/corpus.js';
import { corpus, runPython, testModel } from './fixtures.mjs';

/**
 * Question/context pairs from the varied corpus (accents, other scripts, emoji, punctuation). Every
 * context has 3+ words: as many spans of nonzero score as the top_k asked for below (with fewer, the
 * pipeline fills its list with zero-score spans at [CLS], which the engine leaves out).
 */
function pairs(n, seed) {
  const r = rng(seed);
  const texts = corpus(2 * n, seed, 30);
  return Array.from({ length: n }, (_, i) => ({
    question:
      texts[2 * i]
        .split(' ')
        .slice(0, 1 + Math.floor(r() * 6))
        .join(' ') + '?',
    context: `${texts[2 * i + 1]} in the city${r() < 0.5 ? ' ' + texts[(2 * i + 3) % texts.length] : ''}`,
  }));
}

/** The reference's request for one pair: the ids as the engine encodes the pair, the context's tokens counted independently. */
function referenceRequest(tok, { question, context }, options) {
  const e = tok.encode(question, { pair: context });
  // [CLS] question [SEP] context [SEP]: the context starts after the question's own tokens.
  const q = tok.encode(question, { addSpecialTokens: false }).ids.length;
  return {
    task: 'qa',
    ids: e.ids,
    token_type_ids: e.typeIds,
    offsets: e.offsets,
    context,
    context_tokens: [q + 2, e.ids.length - 2],
    cls_id: tok.info.specialIds.cls,
    ...options,
  };
}

const asList = (a) => (Array.isArray(a) ? a : [a]);

const OPTION_SETS = [
  [{}, {}],
  [{ topK: 3 }, { top_k: 3 }],
  [
    { topK: 2, maxAnswerLen: 3, alignToWords: false },
    { top_k: 2, max_answer_len: 3, align_to_words: false },
  ],
  // Every one-token span and the null answer (these weights never rank it first). Past the context's
  // spans the pipeline fills its top_k with spans of score 0 at [CLS] (0..0, and 0..e), which the
  // engine leaves out: they are dropped from the reference's list before comparing.
  [
    { topK: 100, maxAnswerLen: 1, handleImpossibleAnswer: true },
    { top_k: 100, max_answer_len: 1, handle_impossible_answer: true },
  ],
];

for (const name of ['qa', 'qa-traced']) {
  t.test(`${name}: answers, scores and offsets as the reference's, every option, batched`, async (t) => {
    const model = testModel(name);
    // No warm-up: it times the model at every length, which this comparison does not need.
    const engine = await Engine.load({ model, maxBatchDelayMs: 2, warmup: false });
    t.teardown(() => engine.close());
    t.equal(engine.task, 'question-answering');
    const list = pairs(24, name === 'qa' ? 31 : 32);
    const ref = runPython(
      'reference.py',
      [model],
      OPTION_SETS.flatMap(([, wire]) => list.map((p) => referenceRequest(engine.tokenizer, p, wire))),
    );
    let compared = 0,
      worst = 0,
      nulls = 0;
    for (const [k, [options]] of OPTION_SETS.entries()) {
      const got = await engine.questionAnswering(list, options); // one call: the pairs share batches
      list.forEach((p, i) => {
        const want = ref[k * list.length + i].answer;
        t.equal(Array.isArray(got[i]), Array.isArray(want), `pair ${i}, ${JSON.stringify(options)}: one answer or a list`);
        const g = asList(got[i]),
          w = asList(want).filter((a) => a.score > 0);
        t.same(
          g.map((a) => [a.start, a.end, a.answer]),
          w.map((a) => [a.start, a.end, a.answer]),
          `pair ${i}, ${JSON.stringify(options)}: spans`,
        );
        for (const [j, a] of g.entries()) {
          worst = Math.max(worst, Math.abs(a.score - (w[j]?.score ?? NaN)) || 0);
          t.equal(a.answer, p.context.slice(a.start, a.end), 'the answer is context.slice(start, end)');
          if (a.answer === '') nulls++;
        }
        compared += g.length;
      });
    }
    t.ok(worst <= 1e-5, `worst score difference ${worst.toExponential(2)} over ${compared} answers`);
    t.ok(nulls > 0, `the null answer was among the best for ${nulls} pairs (handle_impossible_answer)`);
    // Batch invariance: the same span alone and among others (scores within float32 rounding).
    const alone = await engine.questionAnswering(list[0], { topK: 3 });
    const batched = (await engine.questionAnswering(list.slice(0, 3), { topK: 3 }))[0];
    t.same(
      alone.map((a) => [a.start, a.end]),
      batched.map((a) => [a.start, a.end]),
      'alone and in a batch: the same spans',
    );
    t.ok(
      alone.every((a, i) => Math.abs(a.score - batched[i].score) <= 1e-6),
      'and the same scores',
    );
  });
}

t.test('refused: missing or empty fields, wrong types, options out of range, no tokens, a context over the limit', async (t) => {
  // truncate: true is the engine's default for other tasks here; a context is still never cut.
  const engine = await Engine.load({ model: testModel('qa'), maxTokens: 24, truncate: true, warmup: false });
  t.teardown(() => engine.close());
  const ok = { question: 'who?', context: 'john smith lives in paris' };
  const cases = [
    [{ context: 'x' }, /inputs\.question/],
    [{ question: 'q', context: '' }, /inputs\.context/],
    [{ question: 3, context: 'x' }, /inputs\.question/],
    ['who lives here?', /inputs/],
    [[], /inputs/],
    [[ok, null], /inputs\[1\]/],
  ];
  for (const [input, message] of cases)
    await t.rejects(engine.questionAnswering(input), { code: 'ERR_INVALID_ARGUMENT', message }, JSON.stringify(input));
  for (const options of [{ topK: 0 }, { topK: 101 }, { maxAnswerLen: 0 }, { handleImpossibleAnswer: 'yes' }, { alignToWords: 1 }])
    await t.rejects(engine.questionAnswering(ok, options), { code: 'ERR_INVALID_ARGUMENT' }, JSON.stringify(options));
  await t.rejects(engine.questionAnswering({ question: ' \t ', context: 'x y' }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /has no tokens/,
  });
  await t.rejects(engine.questionAnswering({ question: 'who?', context: 'word '.repeat(40) }), {
    code: 'ERR_INPUT_TOO_LONG',
    message: /limit is 24; question answering does not cut or split a context/,
  });
  t.match(await engine.questionAnswering(ok), { answer: String, score: Number, start: Number, end: Number }, 'still answers');
  const classify = await Engine.load({ model: testModel('classify'), warmup: false });
  t.teardown(() => classify.close());
  await t.rejects(classify.questionAnswering(ok), { code: 'ERR_WRONG_TASK', message: /BertForQuestionAnswering/ });
});
