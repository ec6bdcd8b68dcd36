#!/usr/bin/env node
// Goodput under overload: successful answers per second at the knee and at `factor` x the knee
// (default 4x), on a fresh server with --max-queue 64 --request-timeout-ms 1000 (the overload
// stage of bench/run.js). The knee is the highest offered rate, in a short open-loop sweep, with
// >= 95% of it answered 200 (throughput, not latency: the deadline bounds latency). Open loop with
// bench/loadgen.js on 127.0.0.1; every run is `seconds` long, the sweep at most 12 runs.
//
//   node bench/goodput.js [--dist DIR] [--model DIR] [--knee RATE] [--seconds S] [--factor F]
//                         [--scrape-ms MS]    (also scrape /metrics every MS while measuring)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCorpus } from './corpus.js';
import { startCli } from './lib/cli_server.js';
import { arg } from './lib/args.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(arg('dist', join(ROOT, 'dist')));
const model = resolve(arg('model', join(ROOT, 'models', 'demo')));
const seconds = Number(arg('seconds', 4));
const factor = Number(arg('factor', 4));
const scrapeMs = Number(arg('scrape-ms', 0));
let knee = arg('knee') ? Number(arg('knee')) : undefined;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`[goodput] ${m}\n`);

const tmp = mkdtempSync(join(os.tmpdir(), 'bert-serve-goodput-'));
const corpus = join(tmp, 'corpus.txt');
writeFileSync(corpus, (await makeCorpus(500)).map((t) => t.text ?? t).join('\n') + '\n');

const get = (path) =>
  new Promise((res, rej) =>
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode));
      })
      .on('error', rej),
  );
const { port, stop } = await startCli(['--model', model, '--log-level', 'warn', '--max-queue', '64', '--request-timeout-ms', '1000'], {
  dist,
  stderr: 'inherit',
  readyTimeoutMs: 120_000,
});
try {
  const run = (rate) =>
    new Promise((res, rej) => {
      const p = spawn(
        process.execPath,
        [
          join(ROOT, 'bench', 'loadgen.js'),
          JSON.stringify({ port, rate, duration: seconds, warmup: 1, corpus, timeoutMs: 10_000, seed: rate }),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
      });
      p.on('exit', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').pop())) : rej(new Error(`loadgen exited ${code}`))));
    });
  let scraping = false;
  const scraper = async () => {
    while (scraping) {
      await get('/metrics').catch(() => {});
      await sleep(scrapeMs);
    }
  };
  const measure = async (rate) => {
    if (scrapeMs > 0) {
      scraping = true;
      scraper();
    }
    const r = await run(rate);
    scraping = false;
    const lat = r.latency_ok_from_schedule ?? {};
    return {
      offered: rate,
      ok_rate: +r.ok_rate.toFixed(1),
      refused_fraction: +r.refused_fraction.toFixed(3),
      p50_ms: lat.p50,
      p99_ms: lat.p99,
      status: r.status,
    };
  };
  const passes = (m) => m.ok_rate >= 0.95 * m.offered;
  const sweep = [];
  if (knee === undefined) {
    for (const rate of [100, 200, 300, 400, 500, 600, 700, 800, 1000, 1200, 1500, 2000]) {
      const m = await measure(rate);
      sweep.push(m);
      log(`sweep ${rate}/s: ${m.ok_rate} ok/s, p99 ${m.p99_ms?.toFixed(1)} ms`);
      if (!passes(m)) break;
      knee = rate;
    }
    if (knee === undefined) throw new Error('no rate passed');
  }
  const atKnee = await measure(knee);
  const over = await measure(Math.round(factor * knee));
  log(`knee ${knee}/s: ${atKnee.ok_rate} ok/s; ${factor}x: ${over.ok_rate} ok/s`);
  console.log(
    JSON.stringify({
      dist,
      model,
      seconds,
      knee,
      atKnee,
      overload: { factor, ...over },
      goodputRatio: +(over.ok_rate / atKnee.ok_rate).toFixed(3),
      sweep,
    }),
  );
} finally {
  await stop();
  rmSync(tmp, { recursive: true, force: true });
}
