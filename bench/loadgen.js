#!/usr/bin/env node
// A small open-loop HTTP/1.1 load generator for the benchmark (bench/run.js runs it as a child
// process, so its CPU use is its own and is reported).
//
//   node bench/loadgen.js '{"port":8000,"rate":500,"duration":5,"warmup":1,"corpus":"/tmp/c.txt"}'
//
// Requests are issued on a fixed schedule (Poisson arrivals at `rate` per second, or uniform), each
// on an idle keep-alive connection (a new one is opened when none is idle, up to maxConnections;
// beyond that the request waits in the client, and the wait is counted). So the offered load does
// not slow down when the server does: no coordinated omission. Latency is recorded twice: from the
// moment the request was written (the server's response time as seen by the client) and from the
// moment it was scheduled (which adds the client's own lateness, timer granularity ~1 ms, and any
// wait for a connection). Only requests scheduled inside the measured window (after `warmup`
// seconds, for `duration` seconds) are counted. Answers are split by status, so refusals (429/503)
// and accepted requests get separate latency percentiles, and the server's timing headers
// (x-tokenization-time, x-queue-time, x-thread-wait-time, x-inference-time, x-total-time, in ms) are
// summarized for 2xx answers.
//
// Prints one JSON object on stdout. Bodies: one per line of `corpus`, used in order, round robin,
// sent as text/plain to POST `path` (default /).
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { rng } from './corpus.js';

const cfg = {
  host: '127.0.0.1',
  port: 8000,
  path: '/',
  rate: 100,
  duration: 5,
  warmup: 1,
  arrival: 'poisson',
  seed: 1,
  maxConnections: 2048,
  initialConnections: 0,
  timeoutMs: 30_000,
  corpus: null,
  bodies: null,
  ...JSON.parse(process.argv[2] ?? '{}'),
};

const bodies =
  cfg.bodies ??
  readFileSync(cfg.corpus, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const requests = bodies.map((b) => {
  const body = Buffer.from(b, 'utf8');
  return Buffer.concat([
    Buffer.from(
      `POST ${cfg.path} HTTP/1.1\r\nHost: ${cfg.host}:${cfg.port}\r\n` +
        `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`,
    ),
    body,
  ]);
});

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const rand = rng(cfg.seed);

// --- results -------------------------------------------------------------------------------
const rec = {
  status: [], // per recorded request: HTTP status, 0 = connection error, -1 = timeout
  latSent: [], // ms, from write to last byte
  latIntended: [], // ms, from scheduled time to last byte
  lag: [], // ms, write time - scheduled time
  tok: [],
  queue: [],
  wait: [],
  inf: [],
  total: [], // timing headers of 2xx answers (ms)
};
let sent = 0,
  outstanding = 0,
  opened = 0,
  maxBusy = 0,
  maxBacklog = 0,
  connErrors = 0,
  closedByServer = 0;

function record(req, status, tEnd, hdr) {
  if (!req.measured) return;
  rec.status.push(status);
  rec.latSent.push(req.sentAt !== undefined ? tEnd - req.sentAt : NaN);
  rec.latIntended.push(tEnd - req.intended);
  rec.lag.push(req.sentAt !== undefined ? req.sentAt - req.intended : NaN);
  if (status >= 200 && status < 300 && hdr) {
    if (hdr.tok !== undefined) rec.tok.push(hdr.tok);
    if (hdr.queue !== undefined) rec.queue.push(hdr.queue);
    if (hdr.wait !== undefined) rec.wait.push(hdr.wait);
    if (hdr.inf !== undefined) rec.inf.push(hdr.inf);
    if (hdr.total !== undefined) rec.total.push(hdr.total);
  }
}

// --- connections -----------------------------------------------------------------------------
const idle = [];
const all = new Set();
const backlog = [];
let busy = 0;

class Conn {
  constructor() {
    this.req = null;
    this.buf = Buffer.alloc(0);
    this.ready = false;
    this.dead = false;
    opened++;
    this.sock = net.connect({ host: cfg.host, port: cfg.port, noDelay: true });
    all.add(this);
    this.sock.on('connect', () => {
      this.ready = true;
      this.release();
    });
    this.sock.on('data', (d) => this.onData(d));
    this.sock.on('error', () => {
      connErrors++;
      this.kill(0);
    });
    this.sock.on('close', () => this.kill(0));
  }

  send(req) {
    this.req = req;
    req.sentAt = now();
    busy++;
    maxBusy = Math.max(maxBusy, busy);
    this.sock.write(requests[req.body]);
  }

  release() {
    if (this.dead) return;
    if (backlog.length > 0) {
      this.send(backlog.shift());
      return;
    }
    idle.push(this);
  }

  onData(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const r = parseResponse(this.buf);
      if (!r) return;
      this.buf = this.buf.subarray(r.consumed);
      const req = this.req;
      if (!req) {
        this.kill(0);
        return;
      } // unsolicited bytes
      this.req = null;
      busy--;
      outstanding--;
      record(req, r.status, now(), r.hdr);
      if (r.close) {
        closedByServer++;
        this.kill(0);
        return;
      }
      this.release();
    }
  }

  // Connection gone: the request on it (if any) failed with `status` (0 error, -1 timeout).
  kill(status) {
    if (this.dead) return;
    this.dead = true;
    all.delete(this);
    const i = idle.indexOf(this);
    if (i >= 0) idle.splice(i, 1);
    this.sock.destroy();
    if (this.req) {
      busy--;
      outstanding--;
      record(this.req, status, now(), null);
      this.req = null;
    }
    // Keep the backlog moving.
    if (backlog.length > 0 && all.size < cfg.maxConnections && !finished) new Conn();
  }
}

