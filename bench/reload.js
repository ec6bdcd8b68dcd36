// Reloads under load (docs/benchmarks.md, "Reloads under load"): the real server (bin/bert-serve,
// as users start it) with --model-control explicit serves a small default model; the measured model
// is loaded at run time as "m", a load generator keeps CONNECTIONS clients posting to
// POST /models/m (its task's Hugging Face shape), and the model is reloaded RELOADS times through POST
// /v2/repository/models/m/load; then the generator stops and m is unloaded. Printed:
//   - requests sent, answered 200, failed (any other status or a socket error) and lost (sent, never
//     answered): failed and lost must be 0;
//   - each reload's time (load + warm-up + the old version's last requests);
//   - the server's RSS (/proc/PID/status VmRSS) before the first load and after the last unload,
//     each once it has settled (SETTLE_S of idle: the engine's block cache unmaps blocks idle for
//     10 s, and jemalloc returns dirty pages on a similar decay), and their ratio (target <= 1.05),
//     against two baselines (docs/benchmarks.md, "Reloads under load", says why the second is the
//     target's reading):
//       short  after one warm-up cycle of 3 s of traffic (load, serve, unload: what any first load
//              costs once and keeps, such as V8's heap and the allocator's metadata), the figure
//              this bench printed first;
//       fair   after a second cycle whose traffic ran WARMUP_S, long enough for what the traffic
//              itself grows (V8's young generation) to reach its steady size, as it has after the
//              measured run's;
//     and, the same way under load, RSS with the model loaded and the traffic at steady state,
//     before the first reload and after the last (median of the last WINDOW_S of samples);
//   - where the memory is (/metrics), V8's heap space by space.
// --node-options passes NODE_OPTIONS to the server (e.g. --max-semi-space-size=4).
//
//   node bench/reload.js [--model DIR] [--reloads 20] [--connections 4] [--settle-s 15]
//                        [--warmup-s 30] [--window-s 5] [--node-options OPTS] [--json FILE]
// Default model: models/bench/embed (BERT-base; scripts/make_bench_models.py --only embed), else
// models/test/embed. Bounded: every request has a 60 s timeout (a load or unload 600 s); the run
// stops at the end of the reloads.
import http from 'node:http';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, startCli } from './lib/cli_server.js';
import { serverCommand } from './launch.js';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string' },
    reloads: { type: 'string', default: '20' },
    connections: { type: 'string', default: '4' },
    'settle-s': { type: 'string', default: '15' },
    'warmup-s': { type: 'string', default: '30' },
    'window-s': { type: 'string', default: '5' },
    'node-options': { type: 'string' },
    json: { type: 'string' },
  },
});
const RELOADS = Number(opt.reloads);
const CONNECTIONS = Number(opt.connections);
const SETTLE_S = Number(opt['settle-s']);
const WARMUP_S = Number(opt['warmup-s']);
const WINDOW_S = Number(opt['window-s']);
const bench = join(ROOT, 'models', 'bench', 'embed');
const model = opt.model ?? (existsSync(join(bench, 'model.pt')) ? bench : join(ROOT, 'models', 'test', 'embed'));

const repository = mkdtempSync(join(tmpdir(), 'bert-serve-reload-'));
mkdirSync(join(repository, 'base'));
cpSync(join(ROOT, 'models', 'test', 'embed'), join(repository, 'base'), { recursive: true });
mkdirSync(join(repository, '.versions'));
// A symbolic link would resolve outside the repository (refused); the files are copied (hf/ excluded).
cpSync(model, join(repository, '.versions', 'm'), { recursive: true, filter: (src) => !src.startsWith(join(model, 'hf')) });

