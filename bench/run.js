#!/usr/bin/env node
// `npm run bench`: measures the engine limit (C++), the engine from JavaScript, and the HTTP server
// under closed- and open-loop load, batching on/off and overload, the bf16 / int8 / standard-trace
// rows and the seed recipe's Python server beside them (bench/variants.js), and writes a report:
//   bench/results/latest.md (+ latest-*.svg plots, committed) and bench/results/latest.json,
//   bench/results/<timestamp>.json (history; JSON files are git-ignored).
// It measures and reports; it never passes or fails on timings (exit 1 only when a stage crashed).
// Everything runs on this machine, in this process tree, on 127.0.0.1. See docs/benchmarks.md.
//
//   node bench/run.js [--quick | --full] [--models demo,base] [--only STAGES] [--out NAME]
//                     [--p99-bound-ms MS] [--corpus-size N] [--threads N]
//   node bench/run.js --report-from bench/results/latest.json [--out NAME]   (re-render only)
//   node bench/run.js --soak MINUTES [--model DIR] [--rate R]                (bench/soak.js)
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCorpus } from './corpus.js';
import { round, targets, writeReport } from './report.js';
import { serverCommand } from './launch.js';
import { ensurePeerModels, peerStage } from './peer.js';
import { trainedStage } from './trained.js';
import {
  VARIANT_STAGES,
  accuracyRows,
  ensureVariantModels,
  recipeServer,
  recipeUnavailable,
  variantEngineAndLimit,
  variantRows,
  variantServer,
} from './variants.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PY = process.env.BERT_SERVE_PYTHON ?? '/usr/bin/python3';
const STAGES = ['engine', 'limit', 'server', 'batching', 'overload', ...VARIANT_STAGES, 'peer', 'trained'];

// Run lengths. The default run takes about 8-10 minutes on 2 cores; --full several times that.
// accuracyN: texts of bench/accuracy.js's fill-mask corpus per model (precision stage); trainedN:
// held-out texts per trained fixture (trained stage).
const PROFILES = {
  quick: {
    limitTargetS: 0.5,
    engineTargetS: 0.5,
    mixRepeats: 1,
    roundtripN: 300,
    closedConns: [1, 16, 64],
    closedS: 2,
    warmupS: 0.5,
    singleS: 1.5,
    openFactors: [0.25, 0.5, 0.8, 1.0],
    openS: 2,
    refine: false,
    overloadFactors: [2, 4],
    overloadS: 2,
    mixCount: { demo: 200, base: 32 },
    minRepeats: { demo: 3, base: 1 },
    baseServer: 'short',
    accuracyN: 40,
    trainedN: 100,
    peerRounds: 2, // peer: alternated rounds (bench/peer.js), and of the servers at 64 connections
    peerServerRounds: 1,
  },
  default: {
    limitTargetS: 1.5,
    engineTargetS: 1.5,
    mixRepeats: 2,
    roundtripN: 2000,
    closedConns: [1, 16, 64, 256],
    closedS: 5,
    warmupS: 1,
    singleS: 3,
    openFactors: [0.1, 0.25, 0.5, 0.7, 0.85, 1.0, 1.15],
    openS: 5,
    refine: true,
    overloadFactors: [2, 4],
    overloadS: 5,
    mixCount: { demo: 500, base: 64 },
    minRepeats: { demo: 3, base: 2 },
    baseServer: 'short',
    accuracyN: 100,
    trainedN: 300,
    peerRounds: 4, // peer: alternated rounds (bench/peer.js), and of the servers at 64 connections
    peerServerRounds: 3,
  },
  full: {
    limitTargetS: 5,
    engineTargetS: 5,
    mixRepeats: 5,
    roundtripN: 10000,
    closedConns: [1, 4, 16, 64, 128, 256],
    closedS: 15,
    warmupS: 2,
    singleS: 10,
    openFactors: [0.1, 0.25, 0.4, 0.55, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25],
    openS: 15,
    refine: true,
    overloadFactors: [2, 4],
    overloadS: 15,
    mixCount: { demo: 1000, base: 200 },
    minRepeats: { demo: 5, base: 3 },
    baseServer: 'full',
    accuracyN: 200,
    trainedN: 600,
    peerRounds: 8, // peer: alternated rounds (bench/peer.js), and of the servers at 64 connections
    peerServerRounds: 5,
  },
};

const MODELS = {
  demo: { dir: 'models/demo', make: ['scripts/make_demo_model.py', 'models/demo'], p99BoundMs: 100, deadlineMs: 1000, overloadQueue: 64 },
  base: {
    dir: 'models/base',
    make: ['scripts/make_demo_model.py', 'models/base', '--size', 'base'],
    p99BoundMs: 1000,
    deadlineMs: 5000,
    overloadQueue: 32,
  },
};
const TINY = { dir: 'models/test/tiny', make: ['scripts/make_test_models.py', 'models/test', '--only', 'tiny'] };

