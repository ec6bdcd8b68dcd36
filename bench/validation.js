#!/usr/bin/env node
// What checking a request body costs the JS thread: api/validate.ts (the ajv-compiled schemas the
// routes declare, src/server/routes/*.ts) on typical valid bodies of each route, and on invalid ones (the message is built
// then). Median of 7 runs of N calls each, in ns per call. Needs `npx tsc -p tsconfig.json` first.
//
//   node bench/validation.js [N]        default N = 200000
import { performance } from 'node:perf_hooks';
import { validateBody, validators } from '../dist/server/api/validate.js';
import { routeFor } from '../dist/server/routes/index.js';

const N = Number(process.argv[2] ?? 200_000);
const LIMIT = 32;
const texts = (n) => Array.from({ length: n }, (_, i) => `text number ${i} with a few words`);
// [route, task of the served model, body]
const CASES = [
  ['/', 'fill-mask', { inputs: 'Paris is the [MASK] of France.', parameters: { top_k: 5 } }],
  ['/', 'fill-mask', { inputs: texts(32).map((t) => `${t} [MASK]`) }],
  ['/embed', 'feature-extraction', { inputs: 'hello world', normalize: true, truncate: false, truncation_direction: 'Right' }],
  ['/embed', 'feature-extraction', { inputs: texts(32), dimensions: 256 }],
  ['/v1/embeddings', 'feature-extraction', { input: texts(8), model: 'm', encoding_format: 'base64' }],
  ['/predict', 'text-classification', { inputs: [['a question', 'an answer'], 'c'], raw_scores: false }],
  ['/rerank', 'text-classification', { query: 'what is paris', texts: texts(16), return_text: true }],
  ['/', 'text-classification', { inputs: ['a', { text: 'b', text_pair: 'c' }], parameters: { top_k: null } }],
  ['/tokenize', 'fill-mask', { inputs: 'Hello [MASK] world!', add_special_tokens: true }],
  ['/embed', 'feature-extraction', { inputs: ['a', 2] }],
  ['/', 'fill-mask', { inputs: 'a [MASK]', parameters: { top_k: 0 } }],
  ['/embed', 'feature-extraction', { inputs: texts(40) }],
];

const t0 = performance.now();
validators(LIMIT);
console.log(`compiling the schemas: ${(performance.now() - t0).toFixed(1)} ms (once per --max-client-batch-size)`);
let sink = 0;
for (const [path, task, body] of CASES) {
  const route = routeFor('POST', path, task);
  const name = `${path} (${task})`;
  const result = validateBody(LIMIT, route, body);
  const runs = [];
  for (let r = 0; r < 7; r++) {
    const start = performance.now();
    for (let i = 0; i < N; i++) sink += validateBody(LIMIT, route, body) === undefined ? 1 : 0;
    runs.push(((performance.now() - start) * 1e6) / N);
  }
  runs.sort((a, b) => a - b);
  const what = result ? `${result.status} ${result.message.slice(0, 60)}` : 'valid';
  console.log(`${name.padEnd(36)} ${JSON.stringify(body).slice(0, 50).padEnd(50)} ${runs[3].toFixed(0).padStart(6)} ns  ${what}`);
}
if (sink < 0) console.log(sink);
