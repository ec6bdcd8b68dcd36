// The differential comparison of our tokenizer with Hugging Face's own (npm `tokenizers`, the Rust
// library's Node binding: the oracle), shared by test/unit/tokenizer-differential.test.mjs (a slice)
// and test/long/tokenizer-differential.test.mjs (10,000+ generated strings per kind and all the
// held-out real text).
//
// Kinds: BERT uncased (tokenizer.json, the one-pass fast path), BERT uncased through the general
// pipeline (the same file with [MASK] normalized=true, which the fast path does not take), BERT cased
// (vocab.txt), RoBERTa (byte-level BPE), XLM-RoBERTa (Unigram + precompiled charsmap) and MPNet
// (WordPiece + RobertaProcessing): the files scripts/make_tokenizer_fixtures.mjs builds.
//
// Compared per text: ids, UTF-16 offsets and type ids with and without special tokens; the text as
// the first of a pair (ids, type ids, offsets); truncation at several lengths, right and left,
// single and pair; decode of the encodings (with and without skipping special tokens).
//
// Offsets: the oracle reports code-point (char) offsets; ours are JavaScript string (UTF-16) indices.
// Lone surrogates in a JS string reach both sides as U+FFFD (one index each).
import { createRequire } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../dist/tokenizer.js';
import { rng } from '../../bench/corpus.js';
import { scriptsOf, translations } from '../../bench/multilingual.js';

const require = createRequire(import.meta.url);
export const hf = require('tokenizers');

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = process.env.BERT_SERVE_SHARED_DATA ?? join(ROOT, '..', 'shared', 'data');
// transformers' clean_up_tokenization (PreTrainedTokenizerBase), applied in this order.
const CLEANUP = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];
export const cleanUp = (s) => CLEANUP.reduce((x, [a, b]) => x.replaceAll(a, b), s);

export const FIXTURES = process.env.BERT_SERVE_TOKENIZER_FIXTURES ?? join(ROOT, 'models', 'test', 'tokenizers');

/** The tokenizer kinds, each with our Tokenizer and the oracle on the same file(s). */
export function loadKinds() {
  for (const k of ['roberta', 'xlm-roberta', 'mpnet'])
    if (!existsSync(join(FIXTURES, k, 'tokenizer.json')))
      throw new Error(`${join(FIXTURES, k, 'tokenizer.json')} is missing: run node scripts/make_tokenizer_fixtures.mjs ${FIXTURES}`);
  const uncasedJson = join(SHARED, 'bert-base-uncased-tokenizer.json');
  const generalJson = JSON.parse(readFileSync(uncasedJson, 'utf8'));
  for (const t of generalJson.added_tokens) if (t.content === '[MASK]') t.normalized = true;
  const casedJson = JSON.parse(readFileSync(uncasedJson, 'utf8'));
  const lines = readFileSync(join(SHARED, 'bert-base-cased-vocab.txt'), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  casedJson.model.vocab = Object.fromEntries(lines.map((tok, i) => [tok, i]));
  casedJson.normalizer = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: false };
  casedJson.added_tokens = casedJson.added_tokens.map((a) => ({ ...a, id: casedJson.model.vocab[a.content] }));
  for (const k of ['[CLS]', '[SEP]']) casedJson.post_processor.special_tokens[k].ids = [casedJson.model.vocab[k]];
  const fromFile = (dir) => ({ ours: Tokenizer.load(dir), oracle: hf.Tokenizer.fromFile(join(dir, 'tokenizer.json')) });
  const fixture = (name) => JSON.parse(readFileSync(join(FIXTURES, name, 'tokenizer.json'), 'utf8'));
  const kinds = [
    { name: 'bert-uncased', ours: Tokenizer.load(uncasedJson), oracle: hf.Tokenizer.fromFile(uncasedJson) },
    { name: 'bert-uncased-general', ...writeAndLoad('bert-general', generalJson) },
    { name: 'bert-cased', ours: Tokenizer.load(casedVocabDir()), oracle: hf.Tokenizer.fromString(JSON.stringify(casedJson)) },
    { name: 'roberta', ...fromFile(join(FIXTURES, 'roberta')) },
    { name: 'xlm-roberta', ...fromFile(join(FIXTURES, 'xlm-roberta')) },
    { name: 'mpnet', ...fromFile(join(FIXTURES, 'mpnet')) },
    ...componentVariants(fixture).map(([name, json]) => ({ name, ...writeAndLoad(name, json) })),
  ];
  return kinds;
}

