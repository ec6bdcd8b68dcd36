// A bench runtime kept loaded in its own process and asked for one timing at a time, so that
// bench/peer.js can alternate runtimes (A, B, A, B ...) within seconds instead of running each
// for minutes: this machine's speed drifts more between minutes than the differences judged.
//
// The child prints JSON lines while it loads, then {"type":"ready"}; afterwards each request is one
// JSON line on its stdin ({"op": ...}) answered by one JSON line on its stdout ({"type":"result"} or
// {"type":"error","message"}). Requests are strictly one at a time: a runtime that is not asked
// is idle, its threads asleep, while another is timed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const emit = (j) => process.stdout.write(JSON.stringify(j) + '\n');

/** Child side: announce readiness, then answer requests with handlers[op](request) until stdin ends. */
export async function serveRequests(handlers) {
  emit({ type: 'ready' });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    let req;
    try {
      req = JSON.parse(line);
      const fn = handlers[req.op];
      if (!fn) throw new Error(`unknown op ${JSON.stringify(req.op)}`);
      emit({ type: 'result', ...(await fn(req)) });
    } catch (e) {
      emit({ type: 'error', message: String(e?.message ?? e) });
    }
  }
}

/**
 * Parent side: spawns cmd, resolves once it is ready with { lines (printed while loading), request,
 * close }. request(obj) resolves with the answer, or rejects on an error answer, an exit or timeoutMs.
 */
export function startWorker(cmd, args, { cwd, env = {}, label = cmd, readyTimeoutMs = 600_000, timeoutMs = 600_000 } = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-10000);
  });
  const lines = [];
  let waiter = null;
  let exited = null;
  const fail = (why) => {
    const w = waiter;
    waiter = null;
    w?.reject(new Error(`${label}: ${why}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
  };
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (!l.trim().startsWith('{')) return;
    const j = JSON.parse(l);
    if (waiter?.accepts(j)) {
      const w = waiter;
      waiter = null;
      w.resolve(j);
    } else lines.push(j);
  });
  child.on('exit', (code, signal) => {
    exited = code ?? signal;
    fail(`exited with ${exited}`);
  });
  child.on('error', (e) => fail(e.message));
  // One answer at a time: resolves with the first line that `accepts` takes.
  const next = (accepts, ms) =>
    new Promise((resolve, reject) => {
      if (exited !== null) return reject(new Error(`${label}: exited with ${exited}`));
      const timer = setTimeout(() => fail(`no answer in ${ms / 1000} s`), ms);
      waiter = {
        accepts,
        resolve: (j) => (clearTimeout(timer), resolve(j)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  const close = () =>
    new Promise((resolve) => {
      if (exited !== null) return resolve();
      child.once('exit', () => resolve());
      child.stdin.end();
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    });
  return next((j) => j.type === 'ready', readyTimeoutMs).then(
    () => ({
      lines,
      pid: child.pid,
      async request(req) {
        const answer = next((j) => j.type === 'result' || j.type === 'error', timeoutMs);
        child.stdin.write(JSON.stringify(req) + '\n');
        const j = await answer;
        if (j.type === 'error') throw new Error(`${label} ${req.op}: ${j.message}`);
        return j;
      },
      close,
    }),
    async (e) => {
      child.kill('SIGKILL');
      throw e;
    },
  );
}
