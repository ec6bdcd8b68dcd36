#!/usr/bin/env node
// uWebSockets.js vs node:http (docs/http.md#transports): the real CLI serving the demo model, once
// per transport (--transport uws, --transport node), loaded by autocannon (a child process,
// keep-alive connections, closed loop) for `seconds` per run on two requests: GET /health (the
// transport and routing alone) and POST / "test [MASK]" (a fill-mask through the engine). Reports
// answers per second and the server process's CPU time per answer (from /proc, so a busy machine
// changes the first more than the second), alternating the transports for `rounds` rounds.
// Bounded: 127.0.0.1 only, rounds x 2 transports x 2 requests x `seconds`.
//
//   node bench/transport.js [seconds=8] [connections=16] [rounds=2] [model=models/demo]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT as root, startCli } from './lib/cli_server.js';

const seconds = Number(process.argv[2] ?? 8);
const connections = Number(process.argv[3] ?? 16);
const rounds = Number(process.argv[4] ?? 2);
const model = process.argv[5] ?? join(root, 'models', 'demo');
const cannon = join(root, 'node_modules', '.bin', 'autocannon');
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })); // /proc/PID/stat's unit

/** CPU seconds (user + system) the process has used, from /proc/PID/stat. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS; // utime, stime (fields 14, 15)
}

function startServer(transport) {
  return startCli(['--model', model, '--log-format', 'json', '--transport', transport]);
}

function load(url, extra) {
  return new Promise((resolve, reject) => {
    const p = spawn(cannon, ['-j', '-c', String(connections), '-d', String(seconds), ...extra, url], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let s = '';
    p.stdout.on('data', (d) => {
      s += d;
    });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(s)) : reject(new Error(`autocannon exited ${code}`))));
  });
}

// The body goes in a file: autocannon's argument parser takes [ ] as sub-arguments.
const dir = mkdtempSync(join(tmpdir(), 'bert-serve-transport-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const bodyFile = join(dir, 'body.txt');
writeFileSync(bodyFile, 'test [MASK]');
const REQUESTS = {
  health: (port) => [`http://127.0.0.1:${port}/health`, []],
  fill_mask: (port) => [`http://127.0.0.1:${port}/`, ['-m', 'POST', '-H', 'content-type=text/plain', '-i', bodyFile]],
};

const results = [];
for (let round = 1; round <= rounds; round++) {
  for (const transport of ['uws', 'node']) {
    const { proc, port, stop } = await startServer(transport);
    try {
      for (const [name, make] of Object.entries(REQUESTS)) {
        const [url, extra] = make(port);
        const cpu0 = cpuSeconds(proc.pid);
        const out = await load(url, extra);
        const cpu = cpuSeconds(proc.pid) - cpu0;
        const answers = out['2xx'];
        results.push({
          round,
          transport,
          request: name,
          answersPerS: Math.round(answers / seconds),
          non2xx: out.non2xx,
          errors: out.errors,
          p50ms: out.latency.p50,
          p99ms: out.latency.p99,
          serverCpuUsPerAnswer: Math.round((cpu * 1e6) / answers),
        });
        console.error(JSON.stringify(results.at(-1)));
      }
    } finally {
      await stop('SIGTERM');
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = {};
for (const request of Object.keys(REQUESTS)) {
  const of = (transport, k) => median(results.filter((r) => r.request === request && r.transport === transport).map((r) => r[k]));
  summary[request] = {
    uwsAnswersPerS: of('uws', 'answersPerS'),
    nodeAnswersPerS: of('node', 'answersPerS'),
    throughputNodeOverUws: +(of('node', 'answersPerS') / of('uws', 'answersPerS')).toFixed(2),
    uwsCpuUsPerAnswer: of('uws', 'serverCpuUsPerAnswer'),
    nodeCpuUsPerAnswer: of('node', 'serverCpuUsPerAnswer'),
  };
}
console.log(JSON.stringify({ node: process.version, seconds, connections, rounds, model, summary, results }, null, 1));
