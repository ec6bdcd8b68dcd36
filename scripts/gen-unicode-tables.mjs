#!/usr/bin/env node
// Generates native/engine/text/unicode_tables.cc: the character classes of Hugging Face's
// BertNormalizer / BertPreTokenizer, and those of the other tokenizer.json components (the ByteLevel
// pre-tokenizer's GPT-2 regex classes, the regex crate's \w and \s, char::is_numeric, StripAccents'
// combining marks, NFKD / NFC and grapheme clusters where utf8proc is newer) as the Rust `tokenizers`
// library really applies them, read off the npm `tokenizers` package (the Node binding of that
// library, a devDependency) by running EVERY code point through it. See docs/tokenizer.md
// ("Unicode tables").
//
//   node scripts/gen-unicode-tables.mjs           write the table
//   node scripts/gen-unicode-tables.mjs --check   exit 1 when the committed table is out of date
//
// Why: `tokenizers` takes punctuation, control and non-spacing-mark from the crate
// unicode_categories 0.1.1 (tables older than Unicode 9), NFD and combining classes from
// unicode-normalization-alignments (also old), lowercase and whitespace from Rust's std (recent).
// utf8proc (Unicode 15 here) disagrees with it on ~1,200 code points. The tokenizer must agree with
// `tokenizers`, not with the Unicode standard, so:
//   - punctuation, whitespace, control, non-spacing mark and Chinese character are a full table of
//     ranges, exactly the oracle's decisions (utf8proc is not consulted for them at all);
//   - lowercase mapping, canonical decomposition and combining class stay utf8proc's, with the
//     code points where the oracle differs listed as overrides (relative to the utf8proc Unicode
//     version recorded in the table; a test checks the library still has that version).
// Probes (each code point on its own, batched with separators; see the functions below):
//   bertPreTokenizer  "a<c>b"                   -> one word / "a","<c>","b" / "a","b"
//   bertNormalizer    clean_text only           -> removed / ' ' / kept
//   bertNormalizer    handle_chinese_chars only -> " <c> " / kept
//   bertNormalizer    strip_accents only        -> NFD minus non-spacing marks
//   bertNormalizer    lowercase only            -> the lowercase mapping
//   nfdNormalizer     "<c>", "<c>\u0334", "\u0345<c>" -> decomposition, combining class
//   byteLevelPreTokenizer  "x<c>", "1<c>", "!<c>"  -> GPT-2 letter / number / other (else space)
//   whitespacePreTokenizer "x<c>"                  -> \w (joins) / \s (removed) / other
//   digitsPreTokenizer     "1<c>"                  -> numeric (joins)
//   stripAccentsNormalizer "<c>"                   -> combining mark (removed)
//   nfkdNormalizer "<c>", nfcNormalizer on each primary composite's decomposition
//   precompiled(a charsmap with the one rule x -> Y) on "x<c>" -> whether <c> joins x's grapheme
//   precompiled(one rule QA -> Y) around a virama -> Indic_Conjunct_Break (consonant, linker, extend)
// Then ours (utf8proc + the derived table) is simulated on every code point and must equal the oracle.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'native', 'engine', 'text', 'unicode_tables.cc');
const require = createRequire(join(root, 'package.json'));
const hf = require('tokenizers');
const hfVersion = require('tokenizers/package.json').version;
const log = (...a) => console.error('[gen-unicode-tables]', ...a);

// Flags; the same values as bert::unicode::tables in unicode_tables.h.
const P = 1,
  W = 2,
  C = 4,
  M = 8,
  H = 16;
const FLAG_NAMES = [
  [P, 'P'],
  [W, 'W'],
  [C, 'C'],
  [M, 'M'],
  [H, 'H'],
];

const hex = (cp) => cp.toString(16).toUpperCase().padStart(4, '0');
const cpsOf = (s) => Array.from(s, (ch) => ch.codePointAt(0));
const ALL = [];
for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) ALL.push(cp);

// ---------------------------------------------------------------------------------------------
// Ours: utf8proc, through a tiny C program

