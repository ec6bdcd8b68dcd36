#!/usr/bin/env node
// What one refusal costs the server's JS thread. An in-process Server over the fake native binding
// (test/helpers/fake-addon.cjs) holds every accepted request, so once --max-queue is full every
// further request is refused: at once with 429 (--max-waiting 0, the default here), or after
// waiting for room until its deadline with 504 (--max-waiting N --request-timeout-ms MS);
// autocannon (a child process, so its CPU is its own) sends them on keep-alive connections for a
// few seconds, and the server process's CPU time is divided by the number of answers. --log-level
// info counts the access log's work too (the CLI's default level). Bounded: 127.0.0.1 only,
// `seconds` (default 5) per run.
//
//   node bench/refusal_cost.js [dist-dir] [seconds] [connections]
//        [--max-waiting 0] [--request-timeout-ms 30000] [--log-level error] [--transport node]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(process.argv[2] ?? join(root, 'dist'));
const seconds = Number(process.argv[3] ?? 5);
const connections = Number(process.argv[4] ?? 32);
const flag = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const maxWaiting = Number(flag('max-waiting', 0));
const requestTimeoutMs = Number(flag('request-timeout-ms', 30_000));
const logLevel = flag('log-level', 'error');
const transport = flag('transport', 'node');
process.env.BERT_SERVE_ADDON = join(root, 'test', 'helpers', 'fake-addon.cjs');
const fake = createRequire(import.meta.url)(process.env.BERT_SERVE_ADDON).control;
const { Server } = await import(join(dist, 'server', 'server.js'));
const { Engine } = await import(join(dist, 'engine.js'));

const engine = await Engine.load({ model: '/fake/model', warmup: false, maxQueue: 1 });
const server = new Server({
  host: '127.0.0.1',
  port: 0,
  engine,
  logLevel,
  logFormat: 'json',
  accessLogSample: 0,
  defaultMetrics: false,
  maxWaiting,
  requestTimeoutMs,
  transport,
});
await server.listen();
fake.hold = true;
fetch(`${server.url}/`, { method: 'POST', body: 'held [MASK]' }).catch(() => {}); // held, never answered: fills the queue
while (fake.held.length < 1) await new Promise((r) => setTimeout(r, 10));
const body = JSON.stringify({ inputs: 'Paris is the [MASK] of France.', parameters: { top_k: 5 } });
const cannon = join(root, 'node_modules', '.bin', 'autocannon');
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const out = await new Promise((resolveRun, reject) => {
  const p = spawn(
    cannon,
    [
      '-j',
      '-c',
      String(connections),
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      body,
      `${server.url}/`,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let s = '';
  p.stdout.on('data', (d) => {
    s += d;
  });
  p.on('exit', (code) => (code === 0 ? resolveRun(JSON.parse(s)) : reject(new Error(`autocannon exited ${code}`))));
});
const wallS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const answers = out['4xx'] + out['5xx'];
const cpuUs = cpu.user + cpu.system;
const statuses = Object.fromEntries(Object.entries(out.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
console.log(
  JSON.stringify({
    dist,
    transport: server.transport,
    maxWaiting,
    requestTimeoutMs,
    logLevel,
    connections,
    seconds,
    answers,
    statuses,
    non2xx: out.non2xx,
    errors: out.errors,
    perSecond: Math.round(answers / wallS),
    serverCpuUsPerRefusal: +(cpuUs / answers).toFixed(2),
    serverCpuShare: +(cpuUs / 1e6 / wallS).toFixed(2),
  }),
);
fake.hold = false;
fake.release();
await server.close({ timeoutMs: 1000 });
process.exit(0);
