// The native tokenizer through the library API against the Hugging Face golden vectors
// (../shared/data/wordpiece-golden-uncased-hf.jsonl: BertTokenizerFast ids and tokens, no specials),
// loaded both from vocab.txt and from tokenizer.json. Offsets are checked for shape: every token's
// [start, end) is a non-empty slice of the input, in order.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../dist/tokenizer.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sharedData = process.env.BERT_SERVE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
const lines = readFileSync(join(sharedData, 'wordpiece-golden-uncased-hf.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .map((l) => JSON.parse(l));

t.equal(lines.length, 483, 'all 483 golden lines are read');

for (const file of ['bert-base-uncased-vocab.txt', 'bert-base-uncased-tokenizer.json']) {
  t.test(`every golden line matches (${file})`, async (t) => {
    const tok = Tokenizer.load(join(sharedData, file));
    let bad = 0;
    for (const [i, g] of lines.entries()) {
      const e = tok.encode(g.text, { addSpecialTokens: false });
      const same = e.ids.length === g.ids.length && e.ids.every((id, k) => id === g.ids[k]) && e.tokens.every((s, k) => s === g.tokens[k]);
      if (!same) {
        bad++;
        if (bad <= 5) t.fail(`line ${i + 1}: ${JSON.stringify(g.text).slice(0, 120)}`, { expected: g.tokens, actual: e.tokens });
      }
    }
    t.equal(bad, 0, 'no line differs');
  });
}

t.test('with special tokens: [CLS] ... [SEP] around the golden ids, offsets in order', async (t) => {
  const tok = Tokenizer.load(join(sharedData, 'bert-base-uncased-vocab.txt'));
  let bad = 0;
  for (const g of lines) {
    const e = tok.encode(g.text);
    const ids = [101, ...g.ids, 102];
    if (e.ids.length !== ids.length || e.ids.some((id, k) => id !== ids[k])) bad++;
    const [first, last] = [e.offsets[0], e.offsets[e.offsets.length - 1]];
    if (first[0] !== 0 || first[1] !== 0 || last[0] !== 0 || last[1] !== 0) bad++;
    let prevEnd = 0;
    for (let k = 1; k < e.offsets.length - 1; k++) {
      const [s, end] = e.offsets[k];
      // A token never starts before the previous one ended, except pieces of one input character
      // (e.g. two tokens from one decomposed Hangul syllable share its range).
      if (!(s < end && end <= g.text.length && (s >= prevEnd || end <= prevEnd))) bad++;
      prevEnd = Math.max(prevEnd, end);
    }
  }
  t.equal(bad, 0);
});
