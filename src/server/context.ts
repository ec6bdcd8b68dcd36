// What routes and the request pipeline need from the server (implemented by Server).
import type { Engine } from '../engine.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ServerConfig } from '../config.js';
import type { Gate } from './gate.js';
import type { Route } from './routes/route.js';

export interface RouteContext {
  readonly config: Readonly<ServerConfig>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The engine once loaded, else undefined. */
  readonly engine: Engine | undefined;
  readonly draining: boolean;
  /** /info body, built once after load. */
  readonly infoJson: string | undefined;
  /** --api-key is set (documented in /openapi.json). */
  readonly apiKeyRequired: boolean;
  /** Queue room and the memory budget for answers (gate.ts). */
  readonly gate: Gate;
  /** The routes served (routes/index.ts), for the documents that describe them. */
  readonly routes: readonly Route[];
}
