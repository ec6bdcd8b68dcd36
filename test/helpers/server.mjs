// Spawns the real server as users start it (bin/bert-serve, which execs node dist/cli.js; here on
// this test's Node) on 127.0.0.1 with a free port (--port 0; the port is read from
// the "listening" log line) and JSON logs, and follows its log lines. Every server started here is
// killed by PID when the test ends (only the processes this helper started; the launcher execs
// node, so the PID is the server's).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cli = join(root, 'dist', 'cli.js');
export const launcher = join(root, 'bin', 'bert-serve');
export const demoModel = join(root, 'models', 'demo');
/** models/test/NAME (BERT_SERVE_TEST_MODELS overrides the directory). */
export const testModel = (name) => join(process.env.BERT_SERVE_TEST_MODELS ?? join(root, 'models', 'test'), name);

/** Throws a clear error when a model fixture or the build is missing (rather than a confusing timeout). */
export function requireBuilt(...models) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npx tsc -p tsconfig.json\``);
  for (const m of models) {
    if (!existsSync(join(m, 'model.pt'))) {
      throw new Error(
        `model fixture ${m} is missing: run \`/usr/bin/python3 scripts/make_test_models.py models/test\` ` +
          'and `/usr/bin/python3 scripts/make_demo_model.py models/demo` (npm test does both)',
      );
    }
  }
}

const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/**
 * Starts `bin/bert-serve --host 127.0.0.1 --port 0 --log-format json ...args` (BERT_SERVE_NODE:
 * this process's Node).
 * Resolves when a log line with msg === waitFor appears ('ready' by default; 'listening' to catch
 * the loading phase; null to resolve at once). Rejects if the process exits first or after timeoutMs.
 */
export async function spawnServer(args = [], { env = {}, waitFor = 'ready', timeoutMs = 120_000, t } = {}) {
  const proc = spawn(launcher, ['--host', '127.0.0.1', '--port', '0', '--log-format', 'json', ...args], {
    cwd: root,
    env: { ...process.env, BERT_SERVE_NODE: process.execPath, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  const server = new ServerProcess(proc);
  if (t) t.teardown(() => server.kill());
  if (waitFor) await server.waitLog((l) => l.msg === waitFor, timeoutMs);
  return server;
}

export class ServerProcess {
  constructor(proc) {
    this.proc = proc;
    this.pid = proc.pid;
    /** Parsed JSON log lines (non-JSON lines as {msg: line, raw: true}). */
    this.logs = [];
    this.stdout = '';
    this.stderr = '';
    this.port = undefined;
    /** The HTTP transport it serves with ('uws' or 'node'), from the "listening" log line. */
    this.transport = undefined;
    this.exitCode = undefined;
    this.exitSignal = undefined;
    this.waiters = [];
    let buf = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      this.stdout += d;
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
      this.stderr += d;
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() !== '') this.#addLine(line);
      }
    });
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        live.delete(proc);
        if (buf.trim() !== '') this.#addLine(buf);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve({ code, signal });
        for (const w of this.waiters.splice(0)) w.check(true);
      });
    });
  }

  #addLine(line) {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      entry = { msg: line, raw: true };
    }
    this.logs.push(entry);
    if (entry.msg === 'listening' && typeof entry.port === 'number') {
      this.port = entry.port;
      this.transport = entry.transport;
    }
    for (const w of [...this.waiters]) w.check(false);
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resolves with the first log line (past or future) matching `pred`. */
  waitLog(pred, timeoutMs = 30_000) {
    const found = this.logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = {
        check: (exited) => {
          const hit = this.logs.find(pred);
          if (hit) {
            done();
            resolve(hit);
          } else if (exited) {
            done();
            reject(
              new Error(
                `server exited (code ${this.exitCode}, signal ${this.exitSignal}) before the awaited log line; stderr:\n${this.stderr}`,
              ),
            );
          }
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line; stderr:\n${this.stderr}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((x) => x !== w);
      };
      this.waiters.push(w);
      if (this.exitCode !== undefined || this.exitSignal !== undefined) w.check(true);
    });
  }

  /** Sends `signal` and resolves with {code, signal, ms} when the process exits; SIGKILL after timeoutMs. */
  async stop(signal = 'SIGTERM', timeoutMs = 60_000) {
    const t0 = Date.now();
    if (this.exitCode === undefined && this.exitSignal === undefined) this.proc.kill(signal);
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const r = await this.exited;
    clearTimeout(timer);
    return { ...r, ms: Date.now() - t0 };
  }

  kill() {
    if (this.exitCode === undefined && this.exitSignal === undefined) {
      try {
        this.proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** Runs the CLI to completion (for --help, bad flags, startup failures). */
export function runCli(args, { env = {}, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    let stdout = '',
      stderr = '';
    proc.stdout.on('data', (d) => {
      stdout += d;
    });
    proc.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(proc);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` (async, truthy = done) every `everyMs` until it is truthy or `timeoutMs` passes. */
export async function until(fn, { timeoutMs = 20_000, everyMs = 10, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
