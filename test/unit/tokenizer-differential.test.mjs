// Differential test, quick slice: our native tokenizer against Hugging Face's own Rust tokenizer (npm
// `tokenizers`, the oracle) on the same tokenizer.json, for every kind (BERT WordPiece on the fast
// path and on the general pipeline, cased BERT from vocab.txt, RoBERTa byte-level BPE, XLM-R
// Unigram with the precompiled charsmap, MPNet WordPiece + RobertaProcessing): fixed corner cases,
// a few hundred generated strings and one held-out real text per language the system ships. Ids,
// UTF-16 offsets and type ids with and without special tokens, pairs, truncation (right/left,
// single/pair) and decode must all be equal. test/long/tokenizer-differential.test.mjs runs the
// same comparison on 10,000+ strings per kind; test/helpers/tokenizer-oracle.mjs has the details.
//
// Seed: printed; TOKENIZER_FUZZ_SEED replays a run.
import t from 'tap';
import { CORNERS, compareKind, generator, heldOutText, loadKinds, reportMismatches } from '../helpers/tokenizer-oracle.mjs';

t.setTimeout(300_000);
const SEED =
  process.env.TOKENIZER_FUZZ_SEED !== undefined ? Number(process.env.TOKENIZER_FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
t.comment(`TOKENIZER_FUZZ_SEED=${SEED}`);

const kinds = loadKinds();
const generate = generator(SEED);
const generated = Array.from({ length: 150 }, generate);
const held = heldOutText(1, SEED);

for (const kind of kinds) {
  t.test(
    `${kind.name}: corner cases, 150 generated strings, ${held.texts.length} held-out texts (${held.languages} languages) equal the oracle`,
    async (t) => {
      const { mismatches, counts } = await compareKind(kind, [...CORNERS, ...generated, ...held.texts]);
      reportMismatches(t, kind.name, mismatches);
      t.comment(`[${kind.name}] ${JSON.stringify(counts)}`);
      t.equal(mismatches.length, 0, 'zero mismatches');
    },
  );
}
