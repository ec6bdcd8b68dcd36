// Access log: one info line per answered request ("request": request_id, method, path, status,
// ms), successes sampled by --access-log-sample (0..1), errors (status >= 400) and clients that
// went away always logged, except overload answers past a rate: the first OVERLOAD_LINES_PER_SECOND
// 429s, 503s and 504s of each second get their line, the rest are counted and written as one
// "overload answers" line at the end of the second. Under an overload they are thousands a second,
// and a synchronous line each took the JS thread's time from the requests that can still be
// served (measured: docs/benchmarks.md, "Goodput under connection overload"). Off below
// --log-level info. JS thread only.
import type { Logger } from '../logger.js';
import type { Exchange } from './exchange.js';

/** Overload answers (429, 503, 504) logged one line each per second before they are only counted. */
export const OVERLOAD_LINES_PER_SECOND = 20;
const WINDOW_MS = 1000;

export class AccessLog {
  readonly #logger: Logger;
  readonly #sample: number;
  /** Overload lines written in the current window, and those only counted, by status. */
  #overloadLines = 0;
  #unlogged = new Map<number, number>();
  #window: NodeJS.Timeout | undefined;

  constructor(logger: Logger, sample: number) {
    this.#logger = logger;
    this.#sample = sample;
  }

  /** The exchange ended: answered with `status`, or its client went away (undefined). */
  ended(ex: Exchange, status: number | undefined, ms: number): void {
    if (!this.#logger.enabled('info')) return;
    if (status === undefined) {
      this.#logger.info('client closed the connection before the answer', {
        request_id: ex.requestId,
        method: ex.method,
        path: ex.url,
        stage: ex.stage,
        ms: round(ms),
      });
      return;
    }
    if (status < 400 && !(this.#sample >= 1 || (this.#sample > 0 && Math.random() < this.#sample))) return;
    if ((status === 429 || status === 503 || status === 504) && !this.#overloadLine(status)) return;
    this.#logger.info('request', { request_id: ex.requestId, method: ex.method, path: ex.url, status, ms: round(ms) });
  }

  /** Whether this overload answer gets its own line (else it is counted for the window's summary). */
  #overloadLine(status: number): boolean {
    if (!this.#window) {
      this.#window = setTimeout(() => this.#closeWindow(), WINDOW_MS);
      this.#window.unref();
    }
    if (this.#overloadLines < OVERLOAD_LINES_PER_SECOND) {
      this.#overloadLines++;
      return true;
    }
    this.#unlogged.set(status, (this.#unlogged.get(status) ?? 0) + 1);
    return false;
  }

  /** Writes the counts of the window now (the server is stopping: its timer may not run). */
  flush(): void {
    if (this.#window) clearTimeout(this.#window);
    this.#closeWindow();
  }

  #closeWindow(): void {
    this.#window = undefined;
    this.#overloadLines = 0;
    if (this.#unlogged.size === 0) return;
    const counts = Object.fromEntries([...this.#unlogged].map(([status, n]) => [String(status), n]));
    this.#unlogged.clear();
    this.#logger.info('overload answers', { not_logged_one_by_one: counts, seconds: WINDOW_MS / 1000 });
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
