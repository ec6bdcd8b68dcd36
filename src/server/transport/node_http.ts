// The node:http transport: Node's own HTTP/1.1 server behind the same Wire, for a Node version or
// C library that no uWebSockets.js build on npm supports (or --transport node). Slower per request
// than uWS (docs/http.md#transports has the ratio), identical above the Wire.
//
// What Node's parser (llhttp, strict mode) already decides, measured on Node 20, 22 and 24 and
// relied on here: it refuses two Content-Length lines (even identical ones), a Content-Length
// list or non-digit value, Content-Length together with Transfer-Encoding, Transfer-Encoding
// twice, and any Transfer-Encoding whose last coding is not chunked; those never reach a route.
// They arrive as 'clientError', which is answered here in the server's JSON error shape (400
// malformed, "ambiguous request framing: ...", connection closed) instead of Node's bare 400.
// It accepts `Transfer-Encoding: gzip, chunked` (and decodes the chunking); framing.ts refuses
// that one, as on uWS. A head over MAX_HEADER_BYTES is 431.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import { ServerStartError, reasonPhrase, type Headers, type RequestHead, type Transport, type Wire } from './transport.js';

/** Request line + headers, at most (Node's default, stated): a larger head is answered 431. */
export const MAX_HEADER_BYTES = 16 * 1024;
/**
 * Idle keep-alive connections and connections that stop in the middle of their headers are closed
 * after this long, as uWS's fixed idle timeout does (10 s), so that the transport does not change
 * how long an idle client holds a connection. Checked every CHECK_INTERVAL_MS.
 */
export const IDLE_TIMEOUT_MS = 10_000;
const CHECK_INTERVAL_MS = 1_000;
/**
 * A large answer is handed to the socket in pieces of this size, and the next pieces only once
 * Node's buffer has drained into the kernel: 'drain' is the progress signal that the
 * --send-timeout-ms cut-off is refreshed by, and nothing but the answer itself is held.
 */
const STREAM_PIECE_BYTES = 16 * 1024;

const noop = () => {};

export class NodeHttpTransport implements Transport {
  readonly kind = 'node';
  readonly scheme: Transport['scheme'] = 'http';
  readonly implementation: string = `node:http (Node ${process.version})`;
  #server: http.Server | undefined;

  /** The server that parses the requests: node:http's; node:https's behind TLS (node_https.ts). */
  protected createServer(options: http.ServerOptions, onRequest: http.RequestListener): http.Server {
    return http.createServer(options, onRequest);
  }

  listen(host: string, port: number, onRequest: (wire: Wire) => void): Promise<number> {
    const server = (this.#server = this.createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        // Off (Node's default is 300 s for the whole request): a body is bounded by its rate instead
        // (body_rate.ts, the same rule as on uWS), so a large one that keeps flowing is not cut.
        requestTimeout: 0,
        headersTimeout: IDLE_TIMEOUT_MS,
        keepAliveTimeout: IDLE_TIMEOUT_MS,
        connectionsCheckingInterval: CHECK_INTERVAL_MS,
        noDelay: true,
        // A request without Host is answered by the server in its JSON error shape (RequestHead.missingHost).
        requireHostHeader: false,
      },
      (req, res) => onRequest(new NodeWire(req, res)),
    ));
    // No socket inactivity timeout: a request waiting for the engine is inactive, and is bounded by
    // --request-timeout-ms instead; a stalled answer by --send-timeout-ms.
    server.timeout = 0;
    server.on('clientError', answerClientError);
    // Without a 'connect' listener node:http closes a CONNECT request's connection unanswered
    // (found by the HTTP fuzzer): no route takes CONNECT, so it is 405 like any unknown method.
    server.on('connect', answerConnect);
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        this.#server = undefined;
        reject(new ServerStartError('ERR_LISTEN', `could not listen on ${host}:${port} (${e.code ?? e.message})`));
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  stopListening(): void {
    // The listen socket only. http.Server.close() would also close the keep-alive connections idle
    // now (Node >= 19), and a request racing that close would see a reset; as on uWS, they stay
    // open and a request on them is answered 503 with Connection: close while draining.
    const server = this.#server;
    if (server?.listening) net.Server.prototype.close.call(server);
  }

  closeConnections(): void {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    server.close(); // also stops the timeout checks
    this.#server = undefined;
  }
}

