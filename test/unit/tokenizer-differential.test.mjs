// Differential test: our native tokenizer against Hugging Face's own Rust tokenizer (npm
// `tokenizers`, the oracle) on >= 10,000 generated strings per configuration per run, uncased
// (bert-base-uncased tokenizer.json) and cased (bert-base-cased vocab.txt + tokenizer_config.json
// do_lower_case=false for us; an equivalent tokenizer.json for the oracle). Ids AND offsets must
// match exactly; decode is compared too.
//
// Seed: printed; set TOKENIZER_FUZZ_SEED to replay a run. Count: TOKENIZER_FUZZ_COUNT (default 10000).
//
// Offsets: the oracle reports code-point (char) offsets; ours are JavaScript string (UTF-16) indices.
// The oracle's are converted to UTF-16 before comparing.
//
// Lone surrogates: a JS string may hold them and neither side can encode them as UTF-8; both
// receive them as U+FFFD through Node-API's UTF-8 conversion (which BertNormalizer then drops). They
// are generated on purpose and must match too, offsets included (one index each).
//
// Unicode version skew: Hugging Face's BertNormalizer/BertPreTokenizer take categories (control,
// punctuation, non-spacing mark) from the Rust crate unicode_categories 0.1.1, whose tables predate
// Unicode 9.0, and NFD from an equally old crate; utf8proc is Unicode 15. The native tokenizer follows
// Hugging Face through a table generated from this very oracle (scripts/gen-unicode-tables.mjs,
// docs/tokenizer.md), so the ~570 code points where the two Unicode versions disagree are generated
// like any other, and every mark, format, punctuation and symbol code point is also probed one by one
// before fuzzing: zero differences expected.
import t from 'tap';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../dist/tokenizer.js';
import { rng } from '../../bench/corpus.js';

const require = createRequire(import.meta.url);
const hf = require('tokenizers');

t.setTimeout(120_000);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sharedData = process.env.BERT_SERVE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
const COUNT = Number(process.env.TOKENIZER_FUZZ_COUNT ?? 10000);
const SEED = process.env.TOKENIZER_FUZZ_SEED !== undefined ? Number(process.env.TOKENIZER_FUZZ_SEED) >>> 0
  : (Date.now() ^ (process.pid << 16)) >>> 0;
t.comment(`TOKENIZER_FUZZ_SEED=${SEED} TOKENIZER_FUZZ_COUNT=${COUNT}`);
console.log(`# differential fuzz seed: ${SEED} (replay with TOKENIZER_FUZZ_SEED=${SEED})`);

// ---------------------------------------------------------------------------------------------
// Tokenizers under test

