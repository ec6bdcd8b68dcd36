// --cors-allow-origin: which web pages (origins) may call the server from a browser. Empty (the
// default): no CORS header is ever sent and OPTIONS is 405 as for any other unknown method, so
// browsers keep other origins out. "*": any origin. Otherwise a comma-separated list of exact
// origins ("https://app.example.com,http://localhost:3000"); an allowed origin is echoed in
// Access-Control-Allow-Origin with Vary: Origin. Headers are built once per origin. JS thread only.
import type { Headers } from './exchange.js';

/** Headers a page's script may read: the request id, the timing headers and Retry-After. */
const EXPOSE = 'x-request-id, x-tokenization-time, x-queue-time, x-thread-wait-time, x-inference-time, x-total-time, retry-after';
/** Request headers a page may send beyond the CORS-safelisted ones. */
const ALLOW_HEADERS = 'authorization, content-type, x-request-id';
/** How long browsers may cache a preflight answer (seconds). */
const MAX_AGE = '600';

export class Cors {
  readonly enabled: boolean;
  readonly #any: boolean;
  /** Answer headers per allowed origin. */
  readonly #allowed = new Map<string, Headers>();
  readonly #varyOnly: Headers;

  /** `allow`: the --cors-allow-origin value. */
  constructor(allow: string) {
    const list = allow
      .split(',')
      .map((s) => s.trim().replace(/\/$/, ''))
      .filter((s) => s !== '');
    this.enabled = list.length > 0;
    this.#any = list.includes('*');
    for (const origin of list) {
      if (origin !== '*')
        this.#allowed.set(origin.toLowerCase(), [
          ['Access-Control-Allow-Origin', origin],
          ['Access-Control-Expose-Headers', EXPOSE],
          ['Vary', 'Origin'],
        ]);
    }
    this.#varyOnly = this.#any ? [] : [['Vary', 'Origin']];
  }

  /** Headers for an answer to a request from `origin` ('' when it sent none). */
  headers(origin: string): Headers {
    if (origin === '') return this.#varyOnly;
    if (this.#any) return ANY;
    return this.#allowed.get(origin.toLowerCase()) ?? this.#varyOnly;
  }

  /** Headers of a preflight answer (204) for a path that allows `methods`. */
  preflight(origin: string, methods: string): Headers {
    const base = this.headers(origin);
    if (!base.some(([k]) => k === 'Access-Control-Allow-Origin')) return base; // not allowed: the browser refuses the call
    return [
      ...base,
      ['Access-Control-Allow-Methods', methods],
      ['Access-Control-Allow-Headers', ALLOW_HEADERS],
      ['Access-Control-Max-Age', MAX_AGE],
    ];
  }
}

const ANY: Headers = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Expose-Headers', EXPOSE],
];
