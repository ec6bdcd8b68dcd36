// HTTP clients for the e2e tests: Node's http module for ordinary requests, raw net sockets for
// what http cannot do (partial bodies, hand-made chunked bodies, hanging up mid-request), a
// Prometheus text parser for /metrics, and the recipe's curl command. Every call is time-bounded.
import http from 'node:http';
import net from 'node:net';
import { execFile } from 'node:child_process';

/**
 * One request. Resolves {status, headers, text, json} or rejects on a socket error / timeout.
 * agent: false (default) uses a fresh connection per request.
 */
export function request(port, { method = 'GET', path = '/', headers = {}, body, agent = false, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json, bytes: buf });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request ${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** Asserts an error answer: the status, the `{error, error_type}` shape, the type, and the message when a pattern is given. */
export function checkError(t, r, status, type, pattern) {
  t.equal(r.status, status, `status ${status}: ${r.text}`);
  t.same(Object.keys(r.json ?? {}).sort(), ['error', 'error_type'], 'error shape');
  t.equal(r.json?.error_type, type);
  if (pattern) t.match(r.json?.error, pattern);
}

export const postText = (port, text, headers = {}) =>
  request(port, { method: 'POST', path: '/', body: text, headers: { 'content-type': 'text/plain', ...headers } });
export const postJson = (port, path, value, headers = {}) =>
  request(port, {
    method: 'POST',
    path,
    body: typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value),
    headers: { 'content-type': 'application/json', ...headers },
  });

/** Parses one HTTP/1.1 response (Content-Length framed) from the front of `buf`; undefined if incomplete. */
export function parseResponse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const len = Number(headers['content-length'] ?? 0);
  if (buf.length < end + 4 + len) return undefined;
  const body = buf.subarray(end + 4, end + 4 + len).toString('utf8');
  let json;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status, headers, body, json, rest: buf.subarray(end + 4 + len) };
}

/**
 * A raw client connection. send() writes bytes; response() waits for the next complete response;
 * closed resolves when the server closes the connection.
 */
export class RawClient {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.isClosed = false;
    this.error = undefined;
    this.waiters = [];
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.#wake();
    });
    socket.on('error', (e) => {
      this.error = e;
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  #wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  send(data) {
    return new Promise((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  /** The next complete response; rejects if the connection closes first or after timeoutMs. */
  async response(timeoutMs = 30_000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = parseResponse(this.buf);
      if (r) {
        this.buf = r.rest;
        return r;
      }
      if (this.isClosed)
        throw new Error(`connection closed before a complete response (got ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))})`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no complete response within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves true when the server closed the connection within timeoutMs. */
  async waitClosed(timeoutMs = 5_000) {
    let timer;
    const r = await Promise.race([
      this.closed.then(() => true),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return r;
  }

  /** Hangs up abruptly (RST when data is unread). */
  destroy() {
    this.socket.destroy();
  }
}

/** Request head for a raw client. */
export function head(method, path, headers = {}) {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

/** One chunk of a chunked body. */
export const chunk = (data) => {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return Buffer.concat([Buffer.from(b.length.toString(16) + '\r\n'), b, Buffer.from('\r\n')]);
};
export const lastChunk = '0\r\n\r\n';

/** GET /metrics parsed: get(name, labels?) sums the samples whose labels include `labels`. */
export async function metrics(port, headers = {}) {
  const r = await request(port, { path: '/metrics', headers });
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  const samples = [];
  for (const line of r.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const [, k, v] of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return {
    text: r.text,
    samples,
    get(name, labels = {}) {
      return samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    },
  };
}

/**
 * The recipe's contract: `curl -X POST -d "TEXT" URL`. Uses the curl binary when there is one;
 * otherwise sends what curl sends (-d: Content-Type application/x-www-form-urlencoded).
 */
export function curlPost(url, text, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-S', '-X', 'POST', '-d', text, '-w', '\n%{http_code}', url], { timeout: timeoutMs }, (err, stdout) => {
      if (err && err.code === 'ENOENT') {
        const u = new URL(url);
        request(Number(u.port), {
          method: 'POST',
          path: u.pathname,
          body: text,
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: '*/*' },
        }).then((r) => resolve({ status: r.status, text: r.text, json: r.json, via: 'http' }), reject);
        return;
      }
      if (err) {
        reject(err);
        return;
      }
      const nl = stdout.lastIndexOf('\n');
      const body = stdout.slice(0, nl);
      let json;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(stdout.slice(nl + 1)), text: body, json, via: 'curl' });
    });
  });
}