const tmp = mkdtempSync(join(tmpdir(), 'bert-tok-diff-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

function casedOracleJson() {
  const j = JSON.parse(readFileSync(join(sharedData, 'bert-base-uncased-tokenizer.json'), 'utf8'));
  const lines = readFileSync(join(sharedData, 'bert-base-cased-vocab.txt'), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const vocab = {};
  lines.forEach((tok, i) => { vocab[tok] = i; });
  j.model.vocab = vocab;
  j.normalizer = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: false };
  j.added_tokens = j.added_tokens.map((a) => ({ ...a, id: vocab[a.content] }));
  for (const k of ['[CLS]', '[SEP]']) j.post_processor.special_tokens[k].ids = [vocab[k]];
  return JSON.stringify(j);
}

const casedDir = join(tmp, 'cased');
(await import('node:fs')).mkdirSync(casedDir);
copyFileSync(join(sharedData, 'bert-base-cased-vocab.txt'), join(casedDir, 'vocab.txt'));
writeFileSync(join(casedDir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));

const configs = [
  {
    name: 'uncased',
    ours: Tokenizer.load(join(sharedData, 'bert-base-uncased-tokenizer.json')),
    oracle: hf.Tokenizer.fromFile(join(sharedData, 'bert-base-uncased-tokenizer.json')),
  },
  {
    name: 'cased',
    ours: Tokenizer.load(join(casedDir, 'vocab.txt')),
    oracle: hf.Tokenizer.fromString(casedOracleJson()),
  },
];

// ---------------------------------------------------------------------------------------------
// Comparison

/** Oracle char offsets -> UTF-16 indices (a lone surrogate is one char: it reached Rust as U+FFFD). */
function utf16Map(text) {
  const map = [0];
  let u = 0;
  for (const ch of text) { u += ch.length; map.push(u); }
  return map;
}

const hex = (s) => Array.from(s, (ch) => {
  // Array.from splits lone surrogates as single units, so they show up as U+D800 etc.
  const cp = ch.codePointAt(0);
  return 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
}).join(' ');

/** Encodes `texts` on both sides (addSpecialTokens true/false alternating) and returns mismatches. */
async function compare(cfg, texts, withSpecials = (i) => i % 2 === 0) {
  const mismatches = [];
  const outs = [];
  const batch = 512;
  for (let from = 0; from < texts.length; from += batch) {
    const chunk = texts.slice(from, from + batch);
    const [withS, withoutS] = await Promise.all([
      cfg.oracle.encodeBatch(chunk, { addSpecialTokens: true }),
      cfg.oracle.encodeBatch(chunk, { addSpecialTokens: false }),
    ]);
    for (let k = 0; k < chunk.length; k++) {
      const i = from + k;
      const text = chunk[k];
      const special = withSpecials(i);
      const h = special ? withS[k] : withoutS[k];
      const map = utf16Map(text);
      const hIds = h.getIds();
      const hOff = h.getOffsets().map(([s, e]) => [map[s], map[e]]);
      const o = cfg.ours.encode(text, { addSpecialTokens: special });
      outs.push(o);
      const same = hIds.length === o.ids.length && hIds.every((id, j) => id === o.ids[j]) &&
        hOff.every(([s, e], j) => s === o.offsets[j][0] && e === o.offsets[j][1]);
      if (!same) {
        mismatches.push({ index: i, text, special, oracle: { ids: hIds, tokens: h.getTokens(), offsets: hOff }, ours: o });
      }
    }
  }
  return { mismatches, outs };
}

function report(t, cfg, mismatches) {
  for (const m of mismatches.slice(0, 5)) {
    t.comment(`[${cfg.name}] MISMATCH #${m.index} addSpecialTokens=${m.special}; ${firstDifference(m)}\n` +
      `  input: ${hex(m.text)}\n` +
      `  oracle: ${JSON.stringify(m.oracle.tokens)} ${JSON.stringify(m.oracle.ids)} ${JSON.stringify(m.oracle.offsets)}\n` +
      `  ours:   ${JSON.stringify(m.ours.tokens)} ${JSON.stringify(m.ours.ids)} ${JSON.stringify(m.ours.offsets)}`);
  }
}

/** transformers' PreTrainedTokenizerBase.clean_up_tokenization (Python), for the decode comparison. */
function cleanUpTokenization(s) {
  return s.replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

/** Where two outputs first differ, with the input around it: the first thing to look at. */
function firstDifference(m) {
  const o = m.oracle, u = m.ours;
  let k = 0;
  while (k < o.ids.length && k < u.ids.length && o.ids[k] === u.ids[k] &&
    o.offsets[k][0] === u.offsets[k][0] && o.offsets[k][1] === u.offsets[k][1]) k++;
  const at = (o.offsets[k] ?? u.offsets[k] ?? [0, 0])[0];
  const show = (x) => (k < x.ids.length ? `${JSON.stringify(x.tokens[k])}(${x.ids[k]})@[${x.offsets[k]}]` : 'end');
  return `first difference at token ${k}: oracle ${show(o)} vs ours ${show(u)}; input there: ${hex(m.text.slice(Math.max(0, at - 4), at + 8))}`;
}

// ---------------------------------------------------------------------------------------------
// Unicode version skew (see the header): every candidate code point, probed on its own

const SKEW_CANDIDATE = /[\p{M}\p{Cf}\p{P}\p{S}]/u;
const probe = (ch) => `a${ch}b ${ch} X${ch}${ch}c`;

async function findSkew(cfg) {
  const cps = [];
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (SKEW_CANDIDATE.test(String.fromCodePoint(cp))) cps.push(cp);
  }
  const { mismatches } = await compare(cfg, cps.map((cp) => probe(String.fromCodePoint(cp))), () => false);
  report(t, cfg, mismatches);
  return { candidates: cps.length, skew: mismatches.map((m) => cps[m.index]) };
}

function ranges(cps) {
  const out = [];
  for (let i = 0; i < cps.length; i++) {
    let j = i;
    while (j + 1 < cps.length && cps[j + 1] === cps[j] + 1) j++;
    const f = (cp) => cp.toString(16).toUpperCase().padStart(4, '0');
    out.push(i === j ? f(cps[i]) : `${f(cps[i])}-${f(cps[j])}`);
    i = j;
  }
  return out.join(' ');
}

t.test('every mark, format, punctuation and symbol code point matches the oracle (no Unicode version skew)', async (t) => {
  for (const cfg of configs) {
    const { candidates, skew } = await findSkew(cfg);
    t.equal(skew.length, 0, `[${cfg.name}] ${candidates} code points probed; differing: ${ranges(skew) || 'none'}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Generator (the seeded mulberry32 PRNG of bench/corpus.js: reproducible from the printed seed)

const rand = rng(SEED);
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (arr) => arr[Math.floor(rand() * arr.length)];
const cpStr = (cp) => String.fromCodePoint(cp);

const PLANES = [
  [0x0000, 0xffff], // BMP (surrogates are handled below)
  [0x10000, 0x1ffff], // SMP
  [0x20000, 0x2ffff], // SIP
  [0x30000, 0x3ffff], // TIP
  [0xe0000, 0xe0fff], // SSP (tags, variation selectors)
  [0xe000, 0xf8ff], // private use (BMP)
  [0xf0000, 0x10ffff], // supplementary private use A/B
  [0x0000, 0x10ffff], // anywhere
];
const SCRIPTS = [
  [0x41, 0x5a], [0x61, 0x7a], [0xc0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x5ff], [0x600, 0x6ff],
  [0x900, 0x97f], [0xe00, 0xe7f], [0x10a0, 0x10ff], [0x1100, 0x11ff], [0x1e00, 0x1fff], [0x3040, 0x30ff],
  [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xff00, 0xffef], [0x1f300, 0x1faff],
  [0x20000, 0x2a6df], [0x2b700, 0x2ceaf], [0x2f800, 0x2fa1f], [0x300, 0x36f], [0x1ab0, 0x1aff], [0x2000, 0x206f],
  [0x2e00, 0x2e7f], [0x3000, 0x303f], [0x1d400, 0x1d7ff],
];
const CONTROLS = [
  0x00, 0x01, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b, 0x1c, 0x1f, 0x7f, 0x85, 0x9f, 0xa0, 0xad, 0x34f,
  0x61c, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202e, 0x2060, 0x2061, 0x2066,
  0x3000, 0xfeff, 0xfff9, 0xfffb, 0xfffc, 0xfffd, 0xfffe, 0xffff, 0x1d173, 0xe0001, 0xe0020, 0xe007f, 0xe0100,
  0x1680, 0x2000, 0x200a, 0x202f, 0x205f,
];
const WHITESPACE = [' ', ' ', ' ', '\t', '\n', '\r', '\r\n', '\u3000', '\u00a0', '\u2003', '\u2028', '\u0085', '\u000b'];
const SPECIALS = ['[MASK]', '[CLS]', '[SEP]', '[PAD]', '[UNK]', '[mask]', '[MASK', 'MASK]', '[[MASK]]', '[MASK][MASK]', '[ MASK ]', '[Mask]'];
const WORDS = ('the of and to in is was He She They CAFÉ café naïve résumé Straße STRASSE İstanbul ıi ΟΔΟΣ Σίσυφος ' +
  'Москва Ünïcödé don\'t can\'t it\'s e-mail x@y.com http://a.b/c?d=e&f 3.14 1,000 $5 ¥100 €20 ° © ™ unaffable ' +
  'running jumped tokenization 東京 中文 日本語 한국어 ภาษาไทย العربية עברית हिन्दी 😀 👍🏽 👨‍👩‍👧 🇫🇷').split(' ');

// Code points assigned after Unicode 8, which Hugging Face's tables do not know and utf8proc's do
// (they take the generated table's path): ranges of the ~570 such marks, format characters and
// punctuation, picked on purpose in some segments.
const RECENT = [
  [0x0600, 0x061f], [0x0860, 0x08ff], [0x09fc, 0x09fe], [0x0afa, 0x0aff], [0x0c00, 0x0c84], [0x0d00, 0x0d81],
  [0x1ab0, 0x1aff], [0x1b7d, 0x1b7f], [0x1df6, 0x1dff], [0x2e43, 0x2e5d], [0xa8c5, 0xa8ff],
  [0x10d24, 0x10d27], [0x10ea0, 0x10fff], [0x11000, 0x11fff], [0x13430, 0x1345f], [0x16e97, 0x16fe4],
  [0x1e000, 0x1e95f], [0x1c80, 0x1c8a], [0xa7c0, 0xa7dc], [0x10d40, 0x10d8f], [0x16ea0, 0x16edf],
];

function randomCodePoint() {
  const [lo, hi] = pick(rand() < 0.25 ? RECENT : PLANES);
  const cp = int(lo, hi);
  return cp >= 0xd800 && cp <= 0xdfff ? int(0x20, 0x7e) : cp;
}

function segment() {
  switch (int(0, 14)) {
    case 0: case 1: return pick(WORDS);
    case 2: { // ASCII word, mixed case
      let s = '';
      for (let n = int(1, 14); n > 0; n--) s += String.fromCharCode(rand() < 0.8 ? int(0x61, 0x7a) : int(0x41, 0x5a));
      return s;
    }
    case 3: case 4: { // random code points from every plane
      let s = '';
      for (let n = int(1, 6); n > 0; n--) s += cpStr(randomCodePoint());
      return s;
    }
    case 5: { // a run in one script, with the odd combining mark
      const [lo, hi] = pick(SCRIPTS);
      let s = '';
      for (let n = int(1, 10); n > 0; n--) {
        s += cpStr(int(lo, hi));
        if (rand() < 0.15) s += cpStr(int(0x300, 0x36f));
        if (rand() < 0.1) { const [lo, hi] = pick(RECENT); s += cpStr(int(lo, hi)); }  // new marks among old ones
      }
      return s;
    }
    case 6: { // control and invisible characters, alone or inside a word
      const c = cpStr(pick(CONTROLS));
      return rand() < 0.5 ? c : `ab${c}cd`;
    }
    case 7: return pick(SPECIALS);
    case 8: { // long words around the 100-character limit, ASCII or accented
      const len = pick([99, 100, 101, int(90, 110), int(150, 250)]);
      const alphabet = rand() < 0.5 ? 'abcdefghij' : 'aé';
      let s = '';
      for (let n = 0; n < len; n++) s += alphabet[int(0, alphabet.length - 1)];
      if (rand() < 0.3) s += '\u0301';
      return s;
    }
    case 9: { // whitespace runs
      let s = '';
      for (let n = int(1, 6); n > 0; n--) s += pick(WHITESPACE);
      return s;
    }
    case 10: { // punctuation runs
      let s = '';
      for (let n = int(1, 5); n > 0; n--) s += pick(['.', ',', '!', '?', '-', '—', '(', ')', '"', "'", '¿', '«', '»', '…', '$', '^', '`', '#', '##', '@', '、', '。']);
      return s;
    }
    case 11: { // lone surrogates (become U+FFFD on both sides)
      const s = String.fromCharCode(int(0xd800, 0xdfff));
      return rand() < 0.5 ? s : `x${s}y`;
    }
    case 12: return String(int(0, 1e6));
    case 13: return pick(WORDS).toUpperCase();
    default: return cpStr(int(0x4e00, 0x9fff)) + pick(WORDS);
  }
}

function generate() {
  const parts = [];
  for (let n = int(0, 24); n > 0; n--) {
    parts.push(segment());
    parts.push(rand() < 0.7 ? ' ' : rand() < 0.5 ? '' : pick(WHITESPACE));
  }
  return parts.join('');
}

let texts;
function corpus() {
  if (texts) return texts;
  texts = [];
  for (let i = 0; i < COUNT; i++) texts.push(generate());
  // A few fixed corner cases in every run.
  texts.push('', ' ', '[MASK]', '[MASK][MASK]', 'I [MASK] you', ' [MASK] ', 'a[MASK]b', '\u0000', '\ud800', 'x'.repeat(101), 'é'.repeat(100));
  return texts;
}

// ---------------------------------------------------------------------------------------------
// The runs

for (const cfg of configs) {
  t.test(`${cfg.name}: ${COUNT}+ generated strings, ids and offsets equal to the oracle`, async (t) => {
    const texts = corpus();
    const started = Date.now();
    const { mismatches, outs } = await compare(cfg, texts);
    report(t, cfg, mismatches);
    const tokens = outs.reduce((n, o) => n + o.ids.length, 0);
    const chars = texts.reduce((n, s) => n + s.length, 0);
    t.comment(`[${cfg.name}] ${texts.length} strings, ${chars} UTF-16 units, ${tokens} tokens, ${mismatches.length} mismatches (${Date.now() - started} ms)`);
    t.equal(mismatches.length, 0, 'zero mismatches');

    // decode: our decode(ids, skip, cleanUp=true) against the oracle's decode (WordPiece decoder,
    // cleanup=true) on the encodings above and on random id sequences.
    const idLists = outs.slice(0, 1500).map((o) => o.ids);
    const vocabSize = cfg.ours.vocabSize;
    const punctIds = ['.', ',', '!', '?', "'", 'n', 't', 's', 'm', 're', 've', '##s', '[MASK]', '[CLS]'].map((s) => cfg.ours.tokenToId(s)).filter((x) => x !== null);
    for (let i = 0; i < 1500; i++) {
      const ids = [];
      for (let n = int(0, 12); n > 0; n--) ids.push(rand() < 0.5 ? pick(punctIds) : int(0, vocabSize - 1));
      idLists.push(ids);
    }
    let decodeBad = 0;
    for (const skip of [false, true]) {
      // The oracle's decode is the WordPiece decoder (per-token cleanup): ours with
      // cleanUpTokenizationSpaces=false. transformers then runs clean_up_tokenization over the whole
      // string when clean_up_tokenization_spaces: ours with true.
      const theirs = await cfg.oracle.decodeBatch(idLists, skip);
      idLists.forEach((ids, i) => {
        for (const cleanUp of [false, true]) {
          const want = cleanUp ? cleanUpTokenization(theirs[i]) : theirs[i];
          const mine = cfg.ours.decode(ids, { skipSpecialTokens: skip, cleanUpTokenizationSpaces: cleanUp });
          if (mine !== want && ++decodeBad <= 5)
            t.comment(`[${cfg.name}] DECODE MISMATCH skip=${skip} cleanUp=${cleanUp} ids=${JSON.stringify(ids)}\n  oracle: ${JSON.stringify(want)}\n  ours:   ${JSON.stringify(mine)}`);
        }
      });
    }
    t.equal(decodeBad, 0, `decode equal on ${idLists.length} id lists x skipSpecialTokens x cleanUpTokenizationSpaces`);
  });
}
