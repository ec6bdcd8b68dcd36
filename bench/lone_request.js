#!/usr/bin/env node
// Lone requests through the Engine (no HTTP): the round trip and the worker's inference time of one
// fill-mask request at a time, with a pause between requests as a lone client leaves (the engine's
// threads go to sleep). docs/performance.md "Small batches on one thread" uses it, alternating
// BERT_SERVE_SMALL_BATCHES=team and the default.
//
//   node bench/lone_request.js [--model DIR] [--threads N] [--gap-ms MS] [--n N]
// Prints one JSON line: threads, gap, the calibrated single_thread_max_tokens, p50s in ms.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './lib/args.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { Engine } = await import(join(ROOT, 'dist', 'index.js'));
const threads = Number(arg('threads', 2)),
  gapMs = Number(arg('gap-ms', 2)),
  n = Number(arg('n', 400));
const e = await Engine.load({ model: resolve(arg('model', join(ROOT, 'models', 'demo'))), intraOpThreads: threads });
const text = 'the quick brown fox jumps over the [MASK] dog and runs away';
const roundTrip = [],
  inference = [];
for (let i = 0; i < n; i++) {
  const t0 = process.hrtime.bigint();
  const a = await e.fillMaskJson(text);
  roundTrip.push(Number(process.hrtime.bigint() - t0) / 1e6);
  inference.push(a.timings.inferenceUs / 1000);
  if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
}
const p50 = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(
  JSON.stringify({
    threads,
    gapMs,
    singleThreadMaxTokens: e.info.singleThreadMaxTokens,
    roundTripP50Ms: +p50(roundTrip).toFixed(3),
    inferenceP50Ms: +p50(inference).toFixed(3),
  }),
);
await e.close();
