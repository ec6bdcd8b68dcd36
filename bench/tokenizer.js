#!/usr/bin/env node
// Tokenizer throughput, one thread: our native WordPiece tokenizer (Tokenizer.encode from JavaScript:
// ids, tokens and offsets materialized as JS arrays) against Hugging Face's Rust tokenizer (npm
// `tokenizers`, the same oracle the differential test uses), on the same texts in the same run.
// Hugging Face's Node binding is asynchronous only; it is measured both per text (await encode) and in
// batches of 256 (encodeBatch, pinned to one Rayon thread so the comparison stays one thread each),
// reading ids and offsets out of each result as a caller would.
// Reports MB/s of UTF-8 text; it measures, it does not pass or fail.
//
//   node bench/tokenizer.js [--seconds S]      (prints a Markdown table; JSON with --json)
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCorpus } from './corpus.js';

process.env.RAYON_NUM_THREADS = '1';  // read when `tokenizers` first starts its pool
process.env.TOKENIZERS_PARALLELISM = 'false';
const require = createRequire(import.meta.url);
const hf = require('tokenizers');
const { Tokenizer } = await import('../dist/tokenizer.js');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = process.env.BERT_SERVE_SHARED_DATA ?? join(ROOT, '..', 'shared', 'data');
const argv = process.argv.slice(2);
const seconds = Number(argv[argv.indexOf('--seconds') + 1] || 2) || 2;
const asJson = argv.includes('--json');

// English fill-mask sentences of mixed length, plus the golden file's multilingual edge cases.
const golden = readFileSync(join(DATA, 'wordpiece-golden-uncased-hf.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l).text);
const corpora = {
  english: makeCorpus(1000),
  multilingual: golden,
};

const ours = Tokenizer.load(join(DATA, 'bert-base-uncased-tokenizer.json'));
const theirs = hf.Tokenizer.fromFile(join(DATA, 'bert-base-uncased-tokenizer.json'));

const utf8Bytes = (texts) => texts.reduce((n, t) => n + Buffer.byteLength(t), 0);

async function rate(texts, bytes, fn) {
  await fn(texts.slice(0, 50));  // warm-up
  let rounds = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  do {
    await fn(texts);
    rounds++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (elapsed < seconds);
  return { mbPerS: (bytes * rounds) / elapsed / 1e6, textsPerS: (texts.length * rounds) / elapsed };
}

const methods = {
  'bert-serve Tokenizer.encode': async (texts) => {
    for (const t of texts) ours.encode(t);
  },
  'tokenizers (HF) await encode': async (texts) => {
    for (const t of texts) {
      const e = await theirs.encode(t);
      e.getIds();
      e.getOffsets();
    }
  },
  'tokenizers (HF) encodeBatch x256': async (texts) => {
    for (let i = 0; i < texts.length; i += 256) {
      for (const e of await theirs.encodeBatch(texts.slice(i, i + 256))) {
        e.getIds();
        e.getOffsets();
      }
    }
  },
};

const rows = [];
for (const [corpus, texts] of Object.entries(corpora)) {
  const bytes = utf8Bytes(texts);
  const r = {};
  for (const [name, fn] of Object.entries(methods)) r[name] = await rate(texts, bytes, fn);
  rows.push({ corpus, texts: texts.length, bytes, results: r });
}

if (asJson) {
  process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
} else {
  const names = Object.keys(methods);
  const out = [`| Corpus | ${names.map((n) => `${n} MB/s`).join(' | ')} | ours / best HF |`, `|---|${names.map(() => '---').join('|')}|---|`];
  for (const row of rows) {
    const mb = names.map((n) => row.results[n].mbPerS);
    out.push(`| ${row.corpus} (${row.texts} texts, ${(row.bytes / 1024).toFixed(0)} KiB) | ${mb.map((v) => v.toFixed(2)).join(' | ')} | ${(mb[0] / Math.max(mb[1], mb[2])).toFixed(2)}x |`);
  }
  process.stdout.write(out.join('\n') + '\n');
}
