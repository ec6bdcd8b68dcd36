// Stock reverse proxies in front of the real server, on its default transport: nginx with nothing
// but `proxy_pass` (it speaks HTTP/1.0 to the upstream and closes after each answer), haproxy with
// its defaults (HTTP/1.1, keep-alive to the server), and requests pipelined on one connection
// behind an answer that is still being computed. Every request is answered, in order. The proxies
// are Debian's packages (scripts/install-system-deps.sh --test), started here on 127.0.0.1 with
// a configuration written to a temporary directory, and stopped by PID.
import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { spawnServer, requireBuilt, testModel, until } from '../helpers/server.mjs';
import { RawClient, head, request } from '../helpers/http.mjs';

t.setTimeout(180_000);
requireBuilt(testModel('tiny'));
for (const bin of ['/usr/sbin/nginx', '/usr/sbin/haproxy']) {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/install-system-deps.sh --test (npm test does)`);
}

// The default transport, whatever BERT_SERVE_TRANSPORT the run sets for the other HTTP tests.
const server = await spawnServer(['--model', testModel('tiny')], { t, env: { BERT_SERVE_TRANSPORT: '' } });
const upstream = `127.0.0.1:${server.port}`;
const dir = mkdtempSync(join(os.tmpdir(), 'bert-serve-proxies-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Starts a proxy process; stopped by PID when the test ends. Resolves once its port accepts. */
async function startProxy(t, cmd, args, port) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  // SIGTERM first: nginx's master then stops its worker and exits (a SIGKILLed master leaves its
  // worker running, orphaned); SIGKILL only if it has not exited within 10 s.
  t.teardown(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    let timer;
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve('late'), 10_000)));
    if ((await Promise.race([exited, late])) === 'late') proc.kill('SIGKILL');
    clearTimeout(timer);
  });
  await until(
    () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) throw new Error(`${cmd} exited ${proc.exitCode}: ${stderr}`);
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    { what: `${cmd} listening on ${port}`, timeoutMs: 15_000 },
  );
  return proc;
}

/** The same requests through a proxy: inference, a status route, an error, in parallel and on one kept-alive connection. */
async function exercise(t, port) {
  const post = (text) =>
    request(port, { method: 'POST', path: '/', body: text, headers: { 'content-type': 'text/plain' }, timeoutMs: 15_000 });
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(`proxy ${i} [MASK]`)));
  for (const r of answers) {
    t.equal(r.status, 200, r.text);
    t.equal(r.json?.length, 5, 'five predictions');
  }
  const json = await request(port, {
    method: 'POST',
    path: '/',
    body: JSON.stringify({ inputs: ['a [MASK]', 'b [MASK]'], parameters: { top_k: 2 } }),
    headers: { 'content-type': 'application/json' },
    timeoutMs: 15_000,
  });
  t.equal(json.status, 200, json.text);
  t.equal(json.json?.length, 2);
  t.equal((await request(port, { path: '/health' })).status, 200);
  const missing = await request(port, { path: '/nope' });
  t.equal(missing.status, 404);
  t.equal(missing.json?.error_type, 'not_found', "the server's own JSON error, passed through");
  const noMask = await post('no mask here');
  t.equal(noMask.status, 422);
  // fetch (undici) keeps its connection to the proxy alive across these.
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: `fetch ${i} [MASK]`, signal: AbortSignal.timeout(15_000) });
    t.equal(r.status, 200);
    t.equal((await r.json()).length, 5);
  }
}

t.test('nginx with only proxy_pass (HTTP/1.0 to the upstream)', async (t) => {
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  // Only what running it from a temporary directory needs (pid, logs and temp paths there), and
  // the one proxy directive: no proxy_http_version, no keep-alive to the upstream.
  writeFileSync(
    conf,
    `
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
worker_processes 1;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://${upstream}; }
  }
}
`,
  );
  await startProxy(t, '/usr/sbin/nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], port);
  await exercise(t, port);
});

t.test('haproxy with its defaults (HTTP/1.1, keep-alive to the server)', async (t) => {
  const port = await freePort();
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(
    conf,
    `
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  server s ${upstream}
`,
  );
  execFileSync('/usr/sbin/haproxy', ['-c', '-f', conf], { stdio: 'ignore' });
  await startProxy(t, '/usr/sbin/haproxy', ['-db', '-f', conf], port);
  await exercise(t, port);
});

t.test('pipelined requests behind an answer still being computed: all answered, in order', async (t) => {
  const c = await RawClient.connect(server.port);
  const words = ['paris', 'london', 'berlin'];
  const body = (i) => `${words[i]} [MASK]`;
  const post = (i) => head('POST', '/', { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body(i))) }) + body(i);
  // One write: three inference requests, a status request and a 404, back to back.
  await c.send(post(0) + post(1) + head('GET', '/health') + post(2) + head('GET', '/nope'));
  const statuses = [];
  const sequences = [];
  for (let i = 0; i < 5; i++) {
    const r = await c.response();
    statuses.push(r.status);
    if (r.status === 200 && Array.isArray(r.json) && r.json[0]?.sequence) sequences.push(r.json[0].sequence.split(' ')[0]);
  }
  t.same(statuses, [200, 200, 200, 200, 404], 'every request answered');
  // The predicted token may be a word piece that joins the word ("london" + "##tour"): compare the starts.
  t.same(
    sequences.map((seq, i) => seq.startsWith(words[i])),
    [true, true, true],
    `in the order sent: ${sequences.join(', ')}`,
  );
  c.destroy();
});

t.test('HTTP/1.0 straight from a client: answered and closed', async (t) => {
  const c = await RawClient.connect(server.port);
  const text = 'old [MASK]';
  await c.send(`POST / HTTP/1.0\r\nContent-Length: ${text.length}\r\nContent-Type: text/plain\r\n\r\n${text}`);
  const r = await c.response();
  t.equal(r.status, 200);
  t.equal(r.json?.length, 5);
  await c.closed;
  t.pass('closed after the answer, as HTTP/1.0 without keep-alive asks');
});
