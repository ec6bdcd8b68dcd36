// The fill-mask answer-size estimate is a lower bound of the real answer (it never refuses an
// answer that fits) and grows as inputs x masks x top_k.
import t from 'tap';
import { countOccurrences, estimateFillMaskAnswerBytes, answerTooLargeMessage } from '../../dist/server/answer_size.js';

t.test('counting masks', async (t) => {
  t.equal(countOccurrences('a [MASK] b [MASK][MASK]', '[MASK]'), 3);
  t.equal(countOccurrences('no mask', '[MASK]'), 0);
  t.equal(countOccurrences('x', ''), 0);
});

t.test('a lower bound of a real answer', async (t) => {
  // A real answer's shape (the demo model's): one mask, top 5.
  const text = 'test [MASK]';
  const real = JSON.stringify([
    { score: 0.20150639116764069, token: 3156, token_str: '500', sequence: 'test 500' },
    { score: 0.0803859606385231, token: 22294, token_str: 'mort', sequence: 'test mort' },
    { score: 0.06557952612638474, token: 23906, token_str: 'denton', sequence: 'test denton' },
    { score: 0.04066647216677666, token: 19383, token_str: 'doubling', sequence: 'test doubling' },
    { score: 0.03441803157329559, token: 3287, token_str: 'male', sequence: 'test male' },
  ]);
  const est = estimateFillMaskAnswerBytes([text], 5, '[MASK]');
  t.ok(est > 0 && est <= real.length, `estimate ${est} <= real ${real.length}`);
});

t.test('the product: inputs x masks x top_k; targets cap k', async (t) => {
  const one = estimateFillMaskAnswerBytes(['[MASK] x'], 1, '[MASK]');
  const text = '[MASK] '.repeat(10) + 'x';
  const big = estimateFillMaskAnswerBytes(Array(32).fill(text), 1000, '[MASK]');
  t.ok(big > 32 * 10 * 1000 * 50, `32 inputs x 10 masks x top_k 1000: ${big} bytes`);
  t.ok(big > 1000 * one);
  t.equal(estimateFillMaskAnswerBytes(['a [MASK]'], 1000, '[MASK]', 3), estimateFillMaskAnswerBytes(['a [MASK]'], 3, '[MASK]'));
  t.equal(estimateFillMaskAnswerBytes(['no mask'], 5, '[MASK]'), 0, 'no mask: no predictions (the engine refuses it with 422)');
});

t.test('the message names the limit and the flag', async (t) => {
  t.match(answerTooLargeMessage(123, 100, true), /at least 123 bytes, over the limit of 100 bytes \(--max-answer-bytes\)/);
  t.notMatch(answerTooLargeMessage(123, 100, false), /at least/);
});

t.test('checkAnswerEstimate: 413 before the engine runs when the estimate is over the limit', async (t) => {
  const { checkAnswerEstimate } = await import('../../dist/server/pipeline.js');
  const sent = [];
  const ex = { sendError: (...a) => sent.push(a) };
  const ctx = { config: { maxAnswerBytes: 1000 } };
  t.equal(checkAnswerEstimate(ctx, ex, 1000), true, 'at the limit: admitted');
  t.equal(sent.length, 0);
  t.equal(checkAnswerEstimate(ctx, ex, 1001), false);
  t.equal(sent[0][0], 413);
  t.equal(sent[0][1], 'validation');
  t.match(sent[0][2], /at least 1001 bytes, over the limit of 1000 bytes \(--max-answer-bytes\)/);
});

t.test("/embed_all's estimate: a lower bound of tokens for every tokenizer kind served, x the vector's least bytes", async (t) => {
  const {
    minTokens,
    estimateAllTokensAnswerBytes,
    answerTooLargeMessage: message,
    ALL_TOKENS_HINT,
  } = await import('../../dist/server/answer_size.js');
  const { CORNERS, generator, loadKinds } = await import('../helpers/tokenizer-oracle.mjs');
  const seed = (Date.now() ^ (process.pid << 16)) >>> 0;
  t.comment(`seed ${seed}`);
  const generate = generator(seed);
  const texts = [...CORNERS, ...Array.from({ length: 200 }, generate), "hello, world! naïve café 東京 x1y2 ... don't", ' \t\n '];
  const families = loadKinds().filter((k) => ['bert-uncased', 'bert-cased', 'roberta', 'xlm-roberta', 'mpnet'].includes(k.name));
  t.equal(families.length, 5, 'WordPiece (uncased, cased), byte-level BPE, Unigram, MPNet');
  for (const kind of families) {
    const over = texts.filter((text) => minTokens(text, 1e9) > kind.ours.encode(text, { addSpecialTokens: false }).ids.length);
    t.same(over, [], `${kind.name}: never more than the real tokens, on ${texts.length} texts`);
  }
  t.equal(minTokens('a b c d e', 3), 3, 'capped at the tokens one text may have');
  t.equal(minTokens('... --- !!!', 100), 0, 'words without a letter or digit are not counted');
  t.equal(estimateAllTokensAnswerBytes(['one two', 'three'], 4, 512), 3 * (2 * 4 + 1));
  t.match(
    message(10, 5, true, ALL_TOKENS_HINT),
    /over the limit of 5 bytes \(--max-answer-bytes\); send fewer or shorter inputs.*POST \/embed/,
  );
});
