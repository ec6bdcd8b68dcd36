// Who may call what, decided before any route runs: the request id (request_id.ts), CORS headers
// and preflights (cors.ts), and the API key (auth.ts). The server calls begin() for every request
// and intercept() once the path is known. JS thread only.
import type { Exchange } from './exchange.js';
import { ApiKeyCheck } from './auth.js';
import { Cors } from './cors.js';
import { requestIdFor } from './request_id.js';

export class AccessControl {
  readonly #key: ApiKeyCheck | undefined;
  readonly #cors: Cors;
  readonly #open: ReadonlySet<string>;

  /**
   * `apiKey`: '' for none (resolved by auth.ts resolveApiKey); `corsAllowOrigin`: the flag's value;
   * `open`: the paths answered without the key (routes/index.ts openPaths).
   */
  constructor(apiKey: string, corsAllowOrigin: string, open: ReadonlySet<string>) {
    this.#key = apiKey === '' ? undefined : new ApiKeyCheck(apiKey);
    this.#cors = new Cors(corsAllowOrigin);
    this.#open = open;
  }

  get keyRequired(): boolean {
    return this.#key !== undefined;
  }

  /** Sets the request id and the headers every answer to this request carries. */
  begin(ex: Exchange): void {
    ex.requestId = requestIdFor(ex.requestIdHeader);
    const id: [string, string] = ['x-request-id', ex.requestId];
    ex.extraHeaders = this.#cors.enabled ? [id, ...this.#cors.headers(ex.origin)] : [id];
  }

  /**
   * Answers a CORS preflight (204) or a request without the key (401) for a known path whose
   * methods are `allow`; `path` is the declared one (without a /models/{name} prefix). Returns true
   * when it answered.
   */
  intercept(ex: Exchange, path: string, allow: string): boolean {
    if (ex.method === 'OPTIONS' && this.#cors.enabled && ex.preflightMethod !== '') {
      // Preflights never carry credentials: answered before the key is checked.
      ex.extraHeaders = [['x-request-id', ex.requestId]];
      ex.send(204, '', [['Allow', allow], ...this.#cors.preflight(ex.origin, allow)]);
      return true;
    }
    if (this.#key && !this.#open.has(path)) {
      const refusal = this.#key.check(ex.authorization, ex.authorizationRepeated);
      if (refusal) {
        ex.send(refusal.status, refusal.body, refusal.headers, refusal.close);
        return true;
      }
    }
    return false;
  }
}