// The real vocabularies with the components the four kinds do not use, chained: every normalizer,
// pre-tokenizer, post-processor and decoder the loader knows is compared with the oracle somewhere.
// (Regex patterns here use no Unicode properties: Debian's Oniguruma is older than the oracle's.)
function componentVariants(fixture) {
  const bpe = fixture('roberta');
  bpe.normalizer = {
    type: 'Sequence',
    normalizers: [
      { type: 'NFKC' },
      { type: 'Lowercase' },
      { type: 'Strip', strip_left: true, strip_right: true },
      { type: 'Replace', pattern: { Regex: '[0-9]{3,}' }, content: '#' },
      { type: 'Replace', pattern: { String: 'ab' }, content: 'X' },
    ],
  };
  bpe.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: "'s|'t|[ ]?[a-z]+| ?[0-9]+| ?[^ a-z0-9]+| +(?! )| +" }, behavior: 'Isolated', invert: false },
      { type: 'Digits', individual_digits: true },
      { type: 'Punctuation', behavior: 'Contiguous' },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
  bpe.post_processor = {
    type: 'Sequence',
    processors: [
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
      },
    ],
  };

  const uni = fixture('xlm-roberta');
  uni.normalizer = {
    type: 'Sequence',
    normalizers: [
      { type: 'Nmt' },
      { type: 'NFKD' },
      { type: 'StripAccents' },
      { type: 'NFC' },
      uni.normalizer.normalizers[0],
      { type: 'Prepend', prepend: '\u2581' },
      { type: 'Replace', pattern: { Regex: ' {2,}' }, content: '\u2581' },
    ],
  };
  uni.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [
      { type: 'WhitespaceSplit' },
      { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false },
      { type: 'CharDelimiterSplit', delimiter: '-' },
    ],
  };
  uni.model.byte_fallback = true;
  for (let b = 0; b < 256; b++) uni.model.vocab.push([`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, -20]);
  uni.decoder = {
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ],
  };

  const wp = fixture('bert');
  wp.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }] };
  wp.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [{ type: 'Whitespace' }, { type: 'Punctuation', behavior: 'Isolated' }, { type: 'Digits', individual_digits: false }],
  };
  wp.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] };
  wp.decoder = { type: 'WordPiece', prefix: '##', cleanup: false };
  for (const t of wp.added_tokens) if (t.content === '[UNK]') t.single_word = true;
  wp.added_tokens.push({ id: 30522, content: 'Hello', single_word: true, lstrip: true, rstrip: true, normalized: true, special: false });
  return [
    ['bpe-components', bpe],
    ['unigram-components', uni],
    ['wordpiece-components', wp],
  ];
}

// A scratch copy of a tokenizer.json variant (the Tokenizer loads from files).
function writeAndLoad(name, json) {
  const dir = join(FIXTURES, 'variants', name);
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(json);
  writeFileSync(join(dir, 'tokenizer.json'), text);
  return { ours: Tokenizer.load(dir), oracle: hf.Tokenizer.fromString(text) };
}

function casedVocabDir() {
  const dir = join(FIXTURES, 'variants', 'bert-cased');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(SHARED, 'bert-base-cased-vocab.txt'), join(dir, 'vocab.txt'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Held-out real text: gettext translations (every language the system ships) from the catalogs the
// XLM-R fixture was NOT trained on.

/**
 * Up to `perLanguage` translations per language (bench/multilingual.js), from the catalogs not listed
 * in the XLM-R fixture's training_sources.txt. Returns { texts, languages }.
 */
export function heldOutText(perLanguage, seed = 1) {
  const training = new Set(readFileSync(join(FIXTURES, 'xlm-roberta', 'training_sources.txt'), 'utf8').split('\n'));
  return translations({ perLanguage, exclude: training, seed });
}

export { scriptsOf };

// ---------------------------------------------------------------------------------------------
// Generated strings (the seeded mulberry32 PRNG of bench/corpus.js: reproducible from the seed)

export function generator(seed) {
  const rand = rng(seed);
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const cpStr = (cp) => String.fromCodePoint(cp);
  const PLANES = [
    [0x0000, 0xffff],
    [0x10000, 0x1ffff],
    [0x20000, 0x2ffff],
    [0x30000, 0x3ffff],
    [0xe0000, 0xe0fff],
    [0xe000, 0xf8ff],
    [0xf0000, 0x10ffff],
    [0x0000, 0x10ffff],
  ];
  const SCRIPTS = [
    [0x41, 0x5a],
    [0x61, 0x7a],
    [0xc0, 0x24f],
    [0x370, 0x3ff],
    [0x400, 0x4ff],
    [0x590, 0x5ff],
    [0x600, 0x6ff],
    [0x900, 0x97f],
    [0xe00, 0xe7f],
    [0x10a0, 0x10ff],
    [0x1100, 0x11ff],
    [0x1e00, 0x1fff],
    [0x3040, 0x30ff],
    [0x3400, 0x4dbf],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0xf900, 0xfaff],
    [0xff00, 0xffef],
    [0x1f300, 0x1faff],
    [0x20000, 0x2a6df],
    [0x2b700, 0x2ceaf],
    [0x2f800, 0x2fa1f],
    [0x300, 0x36f],
    [0x1ab0, 0x1aff],
    [0x2000, 0x206f],
    [0x2e00, 0x2e7f],
    [0x3000, 0x303f],
    [0x1d400, 0x1d7ff],
    [0x2460, 0x24ff],
    [0xfb00, 0xfb4f],
    [0x3300, 0x33ff],
    [0x1100, 0x1112],
  ];
  const CONTROLS = [
    0x00, 0x01, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b, 0x1c, 0x1f, 0x7f, 0x85, 0x8f, 0x9f, 0xa0, 0xad, 0x34f, 0x61c, 0x180e,
    0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202e, 0x2060, 0x2061, 0x2066, 0x3000, 0xfeff, 0xfff9, 0xfffb, 0xfffc,
    0xfffd, 0xfffe, 0xffff, 0x1d173, 0xe0001, 0xe0020, 0xe007f, 0xe0100, 0x1680, 0x2000, 0x200a, 0x202f, 0x205f, 0x2581,
  ];
  const WHITESPACE = [' ', ' ', ' ', '  ', '   ', '\t', '\n', '\r', '\r\n', '\u3000', '\u00a0', '\u2003', '\u2028', '\u0085', '\u000b'];
  const SPECIALS = [
    '[MASK]',
    '[CLS]',
    '[SEP]',
    '[PAD]',
    '[UNK]',
    '[mask]',
    '[MASK',
    'MASK]',
    '[[MASK]]',
    '[MASK][MASK]',
    '[ MASK ]',
    '<mask>',
    '<s>',
    '</s>',
    '<pad>',
    '<unk>',
    '<MASK>',
    '<mask',
    'mask>',
    '<mask><mask>',
    ' <mask>',
    '<mask> ',
    '<s></s>',
    '\u2581',
    '\u2581\u2581',
    '<0x41>',
    'Ġ',
    'Ċ',
    '##',
    '##s',
  ];
  const WORDS = (
    'the of and to in is was He She They CAFÉ café naïve résumé Straße STRASSE İstanbul ıi ΟΔΟΣ Σίσυφος ' +
    "Москва Ünïcödé don't can't it's we'll I'm you've they'd e-mail x@y.com http://a.b/c?d=e&f 3.14 1,000 $5 ¥100 €20 ° © ™ " +
    'unaffable running jumped tokenization 東京 中文 日本語 한국어 ภาษาไทย العربية עברית हिन्दी क्षत्रिय 😀 👍🏽 👨‍👩‍👧 🇫🇷 ' +
    '１２３ ＡＢＣ ﬁ ½ ² ℡ ㈱ ｶﾀｶﾅ'
  ).split(' ');
  // Code points assigned after the Unicode versions of Hugging Face's tables: picked on purpose.
  const RECENT = [
    [0x0600, 0x061f],
    [0x0860, 0x08ff],
    [0x09fc, 0x09fe],
    [0x0afa, 0x0aff],
    [0x0c00, 0x0c84],
    [0x0d00, 0x0d81],
    [0x1ab0, 0x1aff],
    [0x1b7d, 0x1b7f],
    [0x1df6, 0x1dff],
    [0x2e43, 0x2e5d],
    [0xa8c5, 0xa8ff],
    [0x10d24, 0x10d27],
    [0x10ea0, 0x10fff],
    [0x11000, 0x11fff],
    [0x13430, 0x1345f],
    [0x16e97, 0x16fe4],
    [0x1e000, 0x1e95f],
    [0x1c80, 0x1c8a],
    [0xa7c0, 0xa7dc],
    [0x10d40, 0x10d8f],
    [0x16ea0, 0x16edf],
    [0x1fb00, 0x1fbff],
    [0x1e030, 0x1e08f],
    [0x10780, 0x107ba],
  ];
  const randomCodePoint = () => {
    const [lo, hi] = pick(rand() < 0.25 ? RECENT : PLANES);
    const cp = int(lo, hi);
    return cp >= 0xd800 && cp <= 0xdfff ? int(0x20, 0x7e) : cp;
  };
  function segment() {
    switch (int(0, 15)) {
      case 0:
      case 1:
        return pick(WORDS);
      case 2: {
        let s = '';
        for (let n = int(1, 14); n > 0; n--) s += String.fromCharCode(rand() < 0.8 ? int(0x61, 0x7a) : int(0x41, 0x5a));
        return s;
      }
      case 3:
      case 4: {
        let s = '';
        for (let n = int(1, 6); n > 0; n--) s += cpStr(randomCodePoint());
        return s;
      }
      case 5: {
        const [lo, hi] = pick(SCRIPTS);
        let s = '';
        for (let n = int(1, 10); n > 0; n--) {
          s += cpStr(int(lo, hi));
          if (rand() < 0.15) s += cpStr(int(0x300, 0x36f));
          if (rand() < 0.1) {
            const [l, h] = pick(RECENT);
            s += cpStr(int(l, h));
          }
        }
        return s;
      }
      case 6: {
        const c = cpStr(pick(CONTROLS));
        return rand() < 0.5 ? c : `ab${c}cd`;
      }
      case 7:
        return pick(SPECIALS);
      case 8: {
        const len = pick([99, 100, 101, int(90, 110), int(150, 250)]);
        const alphabet = rand() < 0.5 ? 'abcdefghij' : 'aé';
        let s = '';
        for (let n = 0; n < len; n++) s += alphabet[int(0, alphabet.length - 1)];
        if (rand() < 0.3) s += '\u0301';
        return s;
      }
      case 9: {
        let s = '';
        for (let n = int(1, 6); n > 0; n--) s += pick(WHITESPACE);
        return s;
      }
      case 10: {
        let s = '';
        for (let n = int(1, 5); n > 0; n--)
          s += pick([
            '.',
            ',',
            '!',
            '?',
            '-',
            '—',
            '(',
            ')',
            '"',
            "'",
            "'s",
            "'ll",
            '¿',
            '«',
            '»',
            '…',
            '$',
            '^',
            '`',
            '#',
            '@',
            '、',
            '。',
            '``',
            "''",
          ]);
        return s;
      }
      case 11: {
        const s = String.fromCharCode(int(0xd800, 0xdfff));
        return rand() < 0.5 ? s : `x${s}y`;
      }
      case 12:
        return String(int(0, 1e6));
      case 13:
        return pick(WORDS).toUpperCase();
      case 14: {
        // an ASCII control or mark right after a short base (grapheme clusters under 6 bytes), then
        // sometimes more marks with characters that clean_text drops between them: NFD still
        // reorders such marks as one run (the dropped characters are gone before it runs)
        let s = pick(['a', 'x', '\r', '\u0001', 'é', 'Ａ', '\u0019']) + cpStr(rand() < 0.5 ? int(0x300, 0x36f) : randomCodePoint());
        for (let n = rand() < 0.5 ? int(1, 3) : 0; n > 0; n--)
          s +=
            pick(['', '\u0000', '\u0001', '\u0019', '\u007f', '\u0085', '\ufffd']) +
            cpStr(rand() < 0.5 ? int(0x300, 0x36f) : int(0x1dc0, 0x1dff));
        return s;
      }
      default:
        return cpStr(int(0x4e00, 0x9fff)) + pick(WORDS);
    }
  }
  return function generate() {
    const parts = [];
    for (let n = int(0, 24); n > 0; n--) {
      parts.push(segment());
      parts.push(rand() < 0.7 ? ' ' : rand() < 0.5 ? '' : pick(WHITESPACE));
    }
    return parts.join('');
  };
}