/** llhttp error codes that are about where the body ends. */
const FRAMING_CODES = new Set(['HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_CONTENT_LENGTH', 'HPE_INVALID_TRANSFER_ENCODING']);

/**
 * A request Node's parser refused (or timed out): answered in the server's error shape and the
 * connection closed. Nothing is written when a response is already under way on the connection
 * (a bad request pipelined behind a good one): the connection is just closed.
 */
function answerClientError(err: NodeJS.ErrnoException & { reason?: string }, socket: Socket): void {
  // _httpMessage: the response in progress on this connection (Node's own handler checks it too).
  const res = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  // HPE_INVALID_EOF_STATE: the client closed its side in the middle of a request (a hang-up).
  if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
    socket.destroy();
    return;
  }
  if (res != null) {
    // A request is in progress on this connection and the parser failed after its head: inside
    // its body (a malformed chunk), or on bytes pipelined behind it. That request is still
    // answered (400 when its body was being read), then the connection closed; destroying the
    // socket here lost its answer (found by the HTTP fuzzer).
    const wire = WIRES.get(res);
    if (wire) wire.parserFailed(`malformed request body: ${err.reason ?? err.code ?? 'parse error'}`);
    else socket.destroy();
    return;
  }
  const code = err.code ?? '';
  let status = 400,
    type = 'malformed',
    message = 'malformed request';
  if (FRAMING_CODES.has(code)) message = `ambiguous request framing: ${err.reason ?? code}`;
  else if (code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    type = 'request_header_fields_too_large';
    message = `the request head is over ${MAX_HEADER_BYTES} bytes`;
  }
  // Headers not complete within IDLE_TIMEOUT_MS.
  else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    type = 'timeout';
    message = `the request head did not arrive within ${IDLE_TIMEOUT_MS} ms`;
  } else if (err.reason) message = `malformed request: ${err.reason}`;
  const body = JSON.stringify({ error: message, error_type: type });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
  // A client that does not read must not keep the socket: end() waits for the write to drain.
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
}

