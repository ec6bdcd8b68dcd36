#!/usr/bin/env node
// Memory under clients that never read their answers (docs/http.md, "Every cost, bounded"): N
// clients each send the request with the largest answer --max-answer-bytes allows (fill-mask, two
// long inputs x top_k 1000: 2,000 predictions, each repeating its ~4 KB input) and never read a
// byte. The server is the real CLI on the demo model with --max-inflight-answer-bytes BUDGET. Its
// RSS is sampled every 50 ms from /proc: the claim is max RSS <= idle RSS + BUDGET + 10%.
// Bounded: 127.0.0.1 only; the clients hang up after `seconds`.
//
//   node bench/nonreaders.js [--clients 200] [--budget-mib 256] [--seconds 40] [--transport node|uws]
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { ROOT as root, startCli } from './lib/cli_server.js';
import { arg } from './lib/args.js';

const clients = Number(arg('clients', 200));
const budget = Number(arg('budget-mib', 256)) * 1024 * 1024;
const seconds = Number(arg('seconds', 40));
const transport = arg('transport', 'node');
const model = arg('model', join(root, 'models', 'demo'));
const MAX_ANSWER = 8 * 1024 * 1024;
const log = (m) => process.stderr.write(`[nonreaders] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const rssBytes = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

const { proc, port, stop } = await startCli([
  '--model',
  model,
  '--log-format',
  'json',
  '--access-log-sample',
  '0',
  '--transport',
  transport,
  '--max-inflight-answer-bytes',
  String(budget),
]);

function post(body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, bytes: Buffer.concat(chunks).length }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// Long single-token words: each prediction's "sequence" repeats the whole input.
const WORDS = [
  'international',
  'government',
  'development',
  'information',
  'performance',
  'environment',
  'professional',
  'organization',
  'independent',
  'understanding',
  'relationship',
  'championship',
  'construction',
  'particularly',
];
const bodyFor = (n) =>
  JSON.stringify({
    inputs: [0, 1].map((k) => `the [MASK] ${Array.from({ length: n }, (_, i) => WORDS[(i + k) % WORDS.length]).join(' ')}`),
    parameters: { top_k: 1000 },
  });
// The most words whose answer fits --max-answer-bytes (measured, by bisection).
let lo = 10,
  hi = 500,
  answerBytes = 0;
while (lo < hi) {
  const mid = Math.ceil((lo + hi) / 2);
  const r = await post(bodyFor(mid));
  if (r.status === 200 && r.bytes <= MAX_ANSWER) {
    lo = mid;
    answerBytes = r.bytes;
  } else hi = mid - 1;
}
const body = bodyFor(lo);
if (answerBytes === 0) answerBytes = (await post(body)).bytes;
log(`largest answer: ${answerBytes} bytes (${lo} words per input, a ${body.length}-byte request)`);

await sleep(2000);
const baseline = rssBytes(proc.pid);
let max = baseline;
const sampler = setInterval(() => {
  try {
    max = Math.max(max, rssBytes(proc.pid));
  } catch {
    /* gone */
  }
}, 50);

const request = `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const sockets = [];
let closedByServer = 0;
for (let i = 0; i < clients; i++) {
  const s = net.connect(port, '127.0.0.1', () => {
    s.write(request);
    s.pause();
  }); // never reads
  s.setRecvBufferSize?.(4096);
  s.on('error', () => {});
  s.on('close', () => {
    closedByServer++;
  });
  sockets.push(s);
}
const t0 = Date.now();
while (Date.now() - t0 < seconds * 1000) await sleep(250);
clearInterval(sampler);
for (const s of sockets) s.destroy();

const metrics = await new Promise((resolve) =>
  http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
    let s = '';
    res.on('data', (d) => {
      s += d;
    });
    res.on('end', () => resolve(s));
  }),
);
const statuses = {};
for (const m of metrics.matchAll(/^bert_serve_http_requests_total\{route="\/",method="POST",status="(\d+)"\} (\d+)/gm))
  statuses[m[1]] = Number(m[2]);
const cut = Number(/^bert_serve_client_closed_total\{route="\/",stage="send"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
await stop();

const mib = (b) => +(b / 1048576).toFixed(1);
const result = {
  transport,
  clients,
  budgetMiB: mib(budget),
  answerBytes,
  baselineMiB: mib(baseline),
  maxMiB: mib(max),
  growthMiB: mib(max - baseline),
  growthOverBudget: +((max - baseline) / budget).toFixed(3),
  within: max - baseline <= budget * 1.1,
  answeredStatuses: statuses,
  cutOffWhileSending: cut,
  closedByServer,
};
console.log(JSON.stringify(result));
