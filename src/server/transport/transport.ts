// The seam between the HTTP library and everything above it. A Transport owns the listen socket
// and the connections; per request it hands the server a Wire: the request's head, its body as it
// arrives, and the few ways to answer. Exchange (../exchange.ts) is written against Wire only, so
// routes, admission, lingering discard and streamed answers are the same code on uWebSockets.js
// (uws.ts) and on node:http (node_http.ts). JS thread only.
import { STATUS_CODES } from 'node:http';

export type Headers = ReadonlyArray<readonly [string, string]>;

/** Which HTTP implementation serves: a native uWebSockets.js build, or Node's own http module. */
export type TransportKind = 'uws' | 'node';

/** What the server reads from a request's head, copied out before the request handler returns. */
export interface RequestHead {
  /** As sent (node:http upper-cases the methods it knows and refuses the others). */
  readonly method: string;
  /** The path, without the query string. */
  readonly url: string;
  /** Content-Type as sent ('' when absent). */
  readonly contentType: string;
  /** Content-Encoding as sent ('' when absent). */
  readonly contentEncoding: string;
  /** Every Content-Length and Transfer-Encoding line, names lower case, in order (framing.ts). */
  readonly framingLines: ReadonlyArray<readonly [string, string]>;
  /** Access headers as sent ('' when absent): Authorization, Origin, x-request-id, Access-Control-Request-Method. */
  readonly authorization: string;
  /**
   * More than one Authorization line. The two libraries keep different ones (uWS the last,
   * node:http the first), so such a request is refused rather than read either way (auth.ts).
   */
  readonly authorizationRepeated: boolean;
  /**
   * An HTTP/1.1 request without Host, which RFC 9112 says to answer 400. node:http's own answer
   * would be a bare 400 without the JSON body, so it is left to the server (uWS closes such a
   * connection in its parser: docs/http.md).
   */
  readonly missingHost: boolean;
  readonly origin: string;
  readonly requestId: string;
  readonly preflightMethod: string;
}

export interface Wire {
  readonly head: RequestHead;
  /**
   * Registers the one function run when the connection closes before the response was completely
   * written (client hang-up, close(), a forced stop). Exchange registers it first, once.
   */
  onAborted(fn: () => void): void;
  /**
   * Registers the one body handler: chunks as they arrive, then `last` once (with the last bytes,
   * or none). A chunk is only valid during the call (uWS reuses its memory): copy what you keep.
   * Must be registered before the body arrives (uWS drops bytes nobody listens for).
   */
  onData(fn: (chunk: Uint8Array, last: boolean) => void): void;
  /**
   * Registers what to do when the body turns out malformed (a bad chunk size line): no more body
   * will come, and the connection can carry one answer before it is closed. node:http only: uWS
   * closes such a connection itself (docs/http.md).
   */
  onMalformedBody(fn: (reason: string) => void): void;
  /**
   * Writes a whole answer at once. bodyless: a HEAD answer (headers and the length, no body).
   * close: end the connection after it.
   */
  end(status: number, headers: Headers, body: string | Uint8Array, bodyless: boolean, close: boolean): void;
  /**
   * Writes a large answer as fast as the client reads it, holding `body` (no copy) until the last
   * byte is handed to the kernel or the client goes away. Returns true when it was all written at
   * once; otherwise calls progress() whenever the client has accepted more bytes and finished()
   * after the last one (neither is called after an abort).
   */
  stream(status: number, headers: Headers, body: Uint8Array, close: boolean, progress: () => void, finished: () => void): boolean;
  /** Closes the connection now; runs the onAborted function if the response was not complete. */
  close(): void;
  /**
   * Restarts the library's own inactivity timer for this connection, while a body arrives at the
   * rate body_rate.ts accepts (uWS; node:http has no such timer during a body).
   */
  refreshTimeout(): void;
}

export interface Transport {
  readonly kind: TransportKind;
  /** https when the transport terminates TLS itself (--tls-cert, node_https.ts). */
  readonly scheme: 'http' | 'https';
  /** For logs and /info: the package that serves, e.g. "uWebSockets.js@20.30.0-unofficial.0". */
  readonly implementation: string;
  /** Opens the port; resolves with the port number, rejects with ServerStartError. */
  listen(host: string, port: number, onRequest: (wire: Wire) => void): Promise<number>;
  /** Closes the listen socket (new connections are refused); open connections stay. */
  stopListening(): void;
  /** Closes every connection that is still open. */
  closeConnections(): void;
}

/** The status line's reason phrase; 499 (ERR_CANCELLED) is nginx's, which Node does not know. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? (status === 499 ? 'Client Closed Request' : 'Unknown');
}

/** Startup problems that are not engine errors (no HTTP transport, port not available). */
export class ServerStartError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ServerStartError';
    this.code = code;
  }
}
