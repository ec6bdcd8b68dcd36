// Router: one request from the transport to its route. The Exchange is created first (it registers
// the abort handler), then, in order: the request id and CORS headers (access.ts), a missing Host or
// an ambiguous framing (400, connection closed), the path (404), preflights and the API key
// (access.ts), the method (405 with Allow), and the route: a status route answers itself, an
// inference route runs through the pipeline (pipeline.ts). Anything thrown on the way is a 500
// (logged). The table derives from the route declarations (routes/index.ts). JS thread only.
import { toBertServeError } from '../errors.js';
import { errorFields } from '../logger.js';
import { Exchange, type ExchangeHost } from './exchange.js';
import type { AccessControl } from './access.js';
import type { RouteContext } from './context.js';
import { pick, routeTable, type PathEntry } from './routes/index.js';
import { serveInference } from './pipeline.js';
import type { Wire } from './transport/transport.js';

export class Router {
  readonly #ctx: RouteContext;
  readonly #host: ExchangeHost;
  readonly #access: AccessControl;
  readonly #table: ReadonlyMap<string, PathEntry>;

  constructor(ctx: RouteContext, host: ExchangeHost, access: AccessControl) {
    this.#ctx = ctx;
    this.#host = host;
    this.#access = access;
    this.#table = routeTable(ctx.routes);
  }

  dispatch(wire: Wire): void {
    const ex = new Exchange(wire, this.#host); // registers the abort handler first
    try {
      this.#access.begin(ex);
      if (wire.head.missingHost) {
        ex.sendError(400, 'malformed', 'an HTTP/1.1 request needs a Host header', undefined, true);
        return;
      }
      if (ex.framingError !== undefined) {
        // Where the body ends is ambiguous: never guess; answer and close the connection.
        ex.sendError(400, 'malformed', `ambiguous request framing: ${ex.framingError}`, undefined, true);
        return;
      }
      const entry = this.#table.get(ex.url);
      if (!entry) {
        ex.sendError(404, 'not_found', `no route for ${ex.method} ${ex.url}`);
        return;
      }
      ex.route = ex.url;
      if (this.#access.intercept(ex, entry.allow)) return;
      const candidates = entry.methods.get(ex.method);
      if (!candidates) {
        ex.sendError(405, 'method_not_allowed', `method ${ex.method} is not allowed on ${ex.url}; allowed: ${entry.allow}`, [
          ['Allow', entry.allow],
        ]);
        return;
      }
      const route = pick(candidates, this.#ctx.engine?.task);
      const result = route.kind === 'inference' ? serveInference(this.#ctx, ex, route) : route.handle(this.#ctx, ex);
      if (result) result.catch((e) => this.#unexpected(ex, e));
    } catch (e) {
      this.#unexpected(ex, e);
    }
  }

  #unexpected(ex: Exchange, e: unknown): void {
    const logger = this.#ctx.logger;
    logger.error('unexpected error in a request handler', { route: ex.route, request_id: ex.requestId, ...errorFields(e) });
    if (!ex.done) {
      const err = toBertServeError(e);
      ex.sendError(500, 'backend', logger.enabled('debug') ? `internal server error: ${err.message}` : 'internal server error');
    }
  }
}