const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS + 2 });
function post(port, path, body, timeoutMs = 60_000) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path, agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString(), version: res.headers['x-model-version'] }),
        );
        res.on('error', (e) => resolve({ status: 0, text: e.message }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs / 1000} s`)));
    req.on('error', (e) => resolve({ status: 0, text: e.message }));
    req.end(JSON.stringify(body));
  });
}

/** Where the memory is (/metrics: the engine's process-wide gauges, Node's heap), in KiB: tensors in use and cached, malloc's allocated and resident, V8's heap, external buffers. */
async function memoryParts(port) {
  const text = await new Promise((resolve, reject) =>
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      })
      .on('error', reject),
  );
  const read = (name) => Math.round(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 1024);
  const space = (name) => read(`nodejs_heap_space_size_total_bytes\\{space="${name}"\\}`);
  return {
    tensorsInUse: read('bert_serve_tensor_memory_in_use_bytes'),
    tensorsCached: read('bert_serve_tensor_memory_cached_bytes'),
    mallocAllocated: read('bert_serve_malloc_allocated_bytes'),
    mallocResident: read('bert_serve_malloc_resident_bytes'),
    v8HeapTotal: read('nodejs_heap_size_total_bytes'),
    v8NewSpace: space('new'),
    v8OldSpace: space('old'),
    v8CodeSpace: space('code'),
    v8LargeObjects: space('large_object'),
    external: read('nodejs_external_memory_bytes'),
  };
}

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** RSS once settled: after SETTLE_S of idle, the median of the last 2 s of samples. */
async function settledRss(pid) {
  const samples = [];
  for (let t0 = Date.now(); Date.now() - t0 < SETTLE_S * 1000; await sleep(250)) samples.push(rssKiB(pid));
  const last = samples.slice(-8).sort((a, b) => a - b);
  return { now: samples[0], settled: last[Math.floor(last.length / 2)] };
}
/** RSS under load: the median of WINDOW_S of samples, every 250 ms, taken while the traffic runs. */
async function rssUnderLoad(pid) {
  const samples = [];
  for (let t0 = Date.now(); Date.now() - t0 < WINDOW_S * 1000; await sleep(250)) samples.push(rssKiB(pid));
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

/** CONNECTIONS clients posting to POST /models/m (the model's task in the HF shape) until stop(); counts. */
function loadGenerator(port, task) {
  const counts = { sent: 0, ok: 0, failed: 0, versions: new Map(), failures: [] };
  let running = true;
  const texts = ['the quick brown fox jumps over the lazy dog', 'a short one', 'reloading a model while it serves requests'];
  // A fill-mask model needs a mask token: BERT's (the bench's and demo models').
  const input = (i) => (task === 'fill-mask' ? `${texts[i % texts.length]} [MASK] .` : texts[i % texts.length]);
  const client = async (c) => {
    for (let i = 0; running; i++) {
      counts.sent++;
      const r = await post(port, '/models/m', { inputs: input(c + i) });
      if (r.status === 200) {
        counts.ok++;
        counts.versions.set(r.version, (counts.versions.get(r.version) ?? 0) + 1);
      } else {
        counts.failed++;
        if (counts.failures.length < 5) counts.failures.push(`${r.status} ${r.text.slice(0, 200)}`);
      }
    }
  };
  const clients = Array.from({ length: CONNECTIONS }, (_, c) => client(c));
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(clients);
      return counts;
    },
  };
}

async function control(port, action, body = {}) {
  const t0 = performance.now();
  const r = await post(port, `/v2/repository/models/m/${action}`, body, 600_000); // a BERT-base load under load on 2 busy cores: tens of seconds
  if (r.status !== 200) throw new Error(`${action}: ${r.status} ${r.text}`);
  return { ms: performance.now() - t0, json: JSON.parse(r.text) };
}

const [cmd, env] = serverCommand(ROOT);
const server = await startCli(['--model-repository', repository, '--model-control', 'explicit', '--log-level', 'warn'], {
  command: [cmd],
  env: opt['node-options'] ? { ...env, NODE_OPTIONS: opt['node-options'] } : env,
});
const pid = server.proc.pid;
const port = server.port;
try {
  console.log(
    `reload bench: model ${model}, ${RELOADS} reloads, ${CONNECTIONS} connections, settle ${SETTLE_S} s, ` +
      `warm-up ${WARMUP_S} s, window ${WINDOW_S} s, NODE_OPTIONS ${opt['node-options'] ?? '(none)'}; server PID ${pid}`,
  );
  const started = await settledRss(pid);
  // Warm-up cycle: load, serve 3 s, unload (the short baseline).
  await control(port, 'load', { parameters: { path: '.versions/m' } });
  const task = await new Promise((resolve, reject) =>
    http
      .get({ host: '127.0.0.1', port, path: '/models/m/info' }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()).task));
      })
      .on('error', reject),
  );
  let gen = loadGenerator(port, task);
  await sleep(3000);
  const warm = await gen.stop();
  await control(port, 'unload');
  const before = await settledRss(pid);
  const partsBefore = await memoryParts(port);

  // Second warm-up cycle (the fair baseline): the same traffic until what it grows is at its
  // steady size, RSS under load over its last WINDOW_S, then unload and settle.
  await control(port, 'load', { parameters: { path: '.versions/m' } });
  gen = loadGenerator(port, task);
  await sleep(Math.max(0, WARMUP_S - WINDOW_S) * 1000);
  const underLoadBefore = await rssUnderLoad(pid);
  const partsUnderLoadBefore = await memoryParts(port);
  const warm2 = await gen.stop();
  await control(port, 'unload');
  const beforeFair = await settledRss(pid);
  const partsBeforeFair = await memoryParts(port);

  // The measured run.
  await control(port, 'load', { parameters: { path: '.versions/m' } });
  const loaded = rssKiB(pid);
  gen = loadGenerator(port, task);
  await sleep(1000);
  const reloads = [];
  for (let i = 0; i < RELOADS; i++) {
    reloads.push((await control(port, 'load')).ms);
    console.log(`  reload ${i + 1}: ${Math.round(reloads.at(-1))} ms, ${gen.counts.ok} answered, ${gen.counts.failed} failed so far`);
  }
  // The replaced version's last requests and its collection (model_control.ts), and the engine's block
  // cache, which keeps the blocks the traffic no longer asks for (the old version's) 10 s before it unmaps them.
  await sleep(12_000);
  const underLoadAfter = await rssUnderLoad(pid);
  const partsUnderLoadAfter = await memoryParts(port);
  const c = await gen.stop();
  const unload = await control(port, 'unload');
  const after = await settledRss(pid);
  const partsAfter = await memoryParts(port);

  const lost = c.sent - c.ok - c.failed;
  const ratio = after.settled / before.settled;
  const ratioFair = after.settled / beforeFair.settled;
  const ratioUnderLoad = underLoadAfter / underLoadBefore;
  const ms = reloads.slice().sort((a, b) => a - b);
  const result = {
    model,
    reloads: RELOADS,
    connections: CONNECTIONS,
    requests: { sent: c.sent, ok: c.ok, failed: c.failed, lost, failures: c.failures, byVersion: Object.fromEntries(c.versions) },
    warmupRequests: { sent: warm.sent, ok: warm.ok, failed: warm.failed },
    fairWarmupRequests: { sent: warm2.sent, ok: warm2.ok, failed: warm2.failed },
    nodeOptions: opt['node-options'] ?? null,
    reloadMs: { median: ms[Math.floor(ms.length / 2)], max: ms.at(-1), all: reloads.map(Math.round) },
    unloadMs: Math.round(unload.ms),
    rssKiB: {
      atStart: started.settled,
      beforeFirstLoad: before.settled,
      beforeFirstLoadFair: beforeFair.settled,
      underLoadBeforeFirstReload: underLoadBefore,
      underLoadAfterLastReload: underLoadAfter,
      withModel: loaded,
      afterLastUnload: after.now,
      afterLastUnloadSettled: after.settled,
    },
    ratio,
    ratioFair,
    ratioUnderLoad,
    partsKiB: {
      before: partsBefore,
      beforeFair: partsBeforeFair,
      after: partsAfter,
      underLoadBefore: partsUnderLoadBefore,
      underLoadAfter: partsUnderLoadAfter,
    },
    uptime: os.loadavg(),
  };
  const mib = (k) => `${(k / 1024).toFixed(1)} MiB`;
  console.log(
    `requests: ${c.sent} sent, ${c.ok} answered 200, ${c.failed} failed, ${lost} lost (warm-up cycles: ${warm.ok} of ${warm.sent} ` +
      `and ${warm2.ok} of ${warm2.sent} answered 200)`,
  );
  if (c.failures.length) console.log(`  failures: ${c.failures.join(' | ')}`);
  console.log(
    `reloads: median ${Math.round(result.reloadMs.median)} ms, max ${Math.round(result.reloadMs.max)} ms; unload ${result.unloadMs} ms`,
  );
  console.log(
    `RSS: at start ${mib(started.settled)}, before the first load ${mib(before.settled)} (short baseline) and ` +
      `${mib(beforeFair.settled)} (fair baseline), with the model ${mib(loaded)}, ` +
      `after the last unload ${mib(after.now)} at once, ${mib(after.settled)} settled; ` +
      `under load ${mib(underLoadBefore)} before the first reload, ${mib(underLoadAfter)} after the last`,
  );
  const sign = (k) => (k >= 0 ? `+${mib(k)}` : `-${mib(-k)}`);
  for (const k of Object.keys(partsBefore)) {
    console.log(
      `  ${k}: ${mib(partsBefore[k])} short baseline, ${mib(partsBeforeFair[k])} fair baseline, ${mib(partsAfter[k])} after ` +
        `(${sign(partsAfter[k] - partsBefore[k])}, ${sign(partsAfter[k] - partsBeforeFair[k])}); under load ` +
        `${mib(partsUnderLoadBefore[k])} -> ${mib(partsUnderLoadAfter[k])}`,
    );
  }
  const pct = (r) => `${r.toFixed(4)} (${((r - 1) * 100).toFixed(2)}%)`;
  console.log(
    `RSS after the last unload / before the first load: ${pct(ratio)} against the short baseline, ${pct(ratioFair)} against ` +
      `the fair one; under load, after the last reload / before the first: ${pct(ratioUnderLoad)} (target within 5%; ` +
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')})`,
  );
  if (opt.json) writeFileSync(opt.json, JSON.stringify(result, null, 2));
  // A request failed or lost is a defect, not a measurement: the run exits 1. The RSS ratio is reported.
  process.exitCode = c.failed === 0 && lost === 0 ? 0 : 1;
} finally {
  agent.destroy();
  await server.stop('SIGTERM');
  rmSync(repository, { recursive: true, force: true });
}
