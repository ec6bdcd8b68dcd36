// Router: one request from the transport to its route. The Exchange is created first (it registers
// the abort handler), then, in order: the request id and CORS headers (access.ts), a missing Host or
// an ambiguous framing (400, connection closed), the path (404), preflights and the API key
// (access.ts), the method (405 with Allow), and the route: a status route answers itself, an
// inference route runs through the pipeline (pipeline.ts). Anything thrown on the way is a 500
// (logged). The table derives from the route declarations (routes/index.ts). JS thread only.
//
// Several models: a path is either one of the table's, answered for the default model, or
// /models/{name} followed by a path of a perModel declaration (nothing: POST /), answered for that
// model (a name not served: 404 listing the served ones). Every route then runs against that
// model's RouteContext (served_model.ts).
//
// A declaration may also name its model inside its own path, as `{name}` (the Open Inference
// Protocol's /v2/models/{name}/infer): matched by what comes before and after the segment, answered
// for that model the same way (an unknown name: the same 404), unless it declares anyModelName (the
// model repository's load, whose model may not be served yet: the route reads the name itself).
import { toBertServeError } from '../errors.js';
import { errorFields } from '../logger.js';
import { Exchange, type ExchangeHost } from './exchange.js';
import type { AccessControl } from './access.js';
import { unknownModelMessage, type RouteContext, type ServedModels } from './context.js';
import { pick, routeTable, type PathEntry } from './routes/index.js';
import { NAME, type Route } from './routes/route.js';
import { serveInference } from './pipeline.js';
import type { Wire } from './transport/transport.js';

/** What the router needs from the server. */
export interface RouterHost extends ServedModels {
  readonly defaultModel: RouteContext;
  readonly routes: readonly Route[];
  readonly logger: RouteContext['logger'];
}

const PREFIX = '/models/';

export class Router {
  readonly #server: RouterHost;
  readonly #host: ExchangeHost;
  readonly #access: AccessControl;
  readonly #table: ReadonlyMap<string, PathEntry>;
  /** The perModel declarations' paths, without the /models/{name} prefix. */
  readonly #perModel: ReadonlyMap<string, PathEntry>;
  /** The declarations whose path holds {name}: what comes before and after it, the declared path and its entry. */
  readonly #named: ReadonlyArray<{ before: string; after: string; path: string; entry: PathEntry; anyName: boolean }>;

  constructor(server: RouterHost, host: ExchangeHost, access: AccessControl) {
    this.#server = server;
    this.#host = host;
    this.#access = access;
    this.#table = routeTable(server.routes.filter((r) => !r.path.includes(NAME)));
    this.#named = [...routeTable(server.routes.filter((r) => r.path.includes(NAME)))].map(([path, entry]) => {
      const at = path.indexOf(NAME);
      const anyName = [...entry.methods.values()].flat().some((r) => r.kind === 'status' && r.anyModelName === true);
      return { before: path.slice(0, at), after: path.slice(at + NAME.length), path, entry, anyName };
    });
    this.#perModel = routeTable(server.routes.filter((r) => r.perModel));
  }

  /** The route table entry, the model and the declared path of `url`; a string: the 404's error_type and message. */
  #resolve(url: string): { entry: PathEntry; ctx: RouteContext; path: string; prefixed: boolean } | { notFound: string; type: string } {
    const entry = this.#table.get(url);
    if (entry) return { entry, ctx: this.#server.defaultModel, path: url, prefixed: false };
    for (const n of this.#named) {
      if (url.length <= n.before.length + n.after.length || !url.startsWith(n.before) || !url.endsWith(n.after)) continue;
      const name = url.slice(n.before.length, url.length - n.after.length);
      if (name.includes('/')) continue;
      if (n.anyName) return { entry: n.entry, ctx: this.#server.defaultModel, path: n.path, prefixed: true };
      const ctx = this.#server.get(decodeURIComponentSafe(name));
      if (!ctx) return { notFound: unknownModelMessage(decodeURIComponentSafe(name), this.#server), type: 'model_not_found' };
      return { entry: n.entry, ctx, path: n.path, prefixed: true };
    }
    if (url.startsWith(PREFIX)) {
      const slash = url.indexOf('/', PREFIX.length);
      const name = slash < 0 ? url.slice(PREFIX.length) : url.slice(PREFIX.length, slash);
      const path = slash < 0 ? '/' : url.slice(slash);
      const perModel = this.#perModel.get(path);
      if (perModel && name !== '') {
        const ctx = this.#server.get(decodeURIComponentSafe(name));
        if (!ctx) return { notFound: unknownModelMessage(decodeURIComponentSafe(name), this.#server), type: 'model_not_found' };
        return { entry: perModel, ctx, path, prefixed: true };
      }
    }
    return { notFound: `no route for ${url}`, type: 'not_found' };
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
      const found = this.#resolve(ex.url);
      if ('notFound' in found) {
        ex.sendError(404, found.type, found.type === 'not_found' ? `no route for ${ex.method} ${ex.url}` : found.notFound);
        return;
      }
      const { entry, ctx, path, prefixed } = found;
      ex.route = ex.url;
      if (this.#access.intercept(ex, path, entry.allow)) return;
      const candidates = entry.methods.get(ex.method);
      if (!candidates) {
        ex.sendError(405, 'method_not_allowed', `method ${ex.method} is not allowed on ${ex.url}; allowed: ${entry.allow}`, [
          ['Allow', entry.allow],
        ]);
        return;
      }
      const route = pick(candidates, ctx.engine?.task);
      const result = route.kind === 'inference' ? serveInference(ctx, ex, route, prefixed) : route.handle(ctx, ex);
      if (result) result.catch((e) => this.#unexpected(ex, e));
    } catch (e) {
      this.#unexpected(ex, e);
    }
  }

  #unexpected(ex: Exchange, e: unknown): void {
    const logger = this.#server.logger;
    logger.error('unexpected error in a request handler', { route: ex.route, request_id: ex.requestId, ...errorFields(e) });
    if (!ex.done) {
      const err = toBertServeError(e);
      ex.sendError(500, 'backend', logger.enabled('debug') ? `internal server error: ${err.message}` : 'internal server error');
    }
  }
}

/** A path segment percent-decoded, or as it is when it does not decode. */
function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
