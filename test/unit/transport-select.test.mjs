// Loading uWebSockets.js builds (src/server/transport/uws.ts): each build loads natively or says
// why not, never through the pure-JS fallback; and which transport --transport auto picks follows
// from that. scripts/test-http.sh runs this on Node 20, 22 and 24.
import t from 'tap';
import { join } from 'node:path';
import { report } from 'node:process';
import { root } from '../helpers/server.mjs';

const { UWS_BUILDS, loadUwsBuild } = await import(join(root, 'dist', 'server', 'transport', 'uws.js'));
const { selectTransport } = await import(join(root, 'dist', 'server', 'transport', 'select.js'));
const { Logger } = await import(join(root, 'dist', 'logger.js'));

const glibc = report.getReport().header.glibcVersionRuntime;
const abi = Number(process.versions.modules);

t.test('the pinned build loads natively exactly on the ABIs it ships (Node 16, 18, 20)', async (t) => {
  const r = loadUwsBuild(UWS_BUILDS[0]);
  if ([93, 108, 115].includes(abi)) {
    t.ok(r.ok, r.reason);
    t.type(r.uws.App, 'function', 'the native module');
    t.type(r.uws.getParts, 'function', 'not the pure-JS fallback (which lacks getParts)');
  } else {
    t.notOk(r.ok);
    t.equal(r.reason, `no binary for linux-x64 and Node ABI ${abi} (Node ${process.version})`);
  }
});

t.test('the alternative build needs glibc 2.38', async (t) => {
  const r = loadUwsBuild(UWS_BUILDS[1]);
  const [major, minor] = glibc.split('.').map(Number);
  if (major > 2 || (major === 2 && minor >= 38)) {
    t.ok(r.ok, r.reason);
  } else {
    t.notOk(r.ok, `glibc ${glibc}`);
    t.match(r.reason, /GLIBC_2\.38' not found/, 'the loader says what is missing');
  }
});

t.test('a build that is not installed, or has no binary here, says so', async (t) => {
  t.same(loadUwsBuild({ ...UWS_BUILDS[0], name: 'no-such-uws-package' }), {
    ok: false,
    build: { ...UWS_BUILDS[0], name: 'no-such-uws-package' },
    reason: 'not installed',
  });
  const r = loadUwsBuild({ ...UWS_BUILDS[0], binaries: '../no-binaries-here' });
  t.notOk(r.ok);
  t.match(r.reason, /^no binary for linux-x64 and Node ABI \d+/);
});

t.test('selectTransport: auto takes the first native build, else node:http at warn; uws refuses; node is node', async (t) => {
  const lines = [];
  const logger = new Logger({ level: 'info', format: 'json', write: (l) => lines.push(JSON.parse(l)) });
  const anyLoads = UWS_BUILDS.some((b) => loadUwsBuild(b).ok);
  // Plain HTTP (no --tls-cert): the HTTPS choices are test/e2e/http-tls.test.mjs's.
  const mode = (transport) => ({ transport, tlsCert: '', tlsKey: '' });
  t.equal(selectTransport(mode('auto'), logger).kind, anyLoads ? 'uws' : 'node');
  t.equal(lines.at(-1).level, anyLoads ? 'info' : 'warn');
  t.equal(selectTransport(mode('node'), logger).kind, 'node');
  if (anyLoads) {
    t.equal(selectTransport(mode('uws'), logger).kind, 'uws');
  } else {
    t.throws(() => selectTransport(mode('uws'), logger), { code: 'ERR_NO_UWS', message: /--transport auto \(or node\)/ });
  }
});

t.test('selectTransport with --tls-cert and --tls-key: node:https for node and auto, uws refused; the files checked first', async (t) => {
  const lines = [];
  const logger = new Logger({ level: 'info', format: 'json', write: (l) => lines.push(JSON.parse(l)) });
  t.throws(() => selectTransport({ transport: 'uws', tlsCert: 'cert.pem', tlsKey: 'key.pem' }, logger), {
    code: 'ERR_TLS',
    message:
      /^--transport uws does not serve HTTPS here: with --tls-cert and --tls-key start with --transport node \(the default\) or auto/,
  });
  for (const transport of ['node', 'auto'])
    t.throws(() => selectTransport({ transport, tlsCert: '/nonexistent/cert.pem', tlsKey: '/nonexistent/key.pem' }, logger), {
      code: 'ERR_TLS',
      message: /^--tls-cert \/nonexistent\/cert\.pem: cannot read it \(ENOENT\)$/,
    });
  t.same(lines, [], 'nothing logged before the checks pass');
});