// ---------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const a = {
    profile: 'default',
    models: ['demo', 'base'],
    only: STAGES,
    out: 'latest',
    p99BoundMs: null,
    corpusSize: 1000,
    threads: 0,
    reportFrom: null,
    peerModels: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--quick') a.profile = 'quick';
    else if (k === '--full') a.profile = 'full';
    else if (k === '--models') a.models = val().split(',').filter(Boolean);
    else if (k === '--only') a.only = val().split(',').filter(Boolean);
    else if (k === '--out') a.out = val();
    else if (k === '--p99-bound-ms') a.p99BoundMs = Number(val());
    else if (k === '--corpus-size') a.corpusSize = Number(val());
    else if (k === '--threads') a.threads = Number(val());
    else if (k === '--report-from') a.reportFrom = val();
    else if (k === '--peer-models') a.peerModels = val();
    else if (k === '-h' || k === '--help') usage(null);
    else usage(`unknown argument ${k}`);
  }
  for (const m of a.models) if (!MODELS[m]) usage(`unknown model ${m} (expected ${Object.keys(MODELS).join(', ')})`);
  for (const s of a.only) if (!STAGES.includes(s)) usage(`unknown stage ${s} (expected ${STAGES.join(', ')})`);
  if (!/^[\w.-]+$/.test(a.out)) usage('--out: letters, digits, ., _ and - only');
  return a;
}

function usage(msg) {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  process.stderr.write(`usage: node bench/run.js [--quick | --full] [--models demo,base] [--only ${STAGES.join(',')}]
                         [--out NAME] [--p99-bound-ms MS] [--corpus-size N] [--threads N]
                         [--peer-models DIR]
       node bench/run.js --report-from bench/results/X.json [--out NAME]   (re-render a report)
  default: about 8-10 min on 2 cores; --full: longer runs, more points, the whole server suite on base too.
  precision: bf16 and int8 rows; trace: the standard HF trace and the seed recipe's server on it;
  peer: bert-serve against ONNX Runtime on the same BERT-base weights (models/bench/embed;
    --peer-models DIR: DIR/embed, DIR/embed-int8 and DIR/embed-onnx/model.onnx made elsewhere, read only);
  trained: bf16 and int8 against float32 on the trained fixtures (test/data/trained).
  See docs/benchmarks.md.\n`);
  process.exit(msg ? 2 : 0);
}

const T0 = Date.now();
function log(msg) {
  const s = ((Date.now() - T0) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function summary(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0 };
  const q = (p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))];
  const r = (x) => Math.round(x * 1000) / 1000;
  return {
    n: v.length,
    mean: r(v.reduce((a, b) => a + b, 0) / v.length),
    p50: r(q(0.5)),
    p90: r(q(0.9)),
    p99: r(q(0.99)),
    p999: r(q(0.999)),
    max: r(v[v.length - 1]),
  };
}

// ---------------------------------------------------------------------------------------------
// Machine
function cpuTimes() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  return { idle, total: line.reduce((a, b) => a + b, 0) };
}

async function cpuBusy(ms = 1000) {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  const simd = ['avx512f', 'avx2', 'fma', 'avx'].filter((f) => flags.split(' ').includes(f));
  let commit = null,
    dirty = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    dirty =
      execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim().length > 0;
  } catch {
    /* not a git checkout */
  }
  let osName = os.type();
  try {
    osName = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    /* */
  }
  return {
    cores: os.cpus().length,
    cpu_model: model,
    simd,
    memory_gib: round(os.totalmem() / 2 ** 30, 1),
    os: osName,
    kernel: os.release(),
    node: process.version,
    commit,
    dirty,
  };
}

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  /* */
}

/** CPU seconds (user + system) used so far by process `pid`. */
function procCpuS(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes
function runJsonLines(cmd, args, { env = {}, timeoutMs = 600_000, label = cmd } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 20000) err = err.slice(-10000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter((l) => l.trim().startsWith('{'))
        .map((l) => JSON.parse(l));
      if (code !== 0) reject(new Error(`${label} exited with ${code ?? signal}: ${err.trim().split('\n').slice(-5).join(' | ')}`));
      else resolvePromise(lines);
    });
  });
}

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function httpGet(port, path) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, text: await r.text() };
}