/** Fixed corner cases every run includes. */
export const CORNERS = [
  '',
  ' ',
  '  ',
  '[MASK]',
  '<mask>',
  ' <mask>',
  '[MASK][MASK]',
  'I [MASK] you',
  'I <mask> you',
  ' [MASK] ',
  'a[MASK]b',
  'a<mask>b',
  '\u0000',
  '\ud800',
  'x'.repeat(101),
  'é'.repeat(100),
  '\r\n',
  'a\u0301',
  '\u2581',
  '<s>',
  '</s>hello<s>',
  'hello   world',
  "It's   a test.  ",
  '\t\n',
  // Combining marks on both sides of a character that clean_text drops, in an order NFD reorders
  // (combining class 230 before 220): the kept mark takes its offsets by position after the reorder.
  'S \u1DFB\u0019\u032E b',
  '\u1DFB\u0000\u032E',
  'a\u0301\u0019\u0316',
  'e\u0308\u007f\u0323\u0001\u0301 x',
];

// ---------------------------------------------------------------------------------------------
// Comparison

function utf16Map(text) {
  const map = [0];
  let u = 0;
  for (const ch of text) {
    u += ch.length;
    map.push(u);
  }
  return map;
}

const hex = (s) => Array.from(s, (ch) => 'U+' + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')).join(' ');

function sameEncoding(h, o, mapA, mapB) {
  const ids = h.getIds(),
    types = h.getTypeIds(),
    offs = h.getOffsets(),
    seq = h.getSequenceIds();
  if (ids.length !== o.ids.length) return false;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== o.ids[i] || types[i] !== o.typeIds[i]) return false;
    const map = seq[i] === 1 ? mapB : mapA;
    if (map[offs[i][0]] !== o.offsets[i][0] || map[offs[i][1]] !== o.offsets[i][1]) return false;
  }
  return true;
}

