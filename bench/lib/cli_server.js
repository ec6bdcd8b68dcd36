// The real server for a bench: the CLI in a child process on 127.0.0.1, on a free port, resolved
// once GET /ready answers 200 (so it works at any --log-level and for bin/bert-serve as for
// dist/cli.js). Its stderr is kept (the last 64 KB) for the error when it exits or is not ready in
// time, or passed through (`stderr: 'inherit'`). Bounded: `readyTimeoutMs`, polled every 100 ms.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A port nobody listens on now (the OS's choice). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function readyStatus(port) {
  return new Promise((resolve) =>
    http
      .get({ host: '127.0.0.1', port, path: '/ready', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', () => resolve(0)),
  );
}

/**
 * Starts `command` (default: this Node running `dist`/cli.js) with `args` plus --host 127.0.0.1
 * --port P. Resolves with { proc, port, url, stop } once ready; stop(signal = 'SIGKILL') resolves
 * when the process has exited.
 */
export async function startCli(args, { dist = join(ROOT, 'dist'), command, env = {}, stderr = 'keep', readyTimeoutMs = 300_000 } = {}) {
  const [cmd, ...cmdArgs] = command ?? [process.execPath, join(dist, 'cli.js')];
  const port = await freePort();
  const proc = spawn(cmd, [...cmdArgs, ...args, '--host', '127.0.0.1', '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', stderr === 'inherit' ? 'inherit' : 'pipe'],
  });
  let tail = '';
  proc.stderr?.on('data', (d) => {
    tail = (tail + d).slice(-65536);
  });
  let exited;
  const exit = new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      exited = signal ?? code;
      resolve();
    }),
  );
  const stop = async (signal = 'SIGKILL') => {
    if (exited === undefined) proc.kill(signal);
    await exit;
  };
  for (const t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
    if (exited !== undefined) throw new Error(`server exited (${exited}) before it was ready: ${tail.slice(-4000)}`);
    if (Date.now() - t0 > readyTimeoutMs) {
      await stop();
      throw new Error(`server not ready in ${readyTimeoutMs} ms: ${tail.slice(-4000)}`);
    }
    if ((await readyStatus(port)) === 200) break;
  }
  return { proc, port, url: `http://127.0.0.1:${port}`, stop };
}
