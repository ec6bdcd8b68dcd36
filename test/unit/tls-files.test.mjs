// --tls-cert and --tls-key read and checked before the port opens (src/server/transport/node_https.ts
// loadTls): every refusal is ERR_TLS naming the flag and the file; a chain (the server's certificate
// then an intermediate) and the key formats openssl writes are accepted. Certificates made here with
// openssl; the server over real TLS is test/e2e/http-tls.test.mjs.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { loadTls } = await import(join(root, 'dist', 'server', 'transport', 'node_https.js'));

const dir = mkdtempSync(join(tmpdir(), 'bert-serve-tls-files-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
const path = (name) => join(dir, name);

function makeCertificate(name, keyArgs) {
  openssl(
    'req',
    '-x509',
    '-newkey',
    ...keyArgs,
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    path(`${name}.key`),
    '-out',
    path(`${name}.crt`),
  );
  return { cert: path(`${name}.crt`), key: path(`${name}.key`) };
}
const ec = makeCertificate('ec', ['ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']);
const other = makeCertificate('other', ['ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']);

t.test('accepted: an EC key, an RSA key in PKCS#1, a chain; the subject and the end of validity', async (t) => {
  const got = loadTls(ec.cert, ec.key);
  t.match(got, { subject: 'CN=ec', validTo: Date });
  t.ok(got.validTo.getTime() > Date.now(), 'valid for two days');
  const rsa = makeCertificate('rsa', ['rsa:2048']);
  openssl('rsa', '-in', rsa.key, '-traditional', '-out', path('rsa-pkcs1.key'));
  t.match(readFileSync(path('rsa-pkcs1.key'), 'utf8'), /BEGIN RSA PRIVATE KEY/);
  t.equal(loadTls(rsa.cert, path('rsa-pkcs1.key')).subject, 'CN=rsa');
  writeFileSync(path('chain.crt'), readFileSync(ec.cert) + readFileSync(other.cert));
  t.equal(loadTls(path('chain.crt'), ec.key).subject, 'CN=ec', "the chain's first certificate is the server's");
});

t.test('refused, naming the flag and the file', async (t) => {
  mkdirSync(path('a-directory'));
  writeFileSync(path('text.pem'), 'not a certificate\n');
  openssl('pkey', '-in', ec.key, '-aes256', '-passout', 'pass:secret', '-out', path('encrypted.key'));
  const cases = [
    [[ec.cert, ''], /^HTTPS needs both --tls-cert and --tls-key; only --tls-cert \S+ec\.crt is set$/],
    [['', ec.key], /^HTTPS needs both --tls-cert and --tls-key; only --tls-key \S+ec\.key is set$/],
    [[path('missing.crt'), ec.key], /^--tls-cert \S+missing\.crt: cannot read it \(ENOENT\)$/],
    [[ec.cert, path('a-directory')], /^--tls-key \S+a-directory: cannot read it \(EISDIR\)$/],
    [[path('text.pem'), ec.key], /^--tls-cert \S+text\.pem is not a PEM certificate \(/],
    [[ec.key, ec.key], /^--tls-cert \S+ec\.key is not a PEM certificate/],
    [[ec.cert, ec.cert], /^--tls-key \S+ec\.crt is not an unencrypted PEM private key/],
    [[ec.cert, path('encrypted.key')], /^--tls-key \S+encrypted\.key is encrypted, and no passphrase is taken: decrypt it/],
    [[ec.cert, other.key], /^--tls-key \S+other\.key is not the key of the certificate in --tls-cert \S+ec\.crt \(CN=ec\)$/],
  ];
  for (const [[cert, key], message] of cases)
    t.throws(() => loadTls(cert, key), { name: 'ServerStartError', code: 'ERR_TLS', message }, `${cert} ${key}`);
});