function headerMs(v) {
  if (v === undefined) return undefined;
  const n = parseFloat(v);
  return Number.isFinite(n) ? n : undefined;
}

// Returns null until a whole response is in `buf`.
function parseResponse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.toString('latin1', 0, end);
  const lines = head.split('\r\n');
  const status = parseInt(lines[0].split(' ')[1], 10);
  let length = 0,
    chunked = false,
    close = false;
  const hdr = {};
  for (let i = 1; i < lines.length; i++) {
    const c = lines[i].indexOf(':');
    if (c < 0) continue;
    const k = lines[i].slice(0, c).trim().toLowerCase();
    const v = lines[i].slice(c + 1).trim();
    if (k === 'content-length') length = parseInt(v, 10);
    else if (k === 'transfer-encoding' && /chunked/i.test(v)) chunked = true;
    else if (k === 'connection' && /close/i.test(v)) close = true;
    else if (k === 'x-tokenization-time') hdr.tok = headerMs(v);
    else if (k === 'x-queue-time') hdr.queue = headerMs(v);
    else if (k === 'x-thread-wait-time') hdr.wait = headerMs(v);
    else if (k === 'x-inference-time') hdr.inf = headerMs(v);
    else if (k === 'x-total-time') hdr.total = headerMs(v);
  }
  let pos = end + 4;
  if (chunked) {
    for (;;) {
      const le = buf.indexOf('\r\n', pos);
      if (le < 0) return null;
      const size = parseInt(buf.toString('latin1', pos, le), 16);
      pos = le + 2 + size + 2;
      if (pos > buf.length) return null;
      if (size === 0) break;
    }
    return { status, consumed: pos, close, hdr };
  }
  if (buf.length < pos + length) return null;
  return { status, consumed: pos + length, close, hdr };
}

// --- schedule ------------------------------------------------------------------------------
let finished = false;
let bodyIndex = 0;

function dispatch(req) {
  sent++;
  outstanding++;
  const c = idle.pop();
  if (c) {
    c.send(req);
    return;
  }
  backlog.push(req);
  maxBacklog = Math.max(maxBacklog, backlog.length);
  if (all.size < cfg.maxConnections) new Conn();
}

function checkTimeouts(t) {
  for (const c of all) {
    if (c.req && c.req.sentAt !== undefined && t - c.req.sentAt > cfg.timeoutMs) c.kill(-1);
  }
  while (backlog.length > 0 && t - backlog[0].intended > cfg.timeoutMs) {
    const req = backlog.shift();
    outstanding--;
    record(req, -1, t, null);
  }
}

