// Exchange: one HTTP request/response pair, made safe to use across awaits, over a transport's
// Wire (transport/transport.ts: uWebSockets.js or node:http; nothing here knows which).
//
// Contract: the constructor registers the abort handler FIRST, then reads the head the Wire
// copied. Every response goes through send(), which does nothing once the client has gone
// (`aborted`) or an answer was already decided (`finished`): a dead or ended response is never
// touched. JS thread only.
//
// How an answer is written (send):
// - When a request body is still unread, it is read and discarded first (linger.ts, bounded in
//   bytes and time): closing with unread bytes makes the kernel reset the connection, and clients
//   that write their whole body before reading (Node fetch, Python http.client) would never see
//   the answer.
// - Small answers are written at once (Wire.end). Large ones are written as the client reads them
//   (send_stream.ts): the Buffer is held only until the client has read it, and a client that
//   reads nothing for --send-timeout-ms is disconnected and the Buffer released.
import { performance } from 'node:perf_hooks';
import { parseFraming } from './framing.js';
import { discardBody } from './linger.js';
import { streamAnswer, STREAM_THRESHOLD_BYTES } from './send_stream.js';
import type { Headers, Wire } from './transport/transport.js';

export type { Headers } from './transport/transport.js';

/** What the server provides to each exchange (implemented by Server). */
export interface ExchangeHost {
  /** Draining: every answer closes its connection. */
  readonly draining: boolean;
  /** How long a client may accept no bytes of a large answer before it is disconnected (ms). */
  readonly sendTimeoutMs: number;
  exchangeStarted(ex: Exchange): void;
  /** Called once per exchange: when its response is written, or when its client went away. */
  exchangeEnded(ex: Exchange, status: number | undefined): void;
}

export const JSON_HEADERS: Headers = [['Content-Type', 'application/json']];

/** What the exchange is waiting on (metrics label when its client goes away). */
export type Stage = 'start' | 'body' | 'engine' | 'send';

export class Exchange {
  readonly wire: Wire;
  readonly host: ExchangeHost;
  readonly start = performance.now();
  readonly method: string;
  readonly url: string;
  /** Media type without parameters, lower case ('' when absent). */
  readonly mediaType: string;
  /** The charset parameter of Content-Type, lower case ('' when absent). */
  readonly charset: string;
  readonly contentEncoding: string;
  /** Declared Content-Length; undefined when absent. */
  readonly contentLength: number | undefined;
  readonly chunked: boolean;
  /** Why the request's framing is refused (answered 400 by the server before any route runs). */
  readonly framingError: string | undefined;
  /** Metrics label: the matched route, or "other". */
  route = 'other';
  stage: Stage = 'start';
  /** Set once the whole request body has been received (read or discarded). */
  bodyConsumed = false;
  aborted = false;
  /** An answer was decided: nothing else may be written (it may still be lingering or streaming). */
  finished = false;
  status: number | undefined;
  #ended = false;
  #abortListeners: Array<() => void> = [];
  #goneListeners: Array<() => void> = [];
  #bodyHandler: ((chunk: Uint8Array, last: boolean) => void) | undefined;
  #bodyListening = false;

