// HTTPS: TLS terminated by the server itself (--tls-cert, --tls-key), for deployments with nothing
// in front to do it (a cluster without a mesh, a laptop demo, a compliance rule that traffic is
// encrypted up to the process). node:https's server is node:http's behind a TLS socket, so this
// transport is NodeHttpTransport (node_http.ts: the same parser, Wire, timeouts and error answers)
// with three additions: the certificate and key, read and checked once at start-up (each refusal
// names its file); the handshake bounded by the same 10 s as an idle connection; and an answer to a
// plain-HTTP request sent to the TLS port (a 400 that says to use https://, as nginx answers it)
// instead of a connection closed without a word. No client certificates: a proxy or mesh that
// needs them terminates TLS itself.
import https from 'node:https';
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IDLE_TIMEOUT_MS, NodeHttpTransport } from './node_http.js';
import { ServerStartError } from './transport.js';

/** The certificate and key as loaded, with what the start-up log says of them. */
export interface TlsIdentity {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The certificate's subject, e.g. "CN=localhost". */
  readonly subject: string;
  readonly validTo: Date;
}

const refuse = (message: string) => new ServerStartError('ERR_TLS', message);

/** A library's reason in one line: the error code when it has one (ENOENT, ERR_MISSING_PASSPHRASE), else its message. */
const reason = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String((e as Error).message).split('\n')[0];

function read(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw refuse(`${flag} ${path}: cannot read it (${reason(e)})`);
  }
}

/**
 * Reads and checks --tls-cert and --tls-key: both given, readable, a PEM certificate (the first of a
 * chain is the server's) and an unencrypted PEM private key, the one of that certificate. Throws
 * ServerStartError ERR_TLS naming the flag and the file.
 */
export function loadTls(certPath: string, keyPath: string): TlsIdentity {
  if (certPath === '' || keyPath === '')
    throw refuse(
      `HTTPS needs both --tls-cert and --tls-key; only ${certPath === '' ? `--tls-key ${keyPath}` : `--tls-cert ${certPath}`} is set`,
    );
  const cert = read('--tls-cert', certPath);
  const key = read('--tls-key', keyPath);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw refuse(`--tls-cert ${certPath} is not a PEM certificate (${reason(e)})`);
  }
  // OpenSSL's own error for a key it cannot decrypt names no cause (ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED).
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(key.toString('latin1')))
    throw refuse(
      `--tls-key ${keyPath} is encrypted, and no passphrase is taken: decrypt it (openssl pkey -in KEY -out PLAIN) and keep the result readable by the server only`,
    );
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw refuse(`--tls-key ${keyPath} is not an unencrypted PEM private key (${reason(e)})`);
  }
  if (!x509.checkPrivateKey(privateKey))
    throw refuse(`--tls-key ${keyPath} is not the key of the certificate in --tls-cert ${certPath} (${x509.subject.replace(/\n/g, ', ')})`);
  return { cert, key, subject: x509.subject.replace(/\n/g, ', '), validTo: new Date(x509.validTo) };
}

const PLAIN_HTTP_BODY = JSON.stringify({
  error: 'this port serves HTTPS, and the request was plain HTTP: use https://',
  error_type: 'malformed',
});
const PLAIN_HTTP_ANSWER =
  `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(PLAIN_HTTP_BODY)}\r\n` +
  `Connection: close\r\n\r\n${PLAIN_HTTP_BODY}`;

/**
 * A connection whose TLS handshake failed. OpenSSL recognizes a plain-HTTP request line (GET, POST,
 * HEAD, PUT) where a handshake should be (ERR_SSL_HTTP_REQUEST): it is answered in plain HTTP on the
 * connection under the TLS socket (node:tls keeps it as `_parent`), then closed. Anything else (a
 * client that does not trust the certificate, another protocol, a handshake not done within 10 s)
 * is closed, as node:https does.
 */
function answerTlsError(err: NodeJS.ErrnoException, socket: TLSSocket): void {
  const raw = (socket as TLSSocket & { _parent?: Socket })._parent;
  if (err.code !== 'ERR_SSL_HTTP_REQUEST' || !raw?.writable) {
    socket.destroy();
    return;
  }
  raw.on('error', () => raw.destroy());
  raw.end(PLAIN_HTTP_ANSWER);
  // A client that does not read must not keep the socket: end() waits for the write to drain.
  raw.setTimeout(IDLE_TIMEOUT_MS, () => raw.destroy());
}

export class NodeHttpsTransport extends NodeHttpTransport {
  override readonly scheme = 'https';
  override readonly implementation = `node:https (Node ${process.version})`;
  readonly #tls: TlsIdentity;

  constructor(tls: TlsIdentity) {
    super();
    this.#tls = tls;
  }

  protected override createServer(options: http.ServerOptions, onRequest: http.RequestListener): http.Server {
    const server = https.createServer(
      { ...options, cert: this.#tls.cert, key: this.#tls.key, handshakeTimeout: IDLE_TIMEOUT_MS },
      onRequest,
    );
    server.on('tlsClientError', answerTlsError);
    return server;
  }
}