async function main() {
  // Open the initial pool and wait for it, so connection setup is not measured.
  const initial = Math.min(cfg.maxConnections, cfg.initialConnections || Math.ceil(cfg.rate * 0.01) + 4);
  for (let i = 0; i < initial; i++) new Conn();
  const t0w = now();
  while (idle.length < initial && now() - t0w < 5000) await new Promise((r) => setTimeout(r, 5));

  const cpu0 = process.cpuUsage();
  const start = now() + 5;
  const measureFrom = start + cfg.warmup * 1000;
  const end = measureFrom + cfg.duration * 1000;
  let next = start;
  let lastTimeoutCheck = start;
  const gap = () => (cfg.arrival === 'uniform' ? 1000 / cfg.rate : -Math.log(1 - rand()) * (1000 / cfg.rate));

  await new Promise((resolve) => {
    const tick = () => {
      const t = now();
      while (next <= t && next < end) {
        dispatch({ intended: next, body: bodyIndex++ % requests.length, measured: next >= measureFrom });
        next += gap();
      }
      if (t - lastTimeoutCheck > 100) {
        checkTimeouts(t);
        lastTimeoutCheck = t;
      }
      if (next >= end) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, Math.floor(next - now())));
    };
    setTimeout(tick, Math.max(0, start - now()));
  });
  // Drain: wait for what is outstanding (bounded by the request timeout).
  const drainStart = now();
  while (outstanding > 0 && now() - drainStart < cfg.timeoutMs + 1000) {
    await new Promise((r) => setTimeout(r, 10));
    checkTimeouts(now());
  }
  finished = true;
  const cpu = process.cpuUsage(cpu0);
  const wall = now() - start;
  for (const c of [...all]) {
    c.dead = true;
    c.sock.destroy();
  }

  process.stdout.write(JSON.stringify(summarize(cpu, wall)) + '\n');
}

function pct(arr, p) {
  if (arr.length === 0) return null;
  const i = Math.min(arr.length - 1, Math.max(0, Math.ceil((p / 100) * arr.length) - 1));
  return arr[i];
}

function stats(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0 };
  const r = (x) => Math.round(x * 1000) / 1000;
  return {
    n: v.length,
    mean: r(v.reduce((a, b) => a + b, 0) / v.length),
    p50: r(pct(v, 50)),
    p90: r(pct(v, 90)),
    p99: r(pct(v, 99)),
    p999: r(pct(v, 99.9)),
    max: r(v[v.length - 1]),
  };
}

function summarize(cpu, wall) {
  const by = {};
  for (const s of rec.status) by[s] = (by[s] ?? 0) + 1;
  const sel = (arr, f) => arr.filter((_, i) => f(rec.status[i]));
  const ok = (s) => s >= 200 && s < 300;
  const refused = (s) => s === 429 || s === 503;
  const recorded = rec.status.length;
  return {
    mode: 'open',
    arrival: cfg.arrival,
    offered_rate: cfg.rate,
    duration_s: cfg.duration,
    warmup_s: cfg.warmup,
    sent_total: sent,
    recorded,
    status: by,
    ok: sel(rec.status, ok).length,
    ok_rate: sel(rec.status, ok).length / cfg.duration,
    answered_rate: sel(rec.status, (s) => s > 0).length / cfg.duration,
    refused_fraction: recorded ? sel(rec.status, refused).length / recorded : 0,
    error_fraction: recorded ? sel(rec.status, (s) => !ok(s)).length / recorded : 0,
    latency_ok: stats(sel(rec.latSent, ok)),
    latency_ok_from_schedule: stats(sel(rec.latIntended, ok)),
    latency_refused: stats(sel(rec.latSent, refused)),
    latency_refused_from_schedule: stats(sel(rec.latIntended, refused)),
    latency_all: stats(sel(rec.latSent, (s) => s > 0)),
    send_lag: stats(rec.lag),
    server_timing_ms: {
      tokenization: stats(rec.tok),
      queue: stats(rec.queue),
      thread_wait: stats(rec.wait),
      inference: stats(rec.inf),
      total: stats(rec.total),
    },
    // Answers whose batch waited >= 1 ms for threads another model's batch held (several models).
    thread_waited: rec.wait.filter((w) => w >= 1).length,
    connections_opened: opened,
    max_busy_connections: maxBusy,
    max_client_backlog: maxBacklog,
    connection_errors: connErrors,
    closed_by_server: closedByServer,
    client_cpu_s: (cpu.user + cpu.system) / 1e6,
    client_wall_s: wall / 1000,
  };
}

main().catch((e) => {
  process.stderr.write(`loadgen: ${e?.stack ?? e}\n`);
  process.exit(1);
});
