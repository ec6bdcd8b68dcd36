// HTTPS (--tls-cert, --tls-key; src/server/transport/node_https.ts) over real TLS: a self-signed
// certificate made here with openssl, and clients we did not write, each checking it: curl
// --cacert, Node's fetch trusting it through NODE_EXTRA_CA_CERTS (in a child process, as users set
// it), https.request with `ca`, Python's http.client with an ssl context. One request of every route
// family (status, Hugging Face, TEI, OpenAI, the Open Inference Protocol, per model), a large answer
// written with backpressure and a chunked upload through TLS; a plain-HTTP request to the port (400
// saying to use https://) and bytes that are no protocol (closed), the server serving on; then the
// start-up refusals (test/unit/tls-files.test.mjs has every case of the files' checks, and
// transport-select.test.mjs the refusal of --transport uws): exit 1 naming the file, no stack trace.
import t from 'tap';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';

t.setTimeout(180_000);
requireBuilt(testModel('embed'), testModel('qa'));

const dir = mkdtempSync(join(tmpdir(), 'bert-serve-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate for 127.0.0.1 and localhost (an EC key: fast to make), as `openssl req -x509` makes one. */
function makeCertificate(name) {
  const cert = join(dir, `${name}.crt`),
    key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=bert-serve test ${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert,
  ], { stdio: 'pipe' }); // prettier-ignore
  return { cert, key };
}
const main = makeCertificate('server');
const CA = readFileSync(main.cert);

const server = await spawnServer(
  ['--model', `embed=${testModel('embed')}`, '--model', `qa=${testModel('qa')}`, '--tls-cert', main.cert, '--tls-key', main.key],
  { t },
);
const base = `https://127.0.0.1:${server.port}`;

/** One request over TLS, trusting the test's certificate only. Resolves {status, headers, text, json}. */
function request(path, { method = 'GET', body, headers = {}, chunks } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(base + path, { method, headers, ca: CA, agent: false }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    // chunks: the body in several writes, no Content-Length (Transfer-Encoding: chunked).
    if (chunks) for (const c of chunks) req.write(c);
    req.end(body);
  });
}
const post = (path, value) =>
  request(path, { method: 'POST', body: JSON.stringify(value), headers: { 'content-type': 'application/json' } });

const run = (cmd, args, options = {}) =>
  new Promise((resolve) =>
    execFile(cmd, args, { timeout: 30_000, ...options }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
    ),
  );

const question = 'Where does Sarah live?';
const context = 'My name is Sarah and I live in London.';

t.test('the start-up log and /info say HTTPS', async (t) => {
  const listening = server.logs.find((l) => l.msg === 'listening');
  t.match(listening.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const chosen = server.logs.find((l) => /^HTTP transport/.test(l.msg));
  t.match(chosen, { msg: /node:https/, tls: true, certificate: /CN=bert-serve test server/, valid_until: /^\d{4}-/ });
  const info = await request('/info');
  t.match(info.json, { http_transport: 'node', http_implementation: /^node:https \(Node v/ });
});

t.test('every route family over TLS, one request each', async (t) => {
  const checks = [
    ['GET /health', () => request('/health'), (r) => r.status === 200],
    ['GET /ready', () => request('/ready'), (r) => r.status === 200],
    ['GET /metrics', () => request('/metrics'), (r) => r.status === 200 && /bert_serve_/.test(r.text)],
    ['GET /openapi.json', () => request('/openapi.json'), (r) => r.status === 200 && r.json.paths['/v2/models/qa/infer']?.post],
    ['GET /docs', () => request('/docs'), (r) => r.status === 200 && /<html/i.test(r.text)],
    ['POST /models/embed/embed (TEI)', () => post('/models/embed/embed', { inputs: ['hello world'] }), (r) => r.json?.[0]?.length === 32],
    ['POST /models/embed/tokenize', () => post('/models/embed/tokenize', { inputs: 'hello world' }), (r) => Array.isArray(r.json?.[0])],
    ['POST /v1/embeddings (OpenAI)', () => post('/v1/embeddings', { model: 'embed', input: 'hello' }), (r) => r.json?.data?.[0]?.embedding?.length === 32],
    ['POST /models/embed (Hugging Face)', () => post('/models/embed', { inputs: 'hello' }), (r) => r.json?.length === 32],
    ['POST /models/qa (Hugging Face)', () => post('/models/qa', { inputs: { question, context } }), (r) => context.slice(r.json?.start, r.json?.end) === r.json?.answer],
    ['GET /v2/health/ready (Open Inference Protocol)', () => request('/v2/health/ready'), (r) => r.json?.ready === true],
    ['GET /v2/models/qa', () => request('/v2/models/qa'), (r) => r.json?.inputs?.length === 2],
    [
      'POST /v2/models/embed/infer',
      () => post('/v2/models/embed/infer', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['hello'] }] }),
      (r) => r.json?.outputs?.[0]?.shape?.[1] === 32,
    ],
  ]; // prettier-ignore
  for (const [what, send, ok] of checks) {
    const r = await send();
    t.ok(r.status < 400 && ok(r), `${what}: ${r.status} ${r.text.slice(0, 120)}`);
  }
});

