#!/usr/bin/env node
// The JS-thread cost of one 429, without sockets: the server's own request path (Exchange, admission,
// the fill-mask route) driven with a stand-in for uWS's HttpRequest/HttpResponse that delivers a
// small JSON body at once and swallows the answer. The engine (the fake native binding) holds one
// accepted request with --max-queue 1, so every request is refused. Prints microseconds per refusal.
//
//   node bench/refusal_micro.js [dist-dir] [iterations]
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(process.argv[2] ?? join(root, 'dist'));
const n = Number(process.argv[3] ?? 200_000);
process.env.BERT_SERVE_ADDON = join(root, 'test', 'helpers', 'fake-addon.cjs');
const fake = createRequire(import.meta.url)(process.env.BERT_SERVE_ADDON).control;
const { Server } = await import(join(dist, 'server', 'server.js'));
const { Engine } = await import(join(dist, 'engine.js'));
const { Exchange } = await import(join(dist, 'server', 'exchange.js'));
const { fillMaskRoute } = await import(join(dist, 'server', 'routes', 'fill_mask.js'));

const engine = await Engine.load({ model: '/fake/model', warmup: false, maxQueue: 1 });
const server = new Server({ engine, logLevel: 'error', defaultMetrics: false });
fake.hold = true;
engine.fillMask('held [MASK]').catch(() => {});
await new Promise((r) => setTimeout(r, 10));

const body = new TextEncoder().encode(JSON.stringify({ inputs: 'Paris is the [MASK] of France.', parameters: { top_k: 5 } })).buffer;
const HEADERS = { 'content-type': 'application/json', 'content-length': String(body.byteLength), host: '127.0.0.1', 'user-agent': 'bench' };
const req = {
  getCaseSensitiveMethod: () => 'POST',
  getMethod: () => 'post',
  getUrl: () => '/',
  getHeader: (k) => HEADERS[k] ?? '',
  forEach: (cb) => {
    for (const k in HEADERS) cb(k, HEADERS[k]);
  },
};
let statuses = 0;
const res = {
  onAborted() {},
  onData(cb) {
    cb(body.slice(0), true);
  },
  cork(cb) {
    cb();
  },
  writeStatus(s) {
    if (s.startsWith('429')) statuses++;
  },
  writeHeader() {},
  end() {},
  endWithoutBody() {},
  getWriteOffset: () => 0,
  tryEnd: () => [true, true],
  onWritable() {},
  close() {},
};
async function run(count) {
  for (let i = 0; i < count; i++) {
    const p = fillMaskRoute(server, new Exchange(res, req, server));
    if (p) await p;
  }
}
await run(20_000); // warm up the JIT
statuses = 0;
const t0 = performance.now();
await run(n);
const us = ((performance.now() - t0) * 1000) / n;
console.log(JSON.stringify({ dist, iterations: n, refused429: statuses, usPerRefusal: +us.toFixed(3) }));
process.exit(0);
