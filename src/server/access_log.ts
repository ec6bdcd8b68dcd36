// Access log: one info line per answered request ("request": request_id, method, path, status,
// ms), successes sampled by --access-log-sample (0..1), errors (status >= 400) and clients that
// went away always logged. Off below --log-level info. JS thread only.
import type { Logger } from '../logger.js';
import type { Exchange } from './exchange.js';

export class AccessLog {
  readonly #logger: Logger;
  readonly #sample: number;

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
    this.#logger.info('request', { request_id: ex.requestId, method: ex.method, path: ex.url, status, ms: round(ms) });
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
