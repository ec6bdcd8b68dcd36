#!/usr/bin/env node
// Goodput under connection overload: successful answers per second at the knee (the connection
// count that saturates the server) and at 4x and 16x as many connections, each a closed loop
// (autocannon: keep-alive connections, each sending its next request as soon as it has its
// answer, 429s and 503s included). The server is the real CLI serving the demo model with
// --max-queue 64 --request-timeout-ms 1000 (as bench/goodput.js), once per transport and per
// variant: the default (requests may wait for queue room, src/server/gate.ts) and --max-waiting 0
// (every full queue refused at once, the behaviour before). Beside each figure: the load
// generator's and the server's CPU share (cores, from /proc), because client, server and engine
// share this machine's cores and a client flooding with retries takes CPU from the engine.
// Bounded: 127.0.0.1 only; transports x variants x rounds x (1 + factors) runs of `seconds`.
//
//   node bench/goodput_connections.js [--seconds 6] [--knee 64] [--factors 4,16] [--rounds 3]
//        [--transports node,uws] [--variants default,no-waiting] [--model models/demo] [--dist dist]
//        [--node-options OPTS]   (NODE_OPTIONS for the server only, e.g. --max-semi-space-size=4)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT as root, startCli } from './lib/cli_server.js';
import { arg } from './lib/args.js';
import { AUTOCANNON, autocannonArgs } from './lib/autocannon.js';
import { cpuSeconds } from './lib/proc_cpu.js';

const seconds = Number(arg('seconds', 6));
const knee = Number(arg('knee', 64));
const factors = arg('factors', '4,16').split(',').map(Number);
const rounds = Number(arg('rounds', 3));
const transports = arg('transports', 'node,uws').split(',');
const variants = arg('variants', 'default,no-waiting').split(',');
const model = arg('model', join(root, 'models', 'demo'));
const dist = resolve(arg('dist', join(root, 'dist')));
const nodeOptions = arg('node-options');
const log = (m) => process.stderr.write(`[goodput-connections] ${m}\n`);

function startServer(transport, variant) {
  const extra = variant === 'no-waiting' ? ['--max-waiting', '0'] : [];
  return startCli(
    [
      '--model',
      model,
      '--log-format',
      'json',
      '--log-level',
      'info',
      '--access-log-sample',
      '0',
      '--transport',
      transport,
      '--max-queue',
      '64',
      '--request-timeout-ms',
      '1000',
      ...extra,
    ],
    { dist, env: nodeOptions ? { NODE_OPTIONS: nodeOptions } : {} },
  );
}

const dir = mkdtempSync(join(tmpdir(), 'bert-serve-goodput-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const bodyFile = join(dir, 'body.txt');
writeFileSync(bodyFile, 'test [MASK]');

/** One closed-loop run; resolves with what autocannon counted and the CPU both processes used. */
function run(port, connections, server) {
  return new Promise((resolve, reject) => {
    const cpuServer0 = cpuSeconds(server.pid);
    const t0 = process.hrtime.bigint();
    const p = spawn(AUTOCANNON, autocannonArgs(port, bodyFile, { connections, seconds }), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let cpuClient = 0;
    // The client's CPU is read just before it exits (after that /proc has no entry for it).
    const sampler = setInterval(() => {
      try {
        cpuClient = cpuSeconds(p.pid);
      } catch {
        /* exited */
      }
    }, 200);
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('exit', (code) => {
      clearInterval(sampler);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) {
        reject(new Error(`autocannon exited ${code}`));
        return;
      }
      const r = JSON.parse(out);
      const statuses = {};
      for (const [k, v] of Object.entries(r.statusCodeStats ?? {})) statuses[k] = v.count;
      resolve({
        connections,
        goodput: Math.round(r['2xx'] / seconds),
        statuses,
        errors: r.errors + r.timeouts,
        p99ms: r.latency.p99,
        loadgenCores: +(cpuClient / wall).toFixed(2),
        serverCores: +((cpuSeconds(server.pid) - cpuServer0) / wall).toFixed(2),
      });
    });
  });
}

const results = [];
for (const transport of transports) {
  for (const variant of variants) {
    const { proc, port, stop } = await startServer(transport, variant);
    try {
      await run(port, knee, proc); // warm-up
      // Rounds of (knee, 4x, 16x): each ratio is taken within its round, and the median round is
      // reported, so that a change of background load between runs moves both sides of a ratio.
      const perRound = [];
      for (let k = 0; k < rounds; k++) {
        const base = await run(port, knee, proc);
        const rows = [{ ...base, factor: 1, ratio: 1 }];
        for (const f of factors) {
          const r = await run(port, f * knee, proc);
          rows.push({ ...r, factor: f, ratio: +(r.goodput / base.goodput).toFixed(2) });
        }
        for (const r of rows) log(JSON.stringify({ transport, variant, round: k + 1, ...r }));
        perRound.push(rows);
      }
      const worst = (rows) => Math.min(...rows.slice(1).map((r) => r.ratio));
      const median = [...perRound].sort((a, b) => worst(a) - worst(b))[Math.floor((perRound.length - 1) / 2)];
      for (const r of median) results.push({ transport, variant, ...r });
    } finally {
      await stop();
    }
  }
}

console.log(
  '| transport | variant | connections | goodput (200/s) | x knee | other statuses | p99 ms | load generator cores | server cores |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const other =
    Object.entries(r.statuses)
      .filter(([k]) => k !== '200')
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || '-';
  console.log(
    `| ${r.transport} | ${r.variant} | ${r.connections} | ${r.goodput} | ${r.ratio} | ${other} | ${r.p99ms} | ${r.loadgenCores} | ${r.serverCores} |`,
  );
}
console.log(JSON.stringify({ node: process.version, dist, nodeOptions, seconds, knee, factors, rounds, model, results }));
