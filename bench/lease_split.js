#!/usr/bin/env node
// The lease split (--lease-split, docs/batching.md) at the engine, without HTTP: two engines of the
// same model on one ThreadBudget, A kept busy by `outstanding` requests in a closed loop, B sending
// one request, waiting for it, then pausing `b-gap-ms`. What it takes HTTP out of: bench/fairness.js
// measures the same through the server, where A's flood also costs the JS thread and the load
// generator a core between them on 2 CPUs; here A's load is only its engine's work.
//
//   node bench/lease_split.js [--model DIR] [--seconds S] [--rounds N] [--outstanding K] [--b-gap-ms G]
//
// Each round runs, in order, for each variant (`plain`: the budget without the split; `split`: with
// it): B alone, then B while A is busy. Per run: B's latency p50 / p99 (ms, from the call to its
// answer, in this process), A's answers per second, the process's CPU ms per answer (A's and B's),
// and from budget.stats() the leases that waited and the threads given up. Ratios are taken within
// a round (the machine may be shared), the medians over rounds reported; JSON on stdout.
import { performance } from 'node:perf_hooks';
import { Engine, ThreadBudget } from '../dist/index.js';
import { makeCorpus } from './corpus.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const model = arg('model', 'models/demo');
const seconds = Number(arg('seconds', 4));
const rounds = Number(arg('rounds', 3));
const outstanding = Number(arg('outstanding', 32));
const gapMs = Number(arg('b-gap-ms', 20));
const log = (m) => process.stderr.write(`[lease-split] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};
const median = (xs) => quantile(xs, 0.5);
const r3 = (x) => Math.round(x * 1000) / 1000;

const texts = (await makeCorpus(2000)).map((t) => t.text ?? t);
// Every engine gets the batch overhead the first one measured: it decides how batches are cut, and
// a second measurement on a busy machine could differ by 2x, which would be the difference seen.
const variants = {};
let batchOverheadTokens;
for (const name of ['plain', 'split']) {
  const budget = new ThreadBudget(undefined, { split: name === 'split' });
  const a = await Engine.load({ model, threadBudget: budget, batchOverheadTokens });
  batchOverheadTokens = a.info.batchOverheadTokens;
  const b = await Engine.load({ model, threadBudget: budget, batchOverheadTokens });
  variants[name] = { budget, a, b };
}
log(
  `${model}, budget of ${variants.plain.budget.threads} threads, ${outstanding} of A's requests outstanding, B every ${gapMs} ms, ` +
    `batch overhead ${batchOverheadTokens} tokens`,
);

async function run(v, shared) {
  const stop = performance.now() + seconds * 1000;
  const latencies = [];
  let aAnswers = 0;
  const aLoop = async (k) => {
    for (let i = k; performance.now() < stop; i += outstanding) {
      await v.a.fillMask(texts[i % texts.length]);
      aAnswers++;
    }
  };
  const bLoop = async () => {
    for (let i = 0; performance.now() < stop; i++) {
      const t0 = performance.now();
      await v.b.fillMask(texts[(i * 7) % texts.length]);
      latencies.push(performance.now() - t0);
      await sleep(gapMs);
    }
  };
  const s0 = v.budget.stats();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all([...(shared ? Array.from({ length: outstanding }, (_, k) => aLoop(k)) : []), bLoop()]);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const s1 = v.budget.stats();
  return {
    bP50: r3(median(latencies)),
    bP99: r3(quantile(latencies, 0.99)),
    bAnswers: latencies.length,
    aPerS: r3(aAnswers / elapsed),
    cpuMsPerAnswer: r3((cpu.user + cpu.system) / 1000 / (aAnswers + latencies.length)),
    leasesWaited: s1.waited - s0.waited,
    leases: s1.leases - s0.leases,
    givenUp: s1.givenUp - s0.givenUp,
  };
}

const results = { plain: [], split: [] };
for (let round = 1; round <= rounds; round++) {
  for (const name of ['plain', 'split']) {
    const alone = await run(variants[name], false);
    const shared = await run(variants[name], true);
    const row = { round, alone, shared, bP99Ratio: r3(shared.bP99 / alone.bP99) };
    results[name].push(row);
    log(
      `round ${round} ${name}: B p99 ${alone.bP99} -> ${shared.bP99} ms (${row.bP99Ratio}x; p50 ${alone.bP50} -> ${shared.bP50}), ` +
        `A ${shared.aPerS}/s, CPU ${shared.cpuMsPerAnswer} ms/answer, leases waited ${shared.leasesWaited} of ${shared.leases}, ` +
        `threads given up ${shared.givenUp}`,
    );
  }
}
const summary = {};
for (const [name, rows] of Object.entries(results)) {
  const m = (f) => r3(median(rows.map(f)));
  summary[name] = {
    bP99Alone: m((r) => r.alone.bP99),
    bP99Shared: m((r) => r.shared.bP99),
    bP99Ratio: m((r) => r.bP99Ratio),
    bP50Shared: m((r) => r.shared.bP50),
    aPerS: m((r) => r.shared.aPerS),
    cpuMsPerAnswer: m((r) => r.shared.cpuMsPerAnswer),
    leasesWaited: m((r) => r.shared.leasesWaited),
    givenUp: m((r) => r.shared.givenUp),
  };
  log(`${name} (median of ${rows.length}): ${JSON.stringify(summary[name])}`);
}
for (const v of Object.values(variants)) await Promise.all([v.a.close(), v.b.close()]);
process.stdout.write(JSON.stringify({ model, seconds, rounds, outstanding, gapMs, summary, results }) + '\n');
