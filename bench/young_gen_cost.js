// What a smaller young generation costs the server (docs/benchmarks.md, "RSS after reloads"): the
// real CLI serves the demo model, autocannon sends it COUNT fill-mask requests closed loop (16
// connections) after as many for warm-up, and the server's /metrics (prom-client's
// nodejs_gc_duration_seconds) and /proc give, per 1,000 answers, the scavenges and their time, the
// full collections, and the server's CPU per answer. Variants: the server's NODE_OPTIONS, run
// interleaved (A, B, A, B, ...) ROUNDS times, since the machine is shared; counts of collections
// do not depend on the machine's load, their times and the CPU do.
//
//   node bench/young_gen_cost.js [--count 4000] [--rounds 3] [--variants ,--max-semi-space-size=4]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg } from './lib/args.js';
import { AUTOCANNON, autocannonArgs } from './lib/autocannon.js';
import { ROOT, startCli } from './lib/cli_server.js';
import { cpuSeconds } from './lib/proc_cpu.js';

const COUNT = Number(arg('count', 4000));
const ROUNDS = Number(arg('rounds', 3));
const variants = arg('variants', ',--max-semi-space-size=4').split(',');
async function gc(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const read = (what, kind) =>
    Number(new RegExp(`^nodejs_gc_duration_seconds_${what}\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { minor: read('count', 'minor'), minorS: read('sum', 'minor'), major: read('count', 'major') };
}
const dir = mkdtempSync(join(tmpdir(), 'bert-serve-young-gen-'));
const body = join(dir, 'body.txt');
writeFileSync(body, 'test [MASK]');
const cannon = (port) =>
  new Promise((resolve, reject) => {
    const p = spawn(AUTOCANNON, autocannonArgs(port, body, { connections: 16, count: COUNT }), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited ${code}`))));
  });

try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const v of variants) {
      const server = await startCli(['--model', join(ROOT, 'models', 'demo'), '--log-level', 'warn'], { env: { NODE_OPTIONS: v } });
      try {
        await cannon(server.port);
        const [g0, c0] = [await gc(server.port), cpuSeconds(server.proc.pid)];
        const r = await cannon(server.port);
        const [g1, c1] = [await gc(server.port), cpuSeconds(server.proc.pid)];
        const ok = r['2xx'];
        const per1000 = (x) => +((x / ok) * 1000).toFixed(2);
        console.log(
          JSON.stringify({
            round,
            nodeOptions: v || '(none)',
            answered: ok,
            perSecond: Math.round(r.requests.average),
            scavengesPer1000: per1000(g1.minor - g0.minor),
            scavengeMsPer1000: per1000((g1.minorS - g0.minorS) * 1000),
            fullCollections: g1.major - g0.major,
            serverCpuMsPerAnswer: +(((c1 - c0) / ok) * 1000).toFixed(3),
            load: loadavg().map((x) => +x.toFixed(2)),
          }),
        );
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
