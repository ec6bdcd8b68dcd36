// Differential test, long run: our native tokenizer against Hugging Face's own Rust tokenizer (npm
// `tokenizers`, the oracle) for every tokenizer kind, on
//   - 4,000 generated strings per kind, a new seed each run (TOKENIZER_FUZZ_COUNT; every Unicode plane, recent code
//     points, controls, whitespace runs, special tokens written in the text, long words, lone
//     surrogates), plus fixed corner cases: ids, offsets and type ids with and without special
//     tokens on all of them; pairs, truncation (right/left, single/pair) and decode on 1,000;
//   - held-out real text: up to 40 translations per language from the system's gettext catalogs
//     the XLM-R fixture was not trained on (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari,
//     Bengali, Tamil, Thai, Georgian, Armenian, Ethiopic, Khmer, CJK, Hangul, ...): ids, offsets
//     and type ids with and without special tokens on all of them; pairs, truncation and decode on
//     a sample of 1,500 drawn from the seed (TOKENIZER_HELD_OUT_CHECKS=all for every one; of about 6,500 texts: the ten
//     truncations of every one were most of this file's time, docs/testing.md);
//   - mark, format, punctuation and symbol code points on their own (a seeded sample of 3,000 of
//     about 12,000; TOKENIZER_PROBES=all for every one): where
//     the Unicode versions of Hugging Face's crates and ours (utf8proc, Oniguruma) differ, the
//     generated tables must make the answers equal.
// Zero mismatches expected. It prints what it covered. Seed: printed; TOKENIZER_FUZZ_SEED replays.
import t from 'tap';
import { CORNERS, compareKind, generator, heldOutText, loadKinds, reportMismatches, scriptsOf } from '../helpers/tokenizer-oracle.mjs';
import { rng } from '../../bench/corpus.js';

t.setTimeout(1_800_000);
const COUNT = Number(process.env.TOKENIZER_FUZZ_COUNT ?? 4000);
const SEED =
  process.env.TOKENIZER_FUZZ_SEED !== undefined ? Number(process.env.TOKENIZER_FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
t.comment(`TOKENIZER_FUZZ_SEED=${SEED} TOKENIZER_FUZZ_COUNT=${COUNT}`);

const kinds = loadKinds();
const generate = generator(SEED);
const generated = Array.from({ length: COUNT }, generate);
const held = heldOutText(40, SEED);
const scripts = scriptsOf(held.texts);
const HELD_CHECKS = process.env.TOKENIZER_HELD_OUT_CHECKS === 'all' ? Infinity : Number(process.env.TOKENIZER_HELD_OUT_CHECKS ?? 1500);
const pickHeld = rng((SEED ^ 0x85ebca6b) >>> 0);
const heldSample = held.texts.length <= HELD_CHECKS ? held.texts : held.texts.filter(() => pickHeld() < HELD_CHECKS / held.texts.length);
t.comment(`held-out text: pairs, truncation and decode on ${heldSample.length} (TOKENIZER_HELD_OUT_CHECKS=all for every one)`);
t.comment(
  `held-out text: ${held.texts.length} translations in ${held.languages} languages; characters per script: ${JSON.stringify(scripts)}`,
);

const SKEW_CANDIDATE = /[\p{M}\p{Cf}\p{P}\p{S}\p{Zs}]/u;
const candidates = [];
for (let cp = 0x80; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const ch = String.fromCodePoint(cp);
  if (SKEW_CANDIDATE.test(ch)) candidates.push(`a${ch}b ${ch} X${ch}${ch}c x${ch} ${ch}1`);
}
// Every candidate (about 12,000 per kind) with TOKENIZER_PROBES=all; by default a sample drawn from
// the seed, different at every run, so that CI stays within its time (the whole set was run, 0
// mismatches, when the tables were generated: docs/tokenizer.md).
const PROBES = process.env.TOKENIZER_PROBES === 'all' ? Infinity : Number(process.env.TOKENIZER_PROBES ?? 3000);
const pickProbe = rng((SEED ^ 0x9e3779b9) >>> 0);
const probes = candidates.length <= PROBES ? candidates : candidates.filter(() => pickProbe() < PROBES / candidates.length);
t.comment(`code point probes: ${probes.length} of ${candidates.length} (TOKENIZER_PROBES=all for every one)`);

t.test('the held-out text covers several scripts', async (t) => {
  const present = Object.keys(scripts).filter((s) => scripts[s] >= 100);
  t.ok(present.length >= 10, `${present.length} scripts with 100+ characters: ${present.join(', ')}`);
  t.ok(held.languages >= 50, `${held.languages} languages`);
});

for (const kind of kinds) {
  t.test(
    `${kind.name}: ${COUNT} generated strings, ${held.texts.length} held-out texts (${heldSample.length} with pairs, truncation, decode), ${probes.length} code point probes equal the oracle`,
    async (t) => {
      const started = Date.now();
      const all = [...CORNERS, ...generated];
      const single = await compareKind(kind, all, { single: true });
      const rest = await compareKind(kind, all.slice(0, 1000), { pair: true, truncation: true, decode: true });
      const real = await compareKind(kind, held.texts, { single: true });
      const realRest = await compareKind(kind, heldSample, { pair: true, truncation: true, decode: true });
      const skew = await compareKind(kind, probes, { single: true });
      for (const [what, r] of [
        ['generated', single],
        ['generated: pairs, truncation, decode', rest],
        ['held-out', real],
        ['held-out: pairs, truncation, decode', realRest],
        ['probes', skew],
      ]) {
        reportMismatches(t, `${kind.name} ${what}`, r.mismatches);
        t.comment(`[${kind.name}] ${what}: ${JSON.stringify(r.counts)}, ${r.mismatches.length} mismatches`);
        t.equal(r.mismatches.length, 0, `${what}: zero mismatches`);
      }
      t.comment(`[${kind.name}] ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
  );
}