t.test('curl --cacert; without it, curl refuses the self-signed certificate', async (t) => {
  const body = JSON.stringify({ inputs: { question, context } });
  const ok = await run('curl', ['-sS', '--cacert', main.cert, '-H', 'content-type: application/json', '-d', body, `${base}/models/qa`]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(JSON.parse(ok.stdout), { answer: String, score: Number });
  const refused = await run('curl', ['-sS', `${base}/health`]);
  t.equal(refused.code, 60, `curl without the CA: exit 60 (peer certificate cannot be authenticated): ${refused.stderr}`);
});

t.test("Node's fetch trusting the certificate through NODE_EXTRA_CA_CERTS", async (t) => {
  const script = `fetch(${JSON.stringify(`${base}/models/embed/embed`)}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":"hello"}' })
    .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() })))`;
  const r = await run(process.execPath, ['-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: main.cert } });
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.equal(out.status, 200);
  t.same(out.body, (await post('/models/embed/embed', { inputs: 'hello' })).json, 'the same vector as https.request gets');
});

t.test("Python's http.client with an ssl context, two requests on one connection", async (t) => {
  const script = `
import http.client, json, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[2]), context=ctx, timeout=30)
body = {"inputs": [{"name": "question", "shape": [1], "datatype": "BYTES", "data": [sys.argv[3]]},
                   {"name": "context", "shape": [1], "datatype": "BYTES", "data": [sys.argv[4]]}]}
c.request("POST", "/v2/models/qa/infer", json.dumps(body), {"Content-Type": "application/json"})
r = c.getresponse()
print(json.dumps({"status": r.status, "body": json.loads(r.read())}))
c.request("GET", "/health")
r = c.getresponse(); r.read()
print(json.dumps({"status": r.status, "version": c.sock.version()}))
`;
  const r = await run(process.env.BERT_SERVE_PYTHON ?? '/usr/bin/python3', [
    '-c',
    script,
    main.cert,
    String(server.port),
    question,
    context,
  ]);
  t.equal(r.code, 0, r.stderr);
  const [infer, health] = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(infer.status, 200);
  t.same(
    infer.body.outputs.map((o) => o.name),
    ['answer', 'score', 'start', 'end'],
  );
  t.same([health.status, health.version], [200, 'TLSv1.3'], 'the same keep-alive connection, TLS 1.3');
});

t.test('a large answer written with backpressure, and a chunked upload, through TLS', async (t) => {
  // /embed_all: 32 texts x their tokens x 32 floats, over a megabyte: written as the client reads it.
  const texts = Array.from({ length: 32 }, (_, i) => `text ${i} ${'river music light house '.repeat(25)}`);
  const all = await post('/models/embed/embed_all', { inputs: texts });
  t.equal(all.status, 200);
  t.ok(all.text.length > 1_000_000, `${all.text.length} bytes`);
  t.equal(all.json.length, 32, 'parsed whole');
  const body = JSON.stringify({ inputs: ['hello world', 'bananas'] });
  const chunked = await request('/models/embed/embed', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    chunks: [body.slice(0, 5), body.slice(5, 20), body.slice(20)],
  });
  t.equal(chunked.status, 200, 'a chunked upload');
  t.same(chunked.json, (await post('/models/embed/embed', { inputs: ['hello world', 'bananas'] })).json);
});

t.test('plain HTTP to the TLS port: 400 saying to use https://; bytes that are no protocol: closed; serving on', async (t) => {
  const plain = await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: '/health', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer')));
    req.on('error', reject);
    req.end();
  });
  t.same(plain, {
    status: 400,
    json: { error: 'this port serves HTTPS, and the request was plain HTTP: use https://', error_type: 'malformed' },
  });
  const viaCurl = await run('curl', ['-sS', '-w', '\n%{http_code}', `http://127.0.0.1:${server.port}/health`]);
  t.match(viaCurl.stdout, /use https:\/\/.*\n400$/s, 'curl http://: the same 400');
  // Not TLS and not an HTTP request line: the connection is closed, nothing written.
  const junk = await new Promise((resolve, reject) => {
    const s = net.connect(server.port, '127.0.0.1', () => s.write('hello there\r\n\r\n'));
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('error', () => {});
    s.on('close', () => resolve(got));
    s.setTimeout(15_000, () => reject(new Error('the connection stayed open')));
  });
  t.equal(junk, '', 'closed without an answer');
  t.equal((await request('/health')).status, 200, 'still serving');
});

t.test('start-up refusals: exit 1 naming the file, no stack trace', async (t) => {
  const other = makeCertificate('other');
  const cases = [
    [['--tls-cert', join(dir, 'missing.crt'), '--tls-key', main.key], /--tls-cert \S+missing\.crt: cannot read it \(ENOENT\)/],
    [
      ['--tls-cert', main.cert, '--tls-key', other.key],
      /--tls-key \S+other\.key is not the key of the certificate in --tls-cert \S+server\.crt/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const s = await spawnServer(['--model', testModel('embed'), ...args], { waitFor: null, t });
    const { code } = await s.exited;
    t.equal(code, 1, `exit 1: ${args.join(' ')}`);
    const error = s.logs.find((l) => l.level === 'error');
    t.match(error, { msg: pattern, code: 'ERR_TLS' });
    t.notMatch(s.stderr, /\n\s+at /, 'no stack trace');
    t.notOk(
      s.logs.some((l) => l.msg === 'loading model'),
      'refused before any model loads',
    );
  }
});