function utf8procDump() {
  const dir = mkdtempSync(join(tmpdir(), 'gen-unicode-'));
  try {
    const exe = join(dir, 'dump');
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', exe, join(root, 'scripts', 'utf8proc_dump.c'), '-lutf8proc'], { stdio: 'inherit' });
    const text = execFileSync(exe, { maxBuffer: 256 << 20, encoding: 'utf8' });
    const lines = text.split('\n');
    const version = lines[0].replace(/^# /, '');
    const u = new Map();
    for (const line of lines.slice(1)) {
      if (!line) continue;
      const f = line.split(' ');
      const n = Number(f[7]);
      u.set(parseInt(f[0], 16), {
        cat: Number(f[1]),
        ccc: Number(f[2]),
        lower: parseInt(f[3], 16),
        joins: f[4] === '1',
        composite: f[5] === '1',
        prepend: f[6] === '1',
        nfd: f.slice(8, 8 + n).map((x) => parseInt(x, 16)),
        nfkd: f.slice(8 + n).map((x) => parseInt(x, 16)),
      });
    }
    return { version, u };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// utf8proc category numbers (utf8proc.h)
const CAT = { MN: 6, PC: 12, PO: 18, ZS: 23, ZP: 25, CC: 26, CF: 27, CO: 29 };

// ---------------------------------------------------------------------------------------------
// The oracle

/** Runs `wrap(c)` for every code point through `norm`, batched; returns Map cp -> output string. */
function normalizeEach(norm, wrap = (c) => String.fromCodePoint(c), cps = ALL, SEP = '|') {
  // SEP: a starter no normalizer used here produces from another code point ('|' suits all but
  // NFKD, whose fullwidth forms give ASCII; nothing decomposes to the private-use U+E000).
  const out = new Map();
  const batch = cps.filter((c) => !wrap(c).includes(SEP));
  for (let i = 0; i < batch.length; i += 4096) {
    const chunk = batch.slice(i, i + 4096);
    const r = norm.normalizeString(chunk.map(wrap).join(SEP)).split(SEP);
    if (r.length !== chunk.length) throw new Error(`separator lost in the batch at U+${hex(chunk[0])}`);
    chunk.forEach((c, k) => out.set(c, r[k]));
  }
  for (const c of cps) if (!out.has(c)) out.set(c, norm.normalizeString(wrap(c)));
  return out;
}

/** BertPreTokenizer on "a<c>b": 'w' (one word), 'p' (isolated: punctuation), 's' (removed: whitespace). */
function preTokenizeEach() {
  const pre = hf.bertPreTokenizer();
  const out = new Map();
  for (let i = 0; i < ALL.length; i += 4096) {
    const chunk = ALL.slice(i, i + 4096);
    const pieces = pre.preTokenizeString(chunk.map((c) => `a${String.fromCodePoint(c)}b`).join(' ')).map((p) => p[0]);
    let j = 0;
    for (const c of chunk) {
      const ch = String.fromCodePoint(c);
      if (pieces[j] === `a${ch}b`) {
        out.set(c, 'w');
        j += 1;
      } else if (pieces[j] === 'a' && pieces[j + 1] === ch && pieces[j + 2] === 'b') {
        out.set(c, 'p');
        j += 3;
      } else if (pieces[j] === 'a' && pieces[j + 1] === 'b') {
        out.set(c, 's');
        j += 2;
      } else throw new Error(`unexpected pre-tokenization of U+${hex(c)}: ${JSON.stringify(pieces.slice(j, j + 3))}`);
    }
  }
  return out;
}

const bertNorm = (o) => hf.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false, ...o });

// ---------------------------------------------------------------------------------------------
// Derivation

function derive() {
  const { version, u } = utf8procDump();
  log(`utf8proc: Unicode ${version}; oracle: tokenizers ${hfVersion}; probing ${ALL.length} code points`);
  const split = preTokenizeEach();
  const clean = normalizeEach(bertNorm({ cleanText: true }));
  const chinese = normalizeEach(bertNorm({ handleChineseChars: true }));
  const strip = normalizeEach(bertNorm({ stripAccents: true }));
  const lower = normalizeEach(bertNorm({ lowercase: true }));
  const nfdNorm = hf.nfdNormalizer();
  const nfd = normalizeEach(nfdNorm);
  const fail = (cp, what) => {
    throw new Error(`U+${hex(cp)}: ${what}`);
  };

  // Categories, straight from the probes.
  const flags = new Map();
  for (const cp of ALL) {
    const ch = String.fromCodePoint(cp);
    let f = 0;
    if (split.get(cp) === 'p') f |= P;
    if (split.get(cp) === 's') f |= W;
    const cl = clean.get(cp);
    const removed = cl === '';
    if (removed && cp !== 0xfffd) f |= C; // U+FFFD is removed by its own rule, not as a control
    // clean_text's other half must follow from the flags: '\t' '\n' '\r' and whitespace become ' '.
    const toSpace = !removed && (cp === 9 || cp === 10 || cp === 13 || (f & W) !== 0);
    if (cp === 0xfffd && !removed) fail(cp, 'clean_text keeps U+FFFD');
    if (!removed && cl !== (toSpace ? ' ' : ch)) fail(cp, `clean_text gives ${JSON.stringify(cl)}`);
    const cj = chinese.get(cp);
    if (cj === ` ${ch} `) f |= H;
    else if (cj !== ch) fail(cp, `handle_chinese_chars gives ${JSON.stringify(cj)}`);
    // Non-spacing mark: only observable on NFD-stable code points (strip_accents = NFD, then drop Mn).
    if (nfd.get(cp) === ch) {
      if (strip.get(cp) === '') f |= M;
      else if (strip.get(cp) !== ch) fail(cp, `strip_accents gives ${JSON.stringify(strip.get(cp))}`);
    }
    if (f) flags.set(cp, f);
  }

  // Combining classes as the oracle's NFD sees them, for NFD-stable code points: after "<c>\u0334"
  // (ccc 1) the pair is swapped iff ccc(c) > 1; after "\u0345<c>" (ccc 240) iff 0 < ccc(c) < 240.
  const stable = ALL.filter((cp) => nfd.get(cp) === String.fromCodePoint(cp));
  const isStable = new Set(stable);
  const swappedAfter = (mark) => normalizeEach(nfdNorm, (c) => String.fromCodePoint(c) + mark, stable);
  const swappedBefore = (mark) => normalizeEach(nfdNorm, (c) => mark + String.fromCodePoint(c), stable);
  const a = swappedAfter('\u0334'),
    b = swappedBefore('\u0345');
  const oracleNonzero = new Set(
    stable.filter((cp) => {
      const ch = String.fromCodePoint(cp);
      return a.get(cp) !== `${ch}\u0334` || b.get(cp) !== `\u0345${ch}`;
    }),
  );
  // Where both sides give a nonzero class, it must be the same one: compared with a reference mark of
  // utf8proc's class (the lowest code point of that class, which both sides know).
  const ref = new Map();
  for (const cp of stable) {
    const c = u.get(cp).ccc;
    if (c && oracleNonzero.has(cp) && !ref.has(c)) ref.set(c, cp);
  }
  const cccOverride = new Map();
  for (const cp of stable) {
    const ours = u.get(cp).ccc,
      theirs = oracleNonzero.has(cp);
    if (!ours && !theirs) continue;
    if (ours && !theirs) {
      cccOverride.set(cp, 0);
      continue;
    }
    if (!ours && theirs) fail(cp, 'the oracle gives a combining class that utf8proc does not');
    const r = String.fromCodePoint(ref.get(ours)),
      ch = String.fromCodePoint(cp);
    if (cp !== ref.get(ours) && (nfdNorm.normalizeString(ch + r) !== ch + r || nfdNorm.normalizeString(r + ch) !== r + ch))
      fail(cp, `the oracle's combining class differs from utf8proc's ${ours}`);
  }
  const ccc = (cp) => (cccOverride.has(cp) ? cccOverride.get(cp) : u.get(cp).ccc);

  // Decompositions: ours is utf8proc's, canonically reordered; the oracle may lack newer ones.
  const reorder = (seq) => {
    const out = [];
    let run = [];
    for (const x of seq) {
      if (ccc(x) === 0) {
        out.push(...run.sort((p, q) => ccc(p) - ccc(q)), x);
        run = [];
      } else run.push(x);
    }
    return [...out, ...run.sort((p, q) => ccc(p) - ccc(q))]; // Array.prototype.sort is stable
  };
  const noDecomposition = [];
  for (const cp of ALL) {
    const ours = reorder(u.get(cp).nfd).join(),
      theirs = cpsOf(nfd.get(cp)).join();
    if (ours === theirs) continue;
    if (theirs === String(cp)) noDecomposition.push(cp);
    else fail(cp, `decomposition: oracle ${theirs}, utf8proc ${ours}`);
  }
  const decompose = (cp) => (noDecomposition.includes(cp) ? [cp] : reorder(u.get(cp).nfd));
  for (const cp of ALL) u.get(cp).nfkdOrdered = reorder(u.get(cp).nfkd).join();

  // Lowercase: Rust's char::to_lowercase; ours is utf8proc's simple mapping plus U+0130 -> "i\u0307".
  const lowerOverride = new Map();
  for (const cp of ALL) {
    const ours = cp === 0x130 ? [0x69, 0x307] : [u.get(cp).lower];
    const theirs = cpsOf(lower.get(cp));
    if (ours.join() === theirs.join()) continue;
    if (theirs.length !== 1) fail(cp, `lowercase to ${theirs.length} code points`);
    lowerOverride.set(cp, theirs[0]);
  }

  // Self-check: ours (utf8proc + the table) on every code point, strip_accents and lowercase.
  for (const cp of ALL) {
    const ours = decompose(cp).filter((x) => !((flags.get(x) ?? 0) & M));
    if (ours.join() !== cpsOf(strip.get(cp)).join()) fail(cp, `self-check: strip_accents ${ours} vs ${cpsOf(strip.get(cp))}`);
  }

  // What the table changes relative to utf8proc's categories (for the file header and the docs).
  const ASCII_PUNCT = (cp) => (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
  const fromUtf8proc = {
    [P]: (cp, x) => ASCII_PUNCT(cp) || (cp >= 0x80 && x.cat >= CAT.PC && x.cat <= CAT.PO),
    [W]: (cp, x) => (cp >= 9 && cp <= 13) || cp === 0x85 || (x.cat >= CAT.ZS && x.cat <= CAT.ZP),
    [C]: (cp, x) => cp !== 9 && cp !== 10 && cp !== 13 && (x.cat === CAT.CC || x.cat === CAT.CF || x.cat === CAT.CO),
    [M]: (cp, x) => x.cat === CAT.MN,
  };
  const changed = {};
  for (const [bit, name] of FLAG_NAMES) {
    if (!fromUtf8proc[bit]) continue;
    changed[name] = ALL.filter((cp) =>
      bit === M && !isStable.has(cp) ? false : fromUtf8proc[bit](cp, u.get(cp)) !== (((flags.get(cp) ?? 0) & bit) !== 0),
    ).length;
  }
  const changedAny = new Set();
  for (const cp of stable) {
    const x = u.get(cp),
      f = flags.get(cp) ?? 0;
    for (const [bit] of FLAG_NAMES) if (fromUtf8proc[bit] && fromUtf8proc[bit](cp, x) !== ((f & bit) !== 0)) changedAny.add(cp);
  }
  return { version, u, flags, isStable, cccOverride, noDecomposition, lowerOverride, changed, changedAll: changedAny.size };
}

// ---------------------------------------------------------------------------------------------
// The other pipeline components' classes (tokenizer.json): each read off the component that uses it.

// Flags; the same values as bert::unicode::tables in unicode_tables.h.
const GL = 1,
  GN = 2,
  GS = 4,
  RW = 8,
  RS = 16,
  NU = 32,
  CM = 64;
const PIPE_FLAG_NAMES = [
  [GL, 'GL'],
  [GN, 'GN'],
  [GS, 'GS'],
  [RW, 'RW'],
  [RS, 'RS'],
  [NU, 'NU'],
  [CM, 'CM'],
];

/**
 * Runs "<sep><c>" for every code point, batched, through a pre-tokenizer; per code point: whether
 * it shares a piece with the separator before it ('merged'), is in no piece ('removed'), or neither.
 */
function pieceRelation(pre, sep) {
  const out = new Map();
  for (let i = 0; i < ALL.length; i += 4096) {
    const chunk = ALL.slice(i, i + 4096);
    const text = chunk.map((c) => sep + String.fromCodePoint(c)).join('');
    const pieceOf = new Int32Array(2 * chunk.length).fill(-1);
    pre.preTokenizeString(text).forEach(([, [s, e]], k) => {
      for (let p = s; p < e; p++) pieceOf[p] = k;
    });
    chunk.forEach((c, k) => {
      const at = 2 * k + 1;
      out.set(c, pieceOf[at] < 0 ? 'removed' : pieceOf[at] === pieceOf[at - 1] ? 'merged' : 'alone');
    });
  }
  return out;
}

/** A precompiled_charsmap (spm_precompiled's darts layout) with the one rule 'x' -> 'Y'. */
function charsmapXtoY() {
  const units = new Uint32Array(256);
  units[0] = 1 << 10; // root: offset 1
  units[0x79] = 0x78 | (1 << 8) | (1 << 10); // 1 ^ 'x': label 'x', has a leaf, offset 1
  units[0x78] = 0x80000000; // the leaf: value 0 (the replacement at byte 0)
  const bytes = [...new Uint8Array(new Uint32Array([1024]).buffer), ...new Uint8Array(units.buffer), 0x59, 0];
  return hf.precompiled(bytes);
}

/**
 * A precompiled_charsmap with the one rule U+0958 (DEVANAGARI LETTER QA, bytes E0 A5 98) -> 'Y': a
 * three-level double array laid out by hand, each level's children at an offset no other level uses.
 */
function charsmapQaToY() {
  const units = new Uint32Array(0x800);
  units[0] = 1 << 10; // root: base 1
  units[0x01 ^ 0xe0] = 0xe0 | (0x100 << 10); // E0 -> base 0xE1 ^ 0x100
  units[0x1e1 ^ 0xa5] = 0xa5 | (0x200 << 10); // A5 -> base 0x144 ^ 0x200
  units[0x344 ^ 0x98] = 0x98 | (1 << 8) | (0x400 << 10); // 98, a leaf at 0x3DC ^ 0x400
  units[0x3dc ^ 0x400] = 0x80000000; // value 0: the replacement at byte 0
  const bytes = [...new Uint8Array(new Uint32Array([units.length * 4]).buffer), ...new Uint8Array(units.buffer), 0x59, 0];
  return hf.precompiled(bytes);
}

/**
 * Indic_Conjunct_Break (grapheme rule GB9c) as the oracle's unicode-segmentation has it, through
 * the QA charsmap: "QA + U+0301" is 5 bytes, so as a cluster of its own it maps whole and the accent
 * goes; joined to a conjunct before it, the cluster is longer and each character maps alone.
 *   consonant: "<c> + VIRAMA + QA + U+0301" keeps the accent;  linker: "KA + <c> + QA + U+0301";
 *   extend (or linker): "KA + VIRAMA + <c> + QA + U+0301";
 * except where <c> joins QA by itself (a Prepend character, rule GB9b): "x + <c> + QA + U+0301".
 */
function deriveConjuncts() {
  const norm = charsmapQaToY();
  const keeps = (wrap) => {
    const r = normalizeEach(norm, wrap);
    return new Set(ALL.filter((cp) => r.get(cp).endsWith('\u0301')));
  };
  const consonant = keeps((c) => String.fromCodePoint(c, 0x94d, 0x958, 0x301));
  const linker = keeps((c) => String.fromCodePoint(0x915, c, 0x958, 0x301));
  const extendOrLinker = keeps((c) => String.fromCodePoint(0x915, 0x94d, c, 0x958, 0x301));
  const prepend = keeps((c) => String.fromCodePoint(0x78, c, 0x958, 0x301));
  const cls = new Map();
  for (const cp of ALL) {
    if (consonant.has(cp)) cls.set(cp, 1);
    else if (prepend.has(cp))
      continue; // (a Prepend character joins what follows it anyway)
    else if (linker.has(cp)) cls.set(cp, 2);
    else if (extendOrLinker.has(cp)) cls.set(cp, 3);
  }
  return { cls, prepend };
}

function derivePipeline(u) {
  const fail = (cp, what) => {
    throw new Error(`U+${hex(cp)}: ${what}`);
  };
  // ByteLevel's GPT-2 regex: a letter joins the 'x' before it, a number the '1', an "other" the '!'.
  const bl = hf.byteLevelPreTokenizer(false, true);
  const L = pieceRelation(bl, 'x'),
    N = pieceRelation(bl, '1'),
    O = pieceRelation(bl, '!');
  // Whitespace (regex crate \w+|[^\w\s]+): a word character joins the 'x' before it, a space is removed.
  const ws = pieceRelation(hf.whitespacePreTokenizer(), 'x');
  // Digits (char::is_numeric): a numeric character joins the '1' before it.
  const dg = pieceRelation(hf.digitsPreTokenizer(false), '1');
  const strip = normalizeEach(hf.stripAccentsNormalizer());
  const flags = new Map();
  for (const cp of ALL) {
    let f = 0;
    const classes = [L.get(cp) === 'merged', N.get(cp) === 'merged', O.get(cp) === 'merged'].filter(Boolean).length;
    if (classes > 1) fail(cp, 'more than one GPT-2 class');
    if (L.get(cp) === 'merged') f |= GL;
    else if (N.get(cp) === 'merged') f |= GN;
    else if (O.get(cp) !== 'merged') f |= GS;
    if (ws.get(cp) === 'merged') f |= RW;
    if (ws.get(cp) === 'removed') f |= RS;
    if (dg.get(cp) === 'merged') f |= NU;
    if (strip.get(cp) === '') f |= CM;
    else if (strip.get(cp) !== String.fromCodePoint(cp)) fail(cp, `StripAccents gives ${JSON.stringify(strip.get(cp))}`);
    if (f) flags.set(cp, f);
  }
  // NFKD: utf8proc's, canonically reordered (the BERT tables' combining classes); the oracle may lack newer ones.
  const nfkd = normalizeEach(hf.nfkdNormalizer(), undefined, ALL, '\uE000');
  const noCompat = [];
  for (const cp of ALL) {
    const theirs = cpsOf(nfkd.get(cp)).join();
    if (theirs === u.get(cp).nfkdOrdered) continue;
    if (theirs === String(cp)) noCompat.push(cp);
    else fail(cp, `compatibility decomposition: oracle ${theirs}, utf8proc ${u.get(cp).nfkdOrdered}`);
  }
  // NFC: every primary composite of utf8proc's that the oracle does not compose back.
  const composites = ALL.filter((cp) => u.get(cp).composite);
  const nfc = normalizeEach(hf.nfcNormalizer(), (c) => String.fromCodePoint(...u.get(c).nfd), composites);
  const noComposition = composites.filter((cp) => nfc.get(cp) !== String.fromCodePoint(cp));
  // Graphemes: does the code point join an 'x' before it? ("x<c>" -> "Y" when it does: the whole
  // cluster maps to the replacement of 'x'.)
  const pc = normalizeEach(charsmapXtoY(), (c) => 'x' + String.fromCodePoint(c));
  // Prepend (rule GB9b: it joins what follows) shows in the conjunct probes below.
  const conjuncts = deriveConjuncts();
  const standIns = new Map();
  for (const cp of ALL) {
    const r = pc.get(cp);
    const joins = r === 'Y';
    const apart = 'Y' + (cp === 0x78 ? 'Y' : String.fromCodePoint(cp));
    if (!joins && r !== apart) fail(cp, `the probe charsmap gives ${JSON.stringify(r)}`);
    const prepends = conjuncts.prepend.has(cp);
    if (joins && prepends) fail(cp, 'both joins the character before it and prepends to the one after');
    if (joins !== u.get(cp).joins || prepends !== u.get(cp).prepend) standIns.set(cp, joins ? 0x300 : prepends ? 0x600 : 0x61);
  }
  return { flags, noCompat, noComposition, standIns, conjuncts: conjuncts.cls };
}

// ---------------------------------------------------------------------------------------------
// Emission

// Ranges of equal flags over all code points (flags 0 left out). `exact`: the values are not bits but
// one name each.
function flagRanges(flagsOf, names, exact) {
  const ranges = [];
  for (const cp of ALL) {
    const f = flagsOf.get(cp) ?? 0;
    const last = ranges.at(-1);
    if (last && last.f === f && last.hi === cp - 1) last.hi = cp;
    else ranges.push({ lo: cp, hi: cp, f });
  }
  const expr = exact
    ? (f) => names.find(([b]) => b === f)[1]
    : (f) =>
        names
          .filter(([b]) => f & b)
          .map(([, n]) => n)
          .join(' | ');
  const nonzero = ranges.filter((r) => r.f !== 0);
  const rows = [];
  for (let i = 0; i < nonzero.length; i += 3)
    rows.push(
      '    ' +
        nonzero
          .slice(i, i + 3)
          .map((r) => `{0x${hex(r.lo)}, 0x${hex(r.hi)}, ${expr(r.f)}},`)
          .join(' '),
    );
  return rows.join('\n');
}

const list = (xs, per = 8) => {
  const out = [];
  for (let i = 0; i < xs.length; i += per)
    out.push(
      '    ' +
        xs
          .slice(i, i + per)
          .map((x) => `0x${hex(x)},`)
          .join(' '),
    );
  return out.join('\n');
};

function renderPipeline(p) {
  const stand = [...p.standIns].sort((x, y) => x[0] - y[0]).map(([k, v]) => `{0x${hex(k)}, 0x${hex(v)}},`);
  const standRows = [];
  for (let i = 0; i < stand.length; i += 5) standRows.push('    ' + stand.slice(i, i + 5).join(' '));
  return `
// --- The other tokenizer.json components (unicode.h "Classes of the other pipeline components"). ---

namespace {
constexpr uint8_t GL = kGpt2Letter, GN = kGpt2Number, GS = kGpt2Space, RW = kRegexWord, RS = kRegexSpace, NU = kNumeric,
                  CM = kCombiningMark, IC = kConjunctConsonant, IL = kConjunctLinker,
                  IE = kConjunctExtend;
}  // namespace

// Every code point with a pipeline class; code points not listed have none. Sorted, disjoint.
const PropertyRange kPipelineProperties[] = {
${flagRanges(p.flags, PIPE_FLAG_NAMES)}
};
const size_t kPipelinePropertyCount = sizeof(kPipelineProperties) / sizeof(kPipelineProperties[0]);

// Code points utf8proc decomposes under NFKD and the oracle's NFKD (Unicode 9.0) does not.
const char32_t kNoCompatDecomposition[] = {
${list(p.noCompat)}
};
const size_t kNoCompatDecompositionCount = sizeof(kNoCompatDecomposition) / sizeof(kNoCompatDecomposition[0]);

// Primary composites of utf8proc's that the oracle's NFC does not compose.
const char32_t kNoComposition[] = {
${list(p.noComposition)}
};
const size_t kNoCompositionCount = sizeof(kNoComposition) / sizeof(kNoComposition[0]);

// Indic_Conjunct_Break (grapheme rule GB9c, Unicode 15.1, newer than utf8proc's rules) as the oracle
// has it: IC = consonant, IL = linker (virama), IE = extend. Sorted, disjoint.
const IndicConjunctRange kIndicConjunct[] = {
${flagRanges(
  p.conjuncts,
  [
    [1, 'IC'],
    [2, 'IL'],
    [3, 'IE'],
  ],
  true,
)}
};
const size_t kIndicConjunctCount = sizeof(kIndicConjunct) / sizeof(kIndicConjunct[0]);

// Code points whose grapheme-cluster behaviour differs between utf8proc and the oracle's
// unicode-segmentation (joining the character before, or the one after), with the code point
// utf8proc should be asked about instead (U+0300: extends, U+0600: prepends, 'a': neither).
const CodePointMap kGraphemeStandIns[] = {
${standRows.join('\n')}
};
const size_t kGraphemeStandInCount = sizeof(kGraphemeStandIns) / sizeof(kGraphemeStandIns[0]);
`;
}

function render(d, p) {
  const ranges = [];
  for (const cp of ALL) {
    const f = d.flags.get(cp) ?? 0;
    const last = ranges.at(-1);
    if (last && last.f === f && last.hi === cp - 1) last.hi = cp;
    else ranges.push({ lo: cp, hi: cp, f });
  }
  const nonzero = ranges.filter((r) => r.f !== 0);
  const flagExpr = (f) =>
    FLAG_NAMES.filter(([b]) => f & b)
      .map(([, n]) => n)
      .join(' | ');
  const rows = [];
  for (let i = 0; i < nonzero.length; i += 3)
    rows.push(
      '    ' +
        nonzero
          .slice(i, i + 3)
          .map((r) => `{0x${hex(r.lo)}, 0x${hex(r.hi)}, ${flagExpr(r.f)}},`)
          .join(' '),
    );
  const pairs = (m, per) => {
    const items = [...m].sort((x, y) => x[0] - y[0]).map(([k, v]) => `{0x${hex(k)}, 0x${hex(v)}},`);
    const out = [];
    for (let i = 0; i < items.length; i += per) out.push('    ' + items.slice(i, i + per).join(' '));
    return out.join('\n');
  };
  const cccRows = [];
  const cccItems = [...d.cccOverride].sort((x, y) => x[0] - y[0]).map(([k, v]) => `{0x${hex(k)}, ${v}},`);
  for (let i = 0; i < cccItems.length; i += 6) cccRows.push('    ' + cccItems.slice(i, i + 6).join(' '));
  const c = d.changed;
  return `// GENERATED by scripts/gen-unicode-tables.mjs from the npm package tokenizers@${hfVersion} (Hugging Face's
// Rust tokenizer) and utf8proc (Unicode ${d.version}). Do not edit: regenerate (docs/tokenizer.md).
//
// The character classes of BertNormalizer / BertPreTokenizer exactly as that library applies them,
// read off it code point by code point. Relative to utf8proc's categories this table changes
// punctuation on ${c.P}, whitespace on ${c.W}, control on ${c.C} and non-spacing mark on ${c.M} code points
// (${d.changedAll} distinct): mostly characters assigned after Unicode 8, which Hugging Face's tables predate.
#include "engine/text/unicode_tables.h"

namespace bert::unicode::tables {

const char kOracle[] = "tokenizers ${hfVersion}";
const char kBaseUnicodeVersion[] = "${d.version}";

namespace {
constexpr uint8_t P = kPunctuation, W = kWhitespace, C = kControl, M = kNonspacingMark, H = kChinese;
}  // namespace

// Every code point with a class; code points not listed have none. Sorted, disjoint.
const PropertyRange kProperties[] = {
${rows.join('\n')}
};
const size_t kPropertyCount = sizeof(kProperties) / sizeof(kProperties[0]);

// Lowercase mappings where the oracle (Rust's char::to_lowercase) differs from utf8proc's.
const CodePointMap kLowercase[] = {
${pairs(d.lowerOverride, 5)}
};
const size_t kLowercaseCount = sizeof(kLowercase) / sizeof(kLowercase[0]);

// Combining classes where the oracle's NFD differs from utf8proc's (it does not know these marks).
const CombiningClass kCombiningClass[] = {
${cccRows.join('\n')}
};
const size_t kCombiningClassCount = sizeof(kCombiningClass) / sizeof(kCombiningClass[0]);

// Code points utf8proc decomposes canonically and the oracle's NFD does not.
const char32_t kNoDecomposition[] = {${d.noDecomposition.map((x) => `0x${hex(x)}`).join(', ')}};
const size_t kNoDecompositionCount = sizeof(kNoDecomposition) / sizeof(kNoDecomposition[0]);
${renderPipeline(p)}
}  // namespace bert::unicode::tables
`;
}

const started = Date.now();
const derived = derive();
const pipe = derivePipeline(derived.u);
const text = render(derived, pipe);
log(
  `pipeline classes: ${pipe.flags.size} code points with a class; ${pipe.noCompat.length} NFKD, ` +
    `${pipe.noComposition.length} composition and ${pipe.standIns.size} grapheme overrides`,
);
log(
  `${derived.flags.size} code points with a class; ${derived.lowerOverride.size} lowercase, ` +
    `${derived.cccOverride.size} combining-class and ${derived.noDecomposition.length} decomposition overrides; ` +
    `changed vs utf8proc: ${JSON.stringify(derived.changed)} (${derived.changedAll} distinct); ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
if (process.argv.includes('--check')) {
  let old = '';
  try {
    old = readFileSync(OUT, 'utf8');
  } catch {
    /* missing */
  }
  if (old !== text) {
    log(`${OUT} is out of date: run node scripts/gen-unicode-tables.mjs`);
    process.exit(1);
  }
  log('up to date');
} else {
  writeFileSync(OUT, text);
  log(`wrote ${OUT}`);
}
