#!/usr/bin/env node
// Tokenizer throughput per kind, one thread each: our native tokenizer (Tokenizer.encode from
// JavaScript: ids, tokens, offsets, type ids materialized as JS arrays) against Hugging Face's Rust
// tokenizer's batch encode (npm `tokenizers`, the same oracle the differential tests use:
// encodeBatch of 256, its Rayon pool pinned to one thread, ids and offsets read out of each result)
// on the same tokenizer.json and the same texts, in the same process.
//
// Kinds: BERT (uncased tokenizer.json: the one-pass fast path; and the same file through the general
// pipeline), RoBERTa (byte-level BPE), XLM-RoBERTa (Unigram + precompiled charsmap), MPNet
// (WordPiece + RobertaProcessing): scripts/make_tokenizer_fixtures.mjs's files (made when missing).
// Texts: the bench corpus (English fill-mask sentences, 5-370 tokens) and real multilingual text (20
// translations per language from the system's gettext catalogs, bench/multilingual.js).
//
// Method: rounds alternate ours / theirs (A, B, A, B, ...) so that load from other processes hits
// both alike; each round encodes the whole corpus; the reported ratio is the median of the per-round
// ratios of theirs' time to ours (> 1: ours is faster). It measures; it does not pass or fail.
//
//   node bench/tokenizer.js [--rounds N] [--json]     (prints a Markdown table)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCorpus } from './corpus.js';
import { translations } from './multilingual.js';

process.env.RAYON_NUM_THREADS = '1'; // read when `tokenizers` first starts its pool
process.env.TOKENIZERS_PARALLELISM = 'false';
const require = createRequire(import.meta.url);
const hf = require('tokenizers');
const { Tokenizer } = await import('../dist/tokenizer.js');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DATA =
  process.env.BERT_SERVE_SHARED_DATA ??
  (existsSync(join(ROOT, '..', 'shared', 'data')) ? join(ROOT, '..', 'shared', 'data') : join(ROOT, 'test', 'data', 'shared'));
const FIXTURES = process.env.BERT_SERVE_TOKENIZER_FIXTURES ?? join(ROOT, 'models', 'test', 'tokenizers');
const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf('--rounds') + 1] || 0) || 7;
const asJson = argv.includes('--json');

if (!['roberta', 'xlm-roberta', 'mpnet'].every((k) => existsSync(join(FIXTURES, k, 'tokenizer.json')))) {
  process.stderr.write(`[bench tokenizer] making the tokenizer fixtures in ${FIXTURES}\n`);
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'make_tokenizer_fixtures.mjs'), FIXTURES], { stdio: 'inherit' });
}

// BERT through the general pipeline: the same file with [MASK] matched after normalization, which
// the one-pass fast path does not do.
const bertJson = readFileSync(join(DATA, 'bert-base-uncased-tokenizer.json'), 'utf8');
const general = JSON.parse(bertJson);
for (const t of general.added_tokens) if (t.content === '[MASK]') t.normalized = true;
const generalDir = join(FIXTURES, 'variants', 'bert-general');
mkdirSync(generalDir, { recursive: true });
writeFileSync(join(generalDir, 'tokenizer.json'), JSON.stringify(general));

const kinds = [
  ['BERT WordPiece (fast path)', join(DATA, 'bert-base-uncased-tokenizer.json')],
  ['BERT WordPiece (general pipeline)', join(generalDir, 'tokenizer.json')],
  ['RoBERTa byte-level BPE', join(FIXTURES, 'roberta', 'tokenizer.json')],
  ['XLM-R Unigram', join(FIXTURES, 'xlm-roberta', 'tokenizer.json')],
  ['MPNet WordPiece + RobertaProcessing', join(FIXTURES, 'mpnet', 'tokenizer.json')],
].map(([name, file]) => ({ name, ours: Tokenizer.load(file), theirs: hf.Tokenizer.fromFile(file) }));

const english = makeCorpus(1000);
const multilingual = translations({ perLanguage: 20 }).texts;
// The English sentences carry each kind's own mask token.
const corpora = (k) => ({
  english: k.ours.info.specialTokens.mask === '[MASK]' ? english : english.map((t) => t.replace('[MASK]', k.ours.info.specialTokens.mask)),
  multilingual,
});

const utf8Bytes = (texts) => texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function time(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const rows = [];
for (const k of kinds) {
  for (const [corpus, texts] of Object.entries(corpora(k))) {
    const ours = () => {
      for (const t of texts) k.ours.encode(t);
    };
    const theirs = async () => {
      for (let i = 0; i < texts.length; i += 256) {
        for (const e of await k.theirs.encodeBatch(texts.slice(i, i + 256))) {
          e.getIds();
          e.getOffsets();
        }
      }
    };
    await time(ours); // warm-up: caches, allocations, JIT
    await time(theirs);
    const a = [],
      b = [];
    for (let r = 0; r < rounds; r++) {
      a.push(await time(ours));
      b.push(await time(theirs));
    }
    const bytes = utf8Bytes(texts);
    rows.push({
      kind: k.name,
      corpus,
      texts: texts.length,
      bytes,
      oursMBps: bytes / median(a) / 1e6,
      theirsMBps: bytes / median(b) / 1e6,
      ratio: median(a.map((x, i) => b[i] / x)),
    });
  }
}

if (asJson) {
  process.stdout.write(JSON.stringify({ rounds, rows }, null, 2) + '\n');
} else {
  const out = [
    '| Tokenizer | Corpus | bert-serve MB/s | tokenizers encodeBatch MB/s | ours / theirs (median of rounds) |',
    '|---|---|---|---|---|',
  ];
  for (const r of rows)
    out.push(
      `| ${r.kind} | ${r.corpus} (${r.texts} texts, ${(r.bytes / 1024).toFixed(0)} KiB) | ${r.oursMBps.toFixed(2)} | ${r.theirsMBps.toFixed(2)} | ${r.ratio.toFixed(2)}x |`,
    );
  process.stdout.write(out.join('\n') + '\n');
}
