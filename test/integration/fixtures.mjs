// Paths and helpers shared by the engine integration tests. Models are made by scripts/setup.sh
// (models/demo) and scripts/test.sh (models/test/*); shared data: $BERT_SERVE_SHARED_DATA (set by
// scripts/test.sh: ../shared/data, else the copy in test/data/shared) or ../shared/data.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
// The bench's seeded PRNG (mulberry32): generated corpora are reproducible.
import { rng } from '../../bench/corpus.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const demoModel = join(root, 'models', 'demo');
export const testModel = (name) => join(root, 'models', 'test', name);
export const sharedData = process.env.BERT_SERVE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
export const python = process.env.BERT_SERVE_PYTHON ?? '/usr/bin/python3';

/** Runs a python script of the project with JSON lines in and out. */
export function runPython(script, args, inputLines) {
  const res = spawnSync(python, [join(root, 'scripts', script), ...args], {
    input: inputLines.map((l) => JSON.stringify(l)).join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(`${script} failed (${res.status}): ${res.stderr}`);
  return res.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const WORDS = (
  'the a of to and in is was for on that with as by at from his her it he she they this be are were ' +
  'city river music paris london doctor school water light house small large early later music history ' +
  'government language science computer player village church station family mother father children'
).split(' ');

/** Fill-mask sentences of varied length (about 5 to `maxWords` words) with 1 (mostly) or 2 masks. */
export function maskCorpus(n, seed, maxWords = 60) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + Math.floor(r() ** 2 * maxWords);
    const words = Array.from({ length: len }, () => WORDS[Math.floor(r() * WORDS.length)]);
    words[Math.floor(r() * len)] = '[MASK]';
    if (r() < 0.15) words[Math.floor(r() * len)] = '[MASK]';
    if (!words.includes('[MASK]')) words[0] = '[MASK]';
    let s = words.join(' ');
    if (r() < 0.5) s = s[0].toUpperCase() + s.slice(1) + '.';
    out.push(s);
  }
  return out;
}

const TEXT_WORDS = (
  'the a of to and in is was for on that with as by at from his her it he she they this be are ' +
  'city river music paris london doctor school water light house small large early later history john smith ' +
  'microsoft google berlin new york angela merkel barack obama unbelievable tokenization café naïve résumé ' +
  "straße 東京 ¿qué? don't it's u.s. e-mail 42 3.14 #hashtag @user :) 😀"
).split(' ');

/** Texts of 1 to `maxWords` words (mostly short), names, accents, other scripts, punctuation, emoji. */
export function corpus(n, seed, maxWords = 40) {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const len = 1 + Math.floor(r() ** 2 * maxWords);
    let s = Array.from({ length: len }, () => TEXT_WORDS[Math.floor(r() * TEXT_WORDS.length)]).join(' ');
    if (r() < 0.5) s = s[0].toUpperCase() + s.slice(1) + (r() < 0.5 ? '.' : '!');
    return s;
  });
}

/**
 * Same top-k ids with scores within `tol`. Where two candidates' scores are within `tol` of each other
 * their order is a tie and may legitimately swap, so ids are compared as sets of each tie group.
 */
export function compareTopK(got, want, tol) {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const ds = Math.abs(got[i].score - want[i].score);
    if (ds > tol) return `rank ${i}: score ${got[i].score} vs ${want[i].score} (diff ${ds})`;
    if (got[i].id !== want[i].id) {
      const tie = want.some((w) => w.id === got[i].id && Math.abs(w.score - got[i].score) <= tol);
      if (!tie) return `rank ${i}: id ${got[i].id} vs ${want[i].id}`;
    }
  }
  return null;
}