  constructor(wire: Wire, host: ExchangeHost) {
    // FIRST: from here on, a hang-up is seen (uWS: returning from the handler unanswered is legal).
    wire.onAborted(() => this.#onAborted());
    this.wire = wire;
    this.host = host;
    const { method, url, contentType: ct, contentEncoding: ce, framingLines } = wire.head;
    this.method = method;
    this.url = url;
    const semi = ct.indexOf(';');
    this.mediaType = (semi >= 0 ? ct.slice(0, semi) : ct).trim().toLowerCase();
    const cs = semi >= 0 ? /(?:^|;)\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(ct.slice(semi)) : null;
    this.charset = cs ? cs[1].toLowerCase() : '';
    this.contentEncoding = ce.trim().toLowerCase();
    const framing = parseFraming(framingLines);
    this.contentLength = framing.contentLength;
    this.chunked = framing.chunked;
    this.framingError = framing.error;
    host.exchangeStarted(this);
  }

  /** True when the request carries a body (or may: the transport frames a refused framing its own way). */
  get hasBody(): boolean {
    return this.chunked || (this.contentLength !== undefined && this.contentLength !== 0) || this.framingError !== undefined;
  }

  /** Gone or answered: nothing more may be written. */
  get done(): boolean {
    return this.aborted || this.finished;
  }

  /** Runs `fn` when the client goes away before an answer was decided (at once if it already has). */
  onAbort(fn: () => void): void {
    if (this.aborted) fn();
    else if (!this.finished) this.#abortListeners.push(fn);
  }

  /**
   * Runs `fn` when the client goes away before the response is completely written, also after an
   * answer was decided (a lingering or streaming answer releases its timers and Buffer here).
   */
  onGone(fn: () => void): void {
    if (this.aborted) fn();
    else if (!this.#ended) this.#goneListeners.push(fn);
  }

  /** An AbortSignal that fires when the client goes away. */
  signal(): AbortSignal {
    const controller = new AbortController();
    this.onAbort(() => controller.abort());
    return controller.signal;
  }

  /**
   * Receives the request body. The Wire takes one data handler, so this registers it once and
   * later calls only swap the function (reading -> discarding). Must be called synchronously in
   * the request handler or before the body arrives: uWS drops body bytes nobody listens for. A
   * chunk is valid only during the call.
   */
  onBody(handler: (chunk: Uint8Array, last: boolean) => void): void {
    this.#bodyHandler = handler;
    if (this.#bodyListening) return;
    this.#bodyListening = true;
    this.wire.onData((chunk, last) => {
      if (this.aborted) return;
      if (last) this.bodyConsumed = true;
      this.#bodyHandler?.(chunk, last);
    });
  }

  /**
   * Answers. close: end the connection after it (always while draining). An unread request body
   * is discarded first (bounded); if that stops short, the connection is closed too. Returns false
   * when nothing will be written (client gone, or already answered).
   */
  send(status: number, body: string | Uint8Array, headers: Headers = JSON_HEADERS, close = false): boolean {
    if (this.aborted || this.finished) return false;
    this.finished = true;
    this.status = status;
    this.#abortListeners = [];
    if (this.hasBody && !this.bodyConsumed) {
      this.stage = 'body';
      discardBody(this, (complete) => this.#write(status, body, headers, close || !complete));
    } else {
      this.#write(status, body, headers, close);
    }
    return true;
  }

  sendJson(status: number, body: string | Uint8Array, extra?: Headers, close = false): boolean {
    return this.send(status, body, extra ? [...JSON_HEADERS, ...extra] : JSON_HEADERS, close);
  }

  /** `{"error": message, "error_type": type}`. */
  sendError(status: number, type: string, message: string, extra?: Headers, close = false): boolean {
    return this.sendJson(status, JSON.stringify({ error: message, error_type: type }), extra, close);
  }

  /** Milliseconds since the request arrived. */
  elapsedMs(): number {
    return performance.now() - this.start;
  }

  /** Marks the response fully written (or abandoned); reports it once. */
  ended(status: number | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    if (status !== undefined) this.#goneListeners = [];
    this.host.exchangeEnded(this, status);
  }

  #write(status: number, body: string | Uint8Array, headers: Headers, close: boolean): void {
    if (this.aborted) return;
    const closeConnection = close || this.host.draining;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (this.method !== 'HEAD' && length > STREAM_THRESHOLD_BYTES) {
      this.stage = 'send';
      streamAnswer(this, status, headers, typeof body === 'string' ? Buffer.from(body) : body, closeConnection);
      return;
    }
    this.wire.end(status, headers, body, this.method === 'HEAD', closeConnection);
    this.ended(status);
  }

  #onAborted(): void {
    if (this.aborted || this.#ended) return;
    this.aborted = true;
    this.#bodyHandler = undefined;
    const listeners = [...this.#abortListeners, ...this.#goneListeners];
    this.#abortListeners = [];
    this.#goneListeners = [];
    for (const fn of listeners) {
      try { fn(); } catch { /* a listener must not stop the others */ }
    }
    this.ended(undefined);
  }
}
