// Exchange: one HTTP request/response pair on uWebSockets.js, made safe to use across awaits.
//
// Contract (PITFALLS 1-5): the constructor registers onAborted FIRST, synchronously, then copies
// every header and the URL that any route needs (uWS's HttpRequest is stack-allocated and dies when
// the handler returns). After that, nothing touches `req`. Every response goes through send(),
// which writes status, headers and body inside ONE res.cork() and does nothing once the client has
// gone (`aborted`) or the response was already ended (`finished`): a dead or finished HttpResponse
// is never touched. JS thread only.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';

/** What the server provides to each exchange (implemented by Server). */
export interface ExchangeHost {
  /** Draining: every answer closes its connection. */
  readonly draining: boolean;
  exchangeStarted(ex: Exchange): void;
  /** Called once per exchange: when its response is written, or when its client went away. */
  exchangeEnded(ex: Exchange, status: number | undefined): void;
}

export type Headers = ReadonlyArray<readonly [string, string]>;

const STATUS_LINE = new Map<number, string>();
function statusLine(status: number): string {
  let line = STATUS_LINE.get(status);
  if (!line) {
    line = `${status} ${STATUS_CODES[status] ?? (status === 499 ? 'Client Closed Request' : 'Unknown')}`;
    STATUS_LINE.set(status, line);
  }
  return line;
}

const JSON_HEADERS: Headers = [['Content-Type', 'application/json']];

export class Exchange {
  readonly res: HttpResponse;
  readonly host: ExchangeHost;
  readonly start = performance.now();
  readonly method: string;
  readonly url: string;
  /** Media type without parameters, lower case ('' when absent). */
  readonly mediaType: string;
  /** The charset parameter of Content-Type, lower case ('' when absent). */
  readonly charset: string;
  readonly contentEncoding: string;
  /** Declared Content-Length; undefined when absent, NaN when unparsable. */
  readonly contentLength: number | undefined;
  readonly chunked: boolean;
  /** Metrics label: the matched route, or "other". */
  route = 'other';
  /** What the exchange is waiting on when it is aborted (for metrics): body, engine or nothing. */
  stage: 'start' | 'body' | 'engine' = 'start';
  /** Set once the whole request body has been read (an unread body forces the connection closed). */
  bodyConsumed = false;
  aborted = false;
  finished = false;
  status: number | undefined;
  #abortListeners: Array<() => void> = [];

  constructor(res: HttpResponse, req: HttpRequest, host: ExchangeHost) {
    // FIRST and synchronously: after this, returning from the handler without answering is legal.
    res.onAborted(() => this.#onAborted());
    this.res = res;
    this.host = host;
    this.method = req.getCaseSensitiveMethod();
    this.url = req.getUrl();
    const ct = req.getHeader('content-type');
    const semi = ct.indexOf(';');
    this.mediaType = (semi >= 0 ? ct.slice(0, semi) : ct).trim().toLowerCase();
    const cs = semi >= 0 ? /(?:^|;)\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(ct.slice(semi)) : null;
    this.charset = cs ? cs[1].toLowerCase() : '';
    this.contentEncoding = req.getHeader('content-encoding').trim().toLowerCase();
    const cl = req.getHeader('content-length');
    this.contentLength = cl === '' ? undefined : /^\s*\d+\s*$/.test(cl) ? Number(cl) : NaN;
    this.chunked = /\bchunked\b/i.test(req.getHeader('transfer-encoding'));
    host.exchangeStarted(this);
  }

  /** True when the request carries a body that has not been read. */
  get hasBody(): boolean {
    return this.chunked || (this.contentLength !== undefined && this.contentLength !== 0);
  }

  /** Gone or answered: nothing more may be written. */
  get done(): boolean {
    return this.aborted || this.finished;
  }

  /** Runs `fn` when the client goes away before the response is written (at once if it already has). */
  onAbort(fn: () => void): void {
    if (this.aborted) fn();
    else if (!this.finished) this.#abortListeners.push(fn);
  }

  /** An AbortSignal that fires when the client goes away. */
  signal(): AbortSignal {
    const controller = new AbortController();
    this.onAbort(() => controller.abort());
    return controller.signal;
  }

  /**
   * Writes the whole response in one cork. close: end the connection after it (always while
   * draining, and whenever an unread body is left on the connection). Returns false when nothing
   * could be written (client gone, or already answered).
   */
  send(status: number, body: string | Uint8Array, headers: Headers = JSON_HEADERS, close = false): boolean {
    if (this.aborted || this.finished) return false;
    this.finished = true;
    this.status = status;
    this.#abortListeners = [];
    const closeConnection = close || this.host.draining;
    const res = this.res;
    res.cork(() => {
      res.writeStatus(statusLine(status));
      for (const [k, v] of headers) res.writeHeader(k, v);
      if (this.method === 'HEAD') res.endWithoutBody(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength, closeConnection);
      else res.end(body, closeConnection);
    });
    this.host.exchangeEnded(this, status);
    return true;
  }

  sendJson(status: number, body: string | Uint8Array, extra?: Headers, close = false): boolean {
    return this.send(status, body, extra ? [...JSON_HEADERS, ...extra] : JSON_HEADERS, close);
  }

  /** `{"error": message, "error_type": type}`. Closes the connection if the request body was not read. */
  sendError(status: number, type: string, message: string, extra?: Headers, close = false): boolean {
    return this.sendJson(status, JSON.stringify({ error: message, error_type: type }), extra, close || (this.hasBody && !this.bodyConsumed));
  }

  /** Milliseconds since the request arrived. */
  elapsedMs(): number {
    return performance.now() - this.start;
  }

  #onAborted(): void {
    if (this.aborted || this.finished) return;
    this.aborted = true;
    const listeners = this.#abortListeners;
    this.#abortListeners = [];
    for (const fn of listeners) {
      try { fn(); } catch { /* a listener must not stop the others */ }
    }
    this.host.exchangeEnded(this, undefined);
  }
}