async function startServer(model, flags = []) {
  const port = await freePort();
  const args = [
    '--model',
    resolve(ROOT, model),
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--log-level',
    'warn',
    '--log-format',
    'json',
    ...flags,
  ];
  const [cmd, env] = serverCommand(ROOT);
  const s = await startProcess(cmd, args, {
    port,
    readyPath: '/ready',
    label: `${model} ${flags.join(' ')}`,
    env: { ...env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' },
  });
  try {
    s.info = JSON.parse((await httpGet(port, '/info')).text);
  } catch {
    /* */
  }
  return { ...s, flags };
}

/** Spawns a server on 127.0.0.1:port and waits until GET readyPath answers 200. */
async function startProcess(cmd, args, { port, readyPath, label, env = {} }) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 20000) stderr = stderr.slice(-10000);
  });
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = code ?? signal;
  });
  const t0 = Date.now();
  for (;;) {
    if (exited !== null)
      throw new Error(`${label}: server exited (${exited}) during startup: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    if (Date.now() - t0 > 300_000) {
      child.kill('SIGKILL');
      throw new Error(`${label}: server not ready after 300 s`);
    }
    try {
      const r = await httpGet(port, readyPath);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  log(`server up on 127.0.0.1:${port} (pid ${child.pid}, ${label}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return {
    child,
    port,
    pid: child.pid,
    info: null,
    startupS: (Date.now() - t0) / 1000,
    stderr: () => stderr,
    alive: () => exited === null,
  };
}

async function stopServer(s) {
  if (!s || !s.alive()) return;
  const done = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  const t = setTimeout(() => {
    if (s.alive()) s.child.kill('SIGKILL');
  }, 20_000);
  await done;
  clearTimeout(t);
}

async function scrapeMetrics(port) {
  const out = {};
  try {
    const { text } = await httpGet(port, '/metrics');
    for (const line of text.split('\n')) {
      const m = /^(bert_serve_[a-z_]+)\s+([-0-9.eE+]+)$/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
  } catch {
    /* */
  }
  return out;
}

function metricsDelta(a, b) {
  const d = (k) => (b[k] ?? 0) - (a[k] ?? 0);
  const batches = d('bert_serve_batches_total'),
    requests = d('bert_serve_engine_requests_total');
  const real = d('bert_serve_tokens_total'),
    padded = d('bert_serve_padded_tokens_total');
  return {
    batches,
    engine_requests: requests,
    mean_batch: batches ? round(requests / batches, 2) : null,
    real_tokens: real,
    padded_tokens: padded,
    padding_efficiency: padded ? round(real / padded, 3) : null,
    dropped_expired: d('bert_serve_dropped_expired_total'),
    dropped_cancelled: d('bert_serve_dropped_cancelled_total'),
  };
}

// ---------------------------------------------------------------------------------------------
// Load: closed loop (autocannon) and open loop (bench/loadgen.js)
let autocannonMod = null;
// metrics/delta: how the server's counters are read and differenced (default: bert-serve's /metrics);
// amount: measure a fixed number of requests instead of `duration` seconds (for a server whose
// batches take seconds, a short run would measure one batch or none); timeoutS: per request.
async function closedLoop(
  server,
  bodies,
  { connections, duration, warmup, metrics = scrapeMetrics, delta = metricsDelta, amount = 0, timeoutS = 60 },
) {
  autocannonMod ??= (await import('autocannon')).default;
  let idx = Math.floor(Math.random() * bodies.length);
  const hdr = { tok: [], queue: [], inf: [], total: [] };
  const num = (v) => {
    const n = parseFloat(Array.isArray(v) ? v[0] : v);
    return Number.isFinite(n) ? n : undefined;
  };
  const opts = (collect, dur) => ({
    url: `http://127.0.0.1:${server.port}`,
    connections,
    duration: dur,
    timeout: timeoutS,
    ...(collect && amount ? { amount } : {}),
    requests: [
      {
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        setupRequest: (req) => ({ ...req, body: bodies[idx++ % bodies.length] }),
        ...(collect
          ? {
              onResponse: (status, _body, _ctx, headers) => {
                if (status !== 200) return;
                const h = {};
                for (const [k, v] of Object.entries(headers ?? {})) h[k.toLowerCase()] = v;
                for (const [key, name] of [
                  ['tok', 'x-tokenization-time'],
                  ['queue', 'x-queue-time'],
                  ['inf', 'x-inference-time'],
                  ['total', 'x-total-time'],
                ]) {
                  const n = num(h[name]);
                  if (n !== undefined) hdr[key].push(n);
                }
              },
            }
          : {}),
      },
    ],
  });
  if (warmup > 0) await autocannonMod(opts(false, warmup));
  const lat = [],
    st = [];
  const m0 = await metrics(server.port);
  const cpu0 = process.cpuUsage(),
    srv0 = procCpuS(server.pid),
    t0 = Date.now();
  const inst = autocannonMod(opts(true, duration));
  inst.on('response', (_client, status, _bytes, time) => {
    lat.push(time);
    st.push(status);
  });
  const res = await inst;
  const wall = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const srvCpu = procCpuS(server.pid) - srv0;
  const m1 = await metrics(server.port);
  const status = {};
  for (const s of st) status[s] = (status[s] ?? 0) + 1;
  const ok = st.filter((s) => s >= 200 && s < 300).length;
  const okLat = lat.filter((_, i) => st[i] >= 200 && st[i] < 300);
  return {
    mode: 'closed',
    tool: 'autocannon',
    connections,
    duration_s: amount ? round(res.duration, 2) : duration,
    ...(amount ? { amount } : {}),
    requests: st.length,
    ok,
    throughput: ok / res.duration,
    status,
    errors: res.errors,
    timeouts: res.timeouts,
    latency_ok: summary(okLat),
    latency_all: summary(lat),
    server_timing_ms: { tokenization: summary(hdr.tok), queue: summary(hdr.queue), inference: summary(hdr.inf), total: summary(hdr.total) },
    server_cpu_cores: round(srvCpu / wall, 2),
    client_cpu_cores: round((cpu.user + cpu.system) / 1e6 / wall, 2),
    engine: delta(m0, m1),
  };
}

async function openLoop(server, corpusFile, { rate, duration, warmup, timeoutMs = 30_000 }) {
  const m0 = await scrapeMetrics(server.port);
  const srv0 = procCpuS(server.pid),
    t0 = Date.now();
  const [r] = await runJsonLines(
    process.execPath,
    [
      join(ROOT, 'bench', 'loadgen.js'),
      JSON.stringify({
        port: server.port,
        rate,
        duration,
        warmup,
        corpus: corpusFile,
        timeoutMs,
        seed: Math.round(rate * 1000),
      }),
    ],
    { label: 'loadgen', timeoutMs: (duration + warmup) * 1000 + timeoutMs + 60_000 },
  );
  const wall = (Date.now() - t0) / 1000;
  const srvCpu = procCpuS(server.pid) - srv0;
  const m1 = await scrapeMetrics(server.port);
  return {
    ...r,
    server_cpu_cores: round(srvCpu / wall, 2),
    client_cpu_cores: round(r.client_cpu_s / r.client_wall_s, 2),
    engine: metricsDelta(m0, m1),
  };
}

// ---------------------------------------------------------------------------------------------
// Stages
function engineLimitBinary() {
  const cands = [
    process.env.BERT_SERVE_ENGINE_LIMIT,
    join(ROOT, 'build', 'engine_limit'),
    join(ROOT, 'build', 'Release', 'engine_limit'),
    join(ROOT, 'build-bench', 'engine_limit'),
  ].filter(Boolean);
  const src = statSync(join(ROOT, 'bench', 'engine_limit.cc')).mtimeMs;
  const fresh = cands.find((c) => existsSync(c) && statSync(c).mtimeMs >= src);
  if (fresh) return fresh;
  // The addon's build directory already holds the engine's objects (and compiles through ccache):
  // build the target there, which the default build leaves out (CMakeLists.txt).
  if (existsSync(join(ROOT, 'build', 'CMakeCache.txt'))) {
    log('building bench/engine_limit.cc in build/ (cmake --build build --target engine_limit)');
    const r = spawnSync('cmake', ['--build', join(ROOT, 'build'), '--target', 'engine_limit'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { CCACHE_BASEDIR: ROOT, CCACHE_NOHASHDIR: '1', ...process.env },
    });
    if (r.status === 0 && existsSync(join(ROOT, 'build', 'engine_limit'))) return join(ROOT, 'build', 'engine_limit');
  }
  log('building bench/engine_limit.cc into build-bench/ (cmake-js, target engine_limit)');
  const r = spawnSync(
    'npx',
    [
      'cmake-js',
      'compile',
      '--out',
      'build-bench',
      '-G',
      'Ninja',
      '--CDBERT_SERVE_BUILD_TESTS=OFF',
      '--target',
      'engine_limit',
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const built = [join(ROOT, 'build-bench', 'engine_limit'), join(ROOT, 'build-bench', 'Release', 'engine_limit')].find((c) =>
    existsSync(c),
  );
  if (r.status !== 0 || !built)
    throw new Error('could not build engine_limit (npx cmake-js compile --out build-bench --target engine_limit)');
  return built;
}

function ensureModel(spec, label) {
  const r = spawnSync(PY, spec.make, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const msg = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-1)[0];
  if (r.status !== 0) throw new Error(`${label}: ${PY} ${spec.make.join(' ')} failed: ${msg}`);
  if (msg) log(msg);
}

async function limitRun(bin, model, extra, threads, label) {
  const args = ['--model', join(ROOT, model), ...(threads ? ['--threads', String(threads)] : []), ...extra];
  return runJsonLines(bin, args, { env: { OMP_WAIT_POLICY: 'PASSIVE' }, label });
}

async function main() {
  if (process.argv.includes('--soak')) {
    // The soak is its own run (bench/soak.js): a long mixed load, memory over time, answers checked.
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'soak.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
    child.on('exit', (code) => process.exit(code ?? 1));
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  if (args.reportFrom) {
    const R = JSON.parse(readFileSync(args.reportFrom, 'utf8'));
    R.targets = targets(R);
    writeReport(R, args.out, { history: false });
    log(`re-rendered bench/results/${args.out}.md from ${args.reportFrom}`);
    return;
  }
  const P = PROFILES[args.profile];
  const results = {
    started: new Date().toISOString(),
    profile: args.profile,
    args: process.argv.slice(2),
    machine: machineInfo(),
    models: {},
    stageErrors: [],
  };
  const want = (s) => args.only.includes(s);
  const fail = (stage, e) => {
    log(`FAILED ${stage}: ${e.message}`);
    results.stageErrors.push({ stage, error: e.message });
  };

  log(`profile ${args.profile}, models ${args.models.join(',')}, stages ${args.only.join(',')}`);
  results.machine.busy_before = round(await cpuBusy(1000), 3);
  results.machine.loadavg_before = os.loadavg().map((x) => round(x, 2));
  if (results.machine.busy_before > 0.15)
    log(`WARNING: the CPU was ${Math.round(results.machine.busy_before * 100)}% busy before the run: numbers will be low and noisy`);

  // BERT_SERVE_ADDON (read by src/native/binding.ts) selects another build of the addon.
  for (const f of ['dist/engine.js', 'dist/cli.js', process.env.BERT_SERVE_ADDON ?? 'build/Release/bert_serve.node']) {
    if (!existsSync(resolve(ROOT, f))) throw new Error(`${f} is missing: run npm run build (or npm run setup) first`);
  }
  results.machine.addon = (process.env.BERT_SERVE_ADDON ?? 'build/Release/bert_serve.node').replace(ROOT + '/', '');
  const tmp = mkdtempSync(join(os.tmpdir(), 'bert-serve-bench-'));
  // What bench/variants.js measures with.
  const ctx = {
    root: ROOT,
    python: PY,
    threads: args.threads,
    peerModels: args.peerModels,
    log,
    runJsonLines,
    limitRun,
    startServer,
    startProcess,
    stopServer,
    closedLoop,
    freePort,
  };
  try {
    // Models and corpus.
    // Made only when missing (npm run setup keeps models/demo up to date; remaking a model other
    // processes may be using is not the bench's business).
    // (The peer stage has its own model: with --only peer, demo and base are neither made nor run.)
    const modelStages = STAGES.filter((s) => s !== 'peer' && s !== 'trained' && want(s));
    if (modelStages.length === 0) args.models = [];
    for (const m of args.models) if (!existsSync(join(ROOT, MODELS[m].dir, 'model.pt'))) ensureModel(MODELS[m], m);
    // The int8 and traced variants are the bench's own: made from the model's checkpoint, and
    // remade when it changed (make_bench_variant.py's stamp; a check without torch otherwise).
    const variantStages = VARIANT_STAGES.filter(want);
    for (const m of args.models) {
      try {
        ensureVariantModels(ctx, MODELS[m].dir, variantStages);
      } catch (e) {
        fail(`variant models ${m}`, e);
      }
    }
    let tinyDir = null;
    if (want('engine') && !existsSync(join(ROOT, TINY.dir, 'model.pt')) && existsSync(join(ROOT, TINY.make[0]))) {
      try {
        ensureModel(TINY, 'tiny');
      } catch (e) {
        fail('tiny model', e);
      }
    }
    if (existsSync(join(ROOT, TINY.dir, 'model.pt'))) tinyDir = TINY.dir;
    const corpus = makeCorpus(args.corpusSize);
    const corpusFile = join(tmp, 'corpus.txt');
    writeFileSync(corpusFile, corpus.join('\n') + '\n');
    results.corpus = {
      size: corpus.length,
      generator: 'bench/corpus.js makeCorpus (log-normal word counts, median 20, 3..300 words, one [MASK] each)',
    };

    let bin = null;
    if (want('limit') || want('engine') || want('peer')) {
      try {
        bin = engineLimitBinary();
        results.machine.engineLimit = bin.replace(ROOT + '/', '');
      } catch (e) {
        fail('limit', e);
      }
    }

    for (const name of args.models) {
      const spec = MODELS[name];
      const M = (results.models[name] = { dir: spec.dir, mixCount: Math.min(P.mixCount[name], corpus.length) });
      const lengthsFile = join(tmp, `${name}-lengths.txt`);
      const mixBodies = corpus.slice(0, M.mixCount);
      const mixFile = join(tmp, `${name}-mix.txt`);
      writeFileSync(mixFile, mixBodies.join('\n') + '\n');

      // Stage 2 first: it also tokenizes the corpus (lengths for engine_limit --mix) and makes the fixed-length texts.
      if (want('engine') || want('limit') || want('server')) {
        log(`${name}: engine from JavaScript (shapes ${want('engine') ? 'yes' : 'no'}, mix of ${M.mixCount})`);
        try {
          const lines = await runJsonLines(
            process.execPath,
            [
              join(ROOT, 'bench', 'engine_stage.js'),
              JSON.stringify({
                model: join(ROOT, spec.dir),
                corpus: corpusFile,
                lengthsOut: lengthsFile,
                mixCount: M.mixCount,
                mixRepeats: want('engine') ? P.mixRepeats : 0,
                batches: want('engine') ? [1, 8, 32] : [1],
                seqs: [16, 128],
                targetSeconds: P.engineTargetS,
                minRepeats: P.minRepeats[name],
                warmupRounds: name === 'base' ? 1 : 2,
                engineOptions: args.threads ? { intraOpThreads: args.threads } : {},
              }),
            ],
            { label: `engine_stage ${name}`, env: { OMP_WAIT_POLICY: 'PASSIVE' } },
          );
          M.engineInfo = lines.find((l) => l.type === 'info')?.info;
          M.lengths = lines.find((l) => l.type === 'lengths');
          M.texts = lines.find((l) => l.type === 'texts')?.texts;
          if (want('engine')) {
            M.engine = { shapes: lines.filter((l) => l.type === 'shape'), mix: lines.find((l) => l.type === 'mix') };
          }
          const lengths = readFileSync(lengthsFile, 'utf8').split('\n').filter(Boolean).slice(0, M.mixCount);
          writeFileSync(lengthsFile, lengths.join('\n') + '\n');
        } catch (e) {
          fail(`engine ${name}`, e);
        }
      }

      if (want('limit') && bin) {
        log(`${name}: engine limit (C++ ${bin.replace(ROOT + '/', '')})`);
        try {
          const base = ['--target-seconds', String(P.limitTargetS), '--min-repeats', String(P.minRepeats[name])];
          const shapes = await limitRun(bin, spec.dir, base, args.threads, `engine_limit ${name}`);
          M.limit = { info: shapes.find((l) => l.type === 'info'), shapes: shapes.filter((l) => l.type === 'shape'), mix: {} };
          if (existsSync(lengthsFile)) {
            const mixArgs = [
              '--target-seconds',
              '0',
              '--no-shapes',
              '--mix',
              lengthsFile,
              '--mix-batch',
              '32',
              '--mix-tokens',
              '16384',
              '--min-repeats',
              String(P.mixRepeats),
              '--max-repeats',
              String(P.mixRepeats),
            ];
            // cost: the scheduler's own picker draining a full queue, with the overhead the engine measured.
            const overhead = String(M.engineInfo?.batchOverheadTokens || 64);
            const policies = [
              ['cost', ['--mix-policy', 'cost', '--mix-window', '256', '--mix-overhead', overhead]],
              ['sorted256', ['--mix-policy', 'sorted', '--mix-window', '256']],
              ['fifo', ['--mix-policy', 'fifo']],
            ];
            if (name === 'demo' || args.profile === 'full') policies.push(['unbatched', ['--mix-policy', 'fifo', '--mix-batch', '1']]);
            for (const [key, extra] of policies) {
              const l = await limitRun(bin, spec.dir, [...mixArgs, ...extra], args.threads, `engine_limit mix ${name}`);
              M.limit.mix[key] = l.find((x) => x.type === 'mix');
              delete M.limit.mix[key]?.plan;
            }
          }
        } catch (e) {
          fail(`limit ${name}`, e);
        }
      }

      // precision / trace rows: engine from JS and engine limit on the same mix.
      for (const stage of variantStages) {
        for (const row of variantRows(spec.dir)[stage]) {
          const V = ((M.variants ??= {})[row.key] ??= { label: row.label, dir: row.dir });
          if (row.skipped) {
            V.skipped = row.skipped;
            continue;
          }
          log(`${name}: ${row.key}: engine from JavaScript and engine limit, mix of ${M.mixCount}`);
          try {
            Object.assign(
              V,
              await variantEngineAndLimit(ctx, row, {
                corpusFile,
                mixCount: M.mixCount,
                mixRepeats: P.mixRepeats,
                tmp,
                name,
                bin: want('limit') ? bin : null,
              }),
            );
          } catch (e) {
            fail(`${row.key} ${name}`, e);
          }
        }
      }
    }

    // Round trip JS -> native -> JS on a trivial model.
    if (want('engine')) {
      const rtModel = tinyDir ?? MODELS.demo.dir;
      log(`round trip on ${rtModel}`);
      try {
        const lines = await runJsonLines(
          process.execPath,
          [
            join(ROOT, 'bench', 'engine_stage.js'),
            JSON.stringify({
              model: join(ROOT, rtModel),
              batches: [],
              seqs: [],
              roundtrip: { n: P.roundtripN },
            }),
          ],
          { label: 'engine_stage roundtrip', env: { OMP_WAIT_POLICY: 'PASSIVE' } },
        );
        const rt = lines.find((l) => l.type === 'roundtrip');
        results.roundtrip = { model: rtModel, isTiny: !!tinyDir, ...rt };
        if (bin && rt) {
          const l = await limitRun(
            bin,
            rtModel,
            ['--batches', '1', '--seqs', String(rt.tokens), '--target-seconds', '1', '--max-repeats', '2000'],
            args.threads,
            'engine_limit tiny',
          );
          results.roundtrip.limit = l.find((x) => x.type === 'shape');
        }
      } catch (e) {
        fail('roundtrip', e);
      }
    }

    // Server stages.
    const serverModels = args.models.filter((m) => m === 'demo' || (m === 'base' && P.baseServer));
    for (const name of serverModels) {
      if (!(want('server') || want('batching') || want('overload'))) break;
      const spec = MODELS[name];
      const M = results.models[name];
      const suite = name === 'demo' ? 'full' : P.baseServer;
      const bound = args.p99BoundMs ?? spec.p99BoundMs;
      const S = (M.server = { suite, p99BoundMs: bound, closed: [], single: [], open: [], batching: [], overload: [] });
      const bodies = readFileSync(join(tmp, `${name}-mix.txt`), 'utf8')
        .split('\n')
        .filter(Boolean);
      const mixFile = join(tmp, `${name}-mix.txt`);
      let server = null;
      try {
        // --- 3. default configuration: closed loop, single connection, open loop --------------
        server = await startServer(spec.dir);
        S.info = server.info;
        S.startupS = server.startupS;
        const conns = suite === 'full' ? P.closedConns : [1, 64];
        const durS = suite === 'full' ? P.closedS : Math.max(P.closedS, 6);
        if (want('server') || want('batching')) {
          for (const c of conns) {
            log(`${name}: closed loop, ${c} connection(s), ${durS} s`);
            S.closed.push(await closedLoop(server, bodies, { connections: c, duration: durS, warmup: P.warmupS }));
          }
        }
        if (want('server') && M.texts) {
          for (const seq of Object.keys(M.texts)) {
            log(`${name}: single connection, fixed ${M.texts[seq].tokens}-token text`);
            const r = await closedLoop(server, [M.texts[seq].text], { connections: 1, duration: P.singleS, warmup: P.warmupS });
            S.single.push({ seq: Number(seq), tokens: M.texts[seq].tokens, ...r });
          }
        }
        const saturation = Math.max(0, ...S.closed.map((r) => r.throughput));
        S.saturation = saturation;
        if (want('server') && suite === 'full' && saturation > 0) {
          const rates = [...new Set(P.openFactors.map((f) => Math.max(1, Math.round(f * saturation))))];
          for (const rate of rates) {
            log(`${name}: open loop ${rate}/s for ${P.openS} s`);
            S.open.push({ offered: rate, ...(await openLoop(server, mixFile, { rate, duration: P.openS, warmup: P.warmupS })) });
          }
          const passes = (r) =>
            r.latency_ok_from_schedule?.p99 !== undefined &&
            r.latency_ok_from_schedule.p99 <= bound &&
            r.ok_rate >= 0.95 * r.offered &&
            r.error_fraction <= 0.001;
          const best = () => S.open.filter(passes).sort((a, b) => b.offered - a.offered)[0];
          let kb = best();
          const firstFail = () =>
            S.open.filter((r) => !passes(r) && (!best() || r.offered > best().offered)).sort((a, b) => a.offered - b.offered)[0];
          if (P.refine && kb && firstFail()) {
            const mid = Math.round((kb.offered + firstFail().offered) / 2);
            if (mid > kb.offered && mid < firstFail().offered) {
              log(`${name}: open loop ${mid}/s (refining the knee)`);
              S.open.push({ offered: mid, ...(await openLoop(server, mixFile, { rate: mid, duration: P.openS, warmup: P.warmupS })) });
            }
          }
          S.open.sort((a, b) => a.offered - b.offered);
          kb = best();
          S.knee = kb
            ? {
                offered: kb.offered,
                ok_rate: kb.ok_rate,
                p99_ms: kb.latency_ok_from_schedule.p99,
                p50_ms: kb.latency_ok_from_schedule.p50,
                bound_ms: bound,
              }
            : { offered: null, bound_ms: bound };
        }

        // --- 4. batching: on (default, above) vs off; length sorting on vs off ------------------
        if (want('batching') && suite === 'full') {
          const cmpConns = conns.includes(64) ? 64 : conns[conns.length - 1];
          const onClosed = S.closed.find((r) => r.connections === cmpConns);
          const cmpRate = Math.max(1, Math.round((S.knee?.offered ?? saturation) * 0.5));
          log(`${name}: batching on, open loop ${cmpRate}/s`);
          const onOpen = await openLoop(server, mixFile, { rate: cmpRate, duration: P.openS, warmup: P.warmupS });
          S.batching.push({
            config: 'batching on, length-sorted (default)',
            flags: [],
            closed: onClosed,
            open: { offered: cmpRate, ...onOpen },
          });
          await stopServer(server);
          server = null;
          for (const [label, flags] of [
            ['batching off (--max-batch-requests 1)', ['--max-batch-requests', '1']],
            ['batching on, not sorted (--no-sort-by-length)', ['--no-sort-by-length']],
          ]) {
            server = await startServer(spec.dir, flags);
            log(`${name}: ${label}: closed loop ${cmpConns} connections, open loop ${cmpRate}/s`);
            const closed = await closedLoop(server, bodies, { connections: cmpConns, duration: durS, warmup: P.warmupS });
            const open = await openLoop(server, mixFile, { rate: cmpRate, duration: P.openS, warmup: P.warmupS });
            S.batching.push({ config: label, flags, closed, open: { offered: cmpRate, ...open } });
            await stopServer(server);
            server = null;
          }
        }

        // --- 5. overload --------------------------------------------------------------------
        if (want('overload') && suite === 'full') {
          if (server) {
            await stopServer(server);
            server = null;
          }
          const flags = ['--max-queue', String(spec.overloadQueue), '--request-timeout-ms', String(spec.deadlineMs)];
          server = await startServer(spec.dir, flags);
          const ref = S.knee?.offered ?? saturation;
          S.overloadConfig = {
            maxQueue: spec.overloadQueue,
            deadlineMs: spec.deadlineMs,
            reference: S.knee?.offered ? 'knee' : 'closed-loop saturation throughput (no knee found)',
            referenceRate: round(ref, 1),
          };
          for (const f of P.overloadFactors) {
            const rate = Math.max(1, Math.round(f * ref));
            log(`${name}: overload ${f}x = ${rate}/s, --max-queue ${spec.overloadQueue}`);
            const r = await openLoop(server, mixFile, {
              rate,
              duration: P.overloadS,
              warmup: P.warmupS,
              timeoutMs: Math.max(10_000, spec.deadlineMs * 3),
            });
            let health = null;
            try {
              health = (await httpGet(server.port, '/health')).status;
            } catch (e) {
              health = `error: ${e.message}`;
            }
            S.overload.push({ factor: f, offered: rate, ...r, alive: server.alive(), health });
          }
        }
      } catch (e) {
        fail(`server ${name}`, e);
        if (server) M.serverStderrTail = server.stderr().split('\n').slice(-5);
      } finally {
        if (server) await stopServer(server);
      }
    }

    // precision / trace rows: the server at 64 connections (as long as the float32 64-connection
    // run), the seed recipe's server on the traced file, and bf16/int8 accuracy against float32.
    const recipeMissing = want('trace') ? recipeUnavailable(PY) : null;
    for (const name of args.models) {
      const spec = MODELS[name];
      const M = results.models[name];
      const bodies = readFileSync(join(tmp, `${name}-mix.txt`), 'utf8')
        .split('\n')
        .filter(Boolean);
      const load = { duration: name === 'demo' || P.baseServer === 'full' ? P.closedS : Math.max(P.closedS, 6), warmup: P.warmupS };
      for (const stage of variantStages) {
        for (const row of variantRows(spec.dir)[stage]) {
          const V = ((M.variants ??= {})[row.key] ??= { label: row.label, dir: row.dir });
          if (row.skipped) continue;
          try {
            V.server = await variantServer(ctx, row, bodies, load);
          } catch (e) {
            fail(`${row.key} server ${name}`, e);
          }
          if (row.key !== 'traced') continue;
          if (recipeMissing) {
            M.recipe = { skipped: recipeMissing };
            log(`${name}: recipe row skipped: ${recipeMissing}`);
            continue;
          }
          M.recipe = { dir: row.dir };
          try {
            M.recipe.server = await recipeServer(ctx, row, bodies, load);
          } catch (e) {
            fail(`recipe server ${name}`, e);
          }
        }
      }
      if (want('precision')) {
        log(`${name}: accuracy of bf16 and int8 against float32 (bench/accuracy.js, ${P.accuracyN} texts)`);
        try {
          M.accuracy = await accuracyRows(ctx, spec.dir, P.accuracyN);
        } catch (e) {
          fail(`accuracy ${name}`, e);
        }
      }
    }
    // bert-serve against ONNX Runtime on the same weights (bench/peer.js).
    if (want('peer')) {
      try {
        ensurePeerModels(ctx);
        results.peer = await peerStage(ctx, P, { corpusFile, tmp, bin, fail });
      } catch (e) {
        fail('peer', e);
      }
    }
    // bf16 and int8 against float32 on the trained fixtures (bench/trained.js).
    if (want('trained')) {
      try {
        results.trained = await trainedStage(ctx, P, fail);
      } catch (e) {
        fail('trained', e);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  results.machine.busy_after = round(await cpuBusy(1000), 3);
  results.machine.loadavg_after = os.loadavg().map((x) => round(x, 2));
  results.finished = new Date().toISOString();
  results.elapsed_s = round((Date.now() - T0) / 1000, 1);
  results.targets = targets(results);
  writeReport(results, args.out);
  log(`done in ${results.elapsed_s} s: bench/results/${args.out}.md`);
  if (results.stageErrors.length > 0) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench: ${e?.stack ?? e}\n`);
  process.exit(1);
});