/** A CONNECT request (node:http hands it over as a raw socket, not as a request): 405, closed. */
function answerConnect(req: IncomingMessage, socket: Socket): void {
  const body = JSON.stringify({
    error: `method CONNECT is not allowed on ${(req.url ?? '').slice(0, 200)}`,
    error_type: 'method_not_allowed',
  });
  socket.on('error', noop);
  socket.end(
    `HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
}

const EMPTY = new Uint8Array(0);
/** The Wire of each response in progress, for answerClientError. */
const WIRES = new WeakMap<ServerResponse, NodeWire>();

class NodeWire implements Wire {
  readonly head: RequestHead;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  #abortFn: (() => void) | undefined;
  #malformedFn: ((reason: string) => void) | undefined;
  #dataFn: ((chunk: Uint8Array, last: boolean) => void) | undefined;
  /** The body's end was delivered (or can no longer come). */
  #bodyEnded = false;
  #aborted = false;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#req = req;
    this.#res = res;
    WIRES.set(res, this);
    // 'close' follows every response; it is an abort only when the response was not completely
    // handed to the kernel (client hang-up, close(), a forced stop).
    res.once('close', () => {
      if (res.writableFinished) return;
      this.#aborted = true;
      this.#abortFn?.();
    });
    // A hang-up destroys both streams with an error; without listeners it would be thrown.
    req.on('error', noop);
    res.on('error', noop);
    const framingLines: Array<[string, string]> = [];
    let authorizationLines = 0;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (name === 'content-length' || name === 'transfer-encoding') framingLines.push([name, raw[i + 1]]);
      else if (name === 'authorization') authorizationLines++;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.head = {
      method: req.method ?? 'GET',
      url: q >= 0 ? url.slice(0, q) : url,
      contentType: req.headers['content-type'] ?? '',
      contentEncoding: req.headers['content-encoding'] ?? '',
      framingLines,
      authorization: req.headers.authorization ?? '',
      authorizationRepeated: authorizationLines > 1,
      missingHost: req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined,
      origin: req.headers.origin ?? '',
      requestId: one(req.headers['x-request-id']),
      preflightMethod: req.headers['access-control-request-method'] ?? '',
    };
  }

  onAborted(fn: () => void): void {
    this.#abortFn = fn;
  }

  onMalformedBody(fn: (reason: string) => void): void {
    this.#malformedFn = fn;
  }

  /**
   * Node's parser failed on this connection after this request's head: no more bytes of it (or of
   * any later request) can be read. The answer closes the connection; a body being read is
   * malformed (400), a body being discarded ends here.
   */
  parserFailed(reason: string): void {
    this.#res.shouldKeepAlive = false;
    // complete: the parser had read this request whole, so what failed was pipelined behind it.
    if (this.#aborted || this.#bodyEnded || this.#req.complete) return;
    const malformed = this.#malformedFn;
    this.#malformedFn = undefined;
    if (malformed && !this.#res.headersSent) {
      malformed(reason);
      return;
    }
    this.#bodyEnded = true;
    this.#dataFn?.(EMPTY, true);
  }

  onData(fn: (chunk: Uint8Array, last: boolean) => void): void {
    const req = this.#req;
    this.#dataFn = fn;
    req.on('data', (chunk: Buffer) => fn(chunk, false));
    req.once('end', () => {
      if (this.#aborted || this.#bodyEnded) return;
      this.#bodyEnded = true;
      fn(EMPTY, true);
    });
  }

  end(status: number, headers: Headers, body: string | Uint8Array, bodyless: boolean, close: boolean): void {
    const res = this.#res;
    res.writeHead(
      status,
      reasonPhrase(status),
      flatten(headers, typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength, close),
    );
    if (bodyless) res.end();
    else res.end(body);
  }

  stream(status: number, headers: Headers, body: Uint8Array, close: boolean, progress: () => void, finished: () => void): boolean {
    const res = this.#res;
    const total = body.byteLength;
    let held: Uint8Array | undefined = body;
    let offset = 0;
    res.writeHead(status, reasonPhrase(status), flatten(headers, total, close));
    const pump = () => {
      while (held && offset < total) {
        const end = Math.min(offset + STREAM_PIECE_BYTES, total);
        const more = res.write(held.subarray(offset, end));
        offset = end;
        if (!more) return; // continued on 'drain'
      }
      if (held) {
        held = undefined; // every piece is in Node's buffer now, which holds them until written
        res.end();
      }
    };
    res.on('drain', () => {
      if (this.#aborted) return;
      progress();
      pump();
    });
    res.once('finish', () => {
      if (!this.#aborted) finished();
    });
    res.once('close', () => {
      held = undefined;
    });
    pump();
    return false;
  }

  close(): void {
    this.#res.destroy();
  }

  refreshTimeout(): void {
    // Nothing to restart: requestTimeout is off (body_rate.ts bounds bodies) and the socket has no
    // inactivity timeout while a request is open.
  }
}

/** Header pairs as the flat list writeHead takes, with Content-Length (and Connection: close). */
function flatten(headers: Headers, length: number, close: boolean): string[] {
  const out: string[] = [];
  for (const [k, v] of headers) out.push(k, v);
  out.push('Content-Length', String(length));
  if (close) out.push('Connection', 'close');
  return out;
}

/** A header as one string (the typings allow a list for headers node:http does not join). */
function one(v: string | string[] | undefined): string {
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}
