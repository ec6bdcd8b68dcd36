// Every common client reads the 413 for a body over --max-body-bytes, with bodies of several MB:
// curl (with and without Expect: 100-continue), Node fetch (undici) and Python's http.client.
// The server discards the rest of the body before answering and closing; closing with unread
// bytes would reset the connection under clients that are still writing.
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeServer } from '../helpers/fake-server.mjs';
import { request } from '../helpers/http.mjs';

const PYTHON = process.env.BERT_SERVE_PYTHON ?? '/usr/bin/python3';
const MB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'bert-serve-413-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const run = (cmd, args, input) =>
  new Promise((resolve, reject) => {
    const p = execFile(cmd, args, { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stderr })) : resolve(stdout),
    );
    if (input !== undefined) p.stdin.end(input);
  });

const PY = `
import http.client, sys
port, size, chunked = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == '1'
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=20)
body = b'x' * size
if chunked:
    conn.request('POST', '/', body=iter([body[i:i + 65536] for i in range(0, size, 65536)]), headers={'Content-Type': 'text/plain'}, encode_chunked=True)
else:
    conn.request('POST', '/', body=body, headers={'Content-Type': 'text/plain'})
r = conn.getresponse()
print(r.status, r.read().decode())
`;

const server = await startFakeServer(t, { maxBodyBytes: 64 * 1024 });
const url = `http://127.0.0.1:${server.port}/`;

for (const size of [3 * MB, 8 * MB]) {
  const file = join(dir, `body-${size}`);
  writeFileSync(file, Buffer.alloc(size, 'x'));

  t.test(`${size / MB} MB body`, async (t) => {
    const curl = await run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', '--data-binary', `@${file}`, url]);
    t.match(curl, /payload_too_large[\s\S]*\n413$/, 'curl (Expect: 100-continue)');
    const curlNoExpect = await run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', '-H', 'Expect:', '--data-binary', `@${file}`, url]);
    t.match(curlNoExpect, /payload_too_large[\s\S]*\n413$/, 'curl without 100-continue');

    const res = await fetch(url, { method: 'POST', body: Buffer.alloc(size, 'x'), headers: { 'content-type': 'text/plain' } });
    t.equal(res.status, 413, 'Node fetch (undici)');
    t.equal((await res.json()).error_type, 'payload_too_large');

    for (const chunked of [false, true]) {
      const out = await run(PYTHON, ['-c', PY, String(server.port), String(size), chunked ? '1' : '0']);
      t.match(out, /^413 .*payload_too_large/, `Python http.client${chunked ? ', chunked' : ''}`);
    }
  });
}

t.test('still serving, nothing left in flight', async (t) => {
  t.equal((await request(server.port, { path: '/health' })).status, 200);
  t.equal(server.inFlight, 0);
});
