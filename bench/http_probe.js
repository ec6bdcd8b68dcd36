#!/usr/bin/env node
// Probes what the pinned uWebSockets.js build does with requests it may not hand to bert-serve:
// HTTP/1.0 and malformed request lines, idle and half-sent connections, header blocks over 4 KiB
// split across TCP segments, pipelining behind an asynchronous answer, ambiguous framing. A bare
// uWS app on 127.0.0.1 (no model) answers every request it sees; each case says what the client
// got and when the server closed the connection. docs/http.md quotes the results.
//
//   node bench/http_probe.js            every case, waiting up to 15 s for each close
//   node bench/http_probe.js 3000 http10,pipelineAsync
//   node bench/http_probe.js cost 2000  what N HTTP/1.0 connections cost a uWS server process
//                                       (RSS) and how long until it closes them all
import net from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const uws = createRequire(import.meta.url)('uWebSockets.js');
if (typeof uws.getParts !== 'function') throw new Error('uWebSockets.js native module not loaded');
if (process.argv[2] === 'cost') {
  await cost(Number(process.argv[3] ?? 2000));
  process.exit(0);
}
const waitMs = Number(process.argv[2] ?? 15_000);
const big = (n) => 'a'.repeat(n);

const CASES = {
  http11: ['GET /x HTTP/1.1\r\nHost: a\r\n\r\n'],
  http10: ['GET /x HTTP/1.0\r\nHost: a\r\n\r\n'],
  http09: ['GET /x\r\n\r\n'],
  garbage: ['GARBAGE\r\n\r\n'],
  extraToken: ['GET /x HTTP/1.1 extra\r\nHost: a\r\n\r\n'],
  idle: [''],
  halfHeaders: ['GET /x HTTP/1.1\r\n'],
  headers6kOneSegment: [`GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ${big(6000)}\r\n\r\n`],
  headers20kOneSegment: [`GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ${big(20000)}\r\n\r\n`],
  headers3kTwoSegments: [`GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ${big(2000)}`, `${big(1000)}\r\n\r\n`],
  headers5kTwoSegments: [`GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ${big(2500)}`, `${big(2500)}\r\n\r\n`],
  pipelineSync: ['GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n'],
  pipelineAsync: ['POST /async HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: a\r\n\r\n'],
  twoContentLengths: ['POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde'],
  teGzipChunked: ['POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
  teChunkedAndLength: ['POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
  teIdentity: ['POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc'],
};

const seen = [];
const app = uws.App();
app.any('/*', (res, req) => {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
    seen.push('aborted');
  });
  const url = req.getUrl();
  const headers = [];
  req.forEach((k, v) => headers.push(`${k}: ${v.length > 20 ? v.slice(0, 20) + '...' : v}`));
  seen.push(`${req.getMethod()} ${url} [${headers.join('; ')}]`);
  let n = 0;
  res.onData((chunk, last) => {
    n += chunk.byteLength;
    if (!last) return;
    const answer = () => {
      if (!aborted) res.cork(() => res.end(`${url} body=${n}`));
    };
    if (url === '/async') setTimeout(answer, 100);
    else answer();
  });
});

function probe(port, parts) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const t0 = Date.now();
    let got = '';
    let done = false;
    const finish = (closedMs) => {
      if (done) return;
      done = true;
      s.destroy();
      const statuses = [...got.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
      resolve({ answers: statuses.join(',') || 'none', closedMs });
    };
    s.on('data', (d) => {
      got += d.toString('latin1');
    });
    s.on('error', () => {});
    s.on('close', () => finish(Date.now() - t0));
    s.on('connect', async () => {
      for (const p of parts) {
        if (p) s.write(p);
        if (parts.length > 1) await new Promise((r) => setTimeout(r, 50)); // separate segments
      }
    });
    setTimeout(() => finish(`open after ${waitMs}`), waitMs);
  });
}

app.listen('127.0.0.1', 0, async (listenSocket) => {
  const port = uws.us_socket_local_port(listenSocket);
  const only = process.argv[3]?.split(',');
  console.log('| case | answers | closed by the server after (ms) |');
  console.log('|---|---|---|');
  const results = await Promise.all(
    Object.entries(CASES)
      .filter(([k]) => !only || only.includes(k))
      .map(async ([name, parts]) => {
        const r = await probe(port, parts);
        return { name, ...r };
      }),
  );
  for (const r of results) console.log(`| ${r.name} | ${r.answers} | ${r.closedMs} |`);
  console.log(`\nhandler saw: ${seen.join(' / ')}`);
  uws.us_listen_socket_close(listenSocket);
  process.exit(0);
});

/** N connections that send an HTTP/1.0 request, to a uWS server in its own process. */
async function cost(n) {
  const code = `const uws = require(${JSON.stringify(createRequire(import.meta.url).resolve('uWebSockets.js'))});
    const app = uws.App(); app.any('/*', (res) => res.end('ok'));
    app.listen('127.0.0.1', 0, (ls) => console.log(uws.us_socket_local_port(ls)));`;
  const srv = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${srv.pid}/status`, 'utf8'))[1]);
  const port = await new Promise((r) => srv.stdout.once('data', (d) => r(Number(String(d)))));
  await new Promise((r) => setTimeout(r, 300));
  const before = rssKiB();
  const t0 = Date.now();
  let closed = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => {
      closed++;
    });
    s.write('GET / HTTP/1.0\r\nHost: a\r\n\r\n');
  }
  await new Promise((r) => setTimeout(r, 1500));
  const held = rssKiB();
  while (closed < n && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
  console.log(
    JSON.stringify({
      connections: n,
      rssBeforeKiB: before,
      rssHeldKiB: held,
      bytesPerConnection: Math.round(((held - before) * 1024) / n),
      allClosedAfterMs: Date.now() - t0,
      closed,
    }),
  );
  srv.kill();
}