function describe(h, o, mapA, mapB) {
  const seq = h.getSequenceIds();
  const off = h.getOffsets().map(([s, e], i) => [(seq[i] === 1 ? mapB : mapA)[s], (seq[i] === 1 ? mapB : mapA)[e]]);
  return (
    `  oracle: ${JSON.stringify(h.getTokens())} ${JSON.stringify(h.getIds())} ${JSON.stringify(off)} types ${JSON.stringify(h.getTypeIds())}\n` +
    `  ours:   ${JSON.stringify(o.tokens)} ${JSON.stringify(o.ids)} ${JSON.stringify(o.offsets)} types ${JSON.stringify(o.typeIds)}`
  );
}

const PAIR_TEXTS = ['Second text, here.', '  a <mask> b  ', '東京 and Москва', ''];
const TRUNCATIONS = [
  [1, 'right'],
  [3, 'left'],
  [5, 'right'],
  [8, 'left'],
  [16, 'right'],
];

/**
 * Compares `texts` on one kind. Returns { mismatches: [{what, text, detail}], counts: {...} }.
 * `checks`: which comparisons to run (default all): single, pair, truncation, decode.
 */
export async function compareKind(kind, texts, checks = { single: true, pair: true, truncation: true, decode: true }) {
  const { ours, oracle } = kind;
  const mismatches = [];
  const counts = { texts: texts.length, encodings: 0, tokens: 0, decodes: 0 };
  const add = (what, text, detail) => mismatches.push({ what, text, detail: `${what} input: ${hex(text)}\n${detail}` });
  const B = 512;
  const addedSingle = ours.info.addedTokens.single,
    addedPair = ours.info.addedTokens.pair;
  for (let from = 0; from < texts.length; from += B) {
    const chunk = texts.slice(from, from + B);
    const maps = chunk.map(utf16Map);
    if (checks.single) {
      for (const special of [true, false]) {
        const hs = await oracle.encodeBatch(chunk, { addSpecialTokens: special });
        chunk.forEach((text, k) => {
          const o = ours.encode(text, { addSpecialTokens: special });
          counts.encodings++;
          counts.tokens += o.ids.length;
          if (!sameEncoding(hs[k], o, maps[k], maps[k]))
            add(`single addSpecialTokens=${special}`, text, describe(hs[k], o, maps[k], maps[k]));
          const mask = hs[k].getSpecialTokensMask();
          if (mask.some((m, i) => m !== o.specialTokensMask[i]))
            add('special_tokens_mask', text, `  oracle ${mask} ours ${o.specialTokensMask}`);
        });
      }
    }
    if (checks.pair) {
      const second = PAIR_TEXTS[Math.floor(from / B) % PAIR_TEXTS.length];
      const mapB = utf16Map(second);
      const hs = await Promise.all(chunk.map((t) => oracle.encode(t, second, { addSpecialTokens: true })));
      chunk.forEach((text, k) => {
        const o = ours.encode(text, { pair: second });
        counts.encodings++;
        if (!sameEncoding(hs[k], o, maps[k], mapB)) add(`pair with ${JSON.stringify(second)}`, text, describe(hs[k], o, maps[k], mapB));
      });
    }
    if (checks.truncation) {
      for (const [extra, side] of TRUNCATIONS) {
        for (const pair of [false, true]) {
          const max = extra + (pair ? addedPair : addedSingle);
          oracle.setTruncation(max, { direction: side, strategy: 'LongestFirst' });
          try {
            const second = PAIR_TEXTS[0];
            const mapB = utf16Map(second);
            // (encodeBatch takes no pairs in this binding: one encode per pair.)
            const hs = pair
              ? await Promise.all(chunk.map((t) => oracle.encode(t, second, { addSpecialTokens: true })))
              : await oracle.encodeBatch(chunk, { addSpecialTokens: true });
            chunk.forEach((text, k) => {
              const o = ours.encode(text, { maxLength: max, truncationSide: side, ...(pair ? { pair: second } : {}) });
              counts.encodings++;
              if (!sameEncoding(hs[k], o, maps[k], mapB))
                add(`truncation max=${max} ${side}${pair ? ' pair' : ''}`, text, describe(hs[k], o, maps[k], mapB));
            });
          } finally {
            oracle.disableTruncation();
          }
        }
      }
    }
    if (checks.decode) {
      const idLists = chunk.map((t) => ours.encode(t).ids);
      for (const skip of [false, true]) {
        const want = await oracle.decodeBatch(idLists, skip);
        idLists.forEach((ids, k) => {
          counts.decodes++;
          const mine = ours.decode(ids, { skipSpecialTokens: skip, cleanUpTokenizationSpaces: false });
          if (mine !== want[k])
            add(
              `decode skip=${skip}`,
              chunk[k],
              `  ids ${JSON.stringify(ids)}\n  oracle: ${JSON.stringify(want[k])}\n  ours:   ${JSON.stringify(mine)}`,
            );
        });
      }
    }
  }
  return { mismatches, counts };
}

/** A t.comment for the first few mismatches (the input as code points, both outputs). */
export function reportMismatches(t, name, mismatches, max = 5) {
  for (const m of mismatches.slice(0, max)) t.comment(`[${name}] MISMATCH ${m.detail}`);
  if (mismatches.length > max) t.comment(`[${name}] ... and ${mismatches.length - max} more`);
}
