// What routes and the request pipeline need from the server: one RouteContext per served model
// (served_model.ts), all sharing the server's configuration, logger and metrics; each with its own gate.
import type { Engine } from '../engine.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ServerConfig } from '../config.js';
import type { Gate } from './gate.js';
import type { Route } from './routes/route.js';
import type { ModelControl } from './model_control.js';

export interface RouteContext {
  readonly config: Readonly<ServerConfig>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** This model's name (the {name} of /models/{name}/...). */
  readonly modelName: string;
  /** This model's engine once every served model is loaded, else undefined. */
  readonly engine: Engine | undefined;
  readonly draining: boolean;
  /** /info body, built once after load. */
  readonly infoJson: string | undefined;
  /** --api-key is set (documented in /openapi.json). */
  readonly apiKeyRequired: boolean;
  /** This model's queue room and waiting room, and the memory budget for answers that the models share (gate.ts). */
  readonly gate: Gate;
  /** The routes served (routes/index.ts), for the documents that describe them. */
  readonly routes: readonly Route[];
  /** Every served model. */
  readonly models: ServedModels;
}

export interface ServedModels {
  /** The served names, in the order given. */
  readonly names: readonly string[];
  /** The model of the unprefixed routes. */
  readonly defaultName: string;
  /** A served model's context; undefined for a name not served. */
  get(name: string): RouteContext | undefined;
  /** Counts every change of the served models (a load, reload or unload): documents built from them are rebuilt when it moves. */
  readonly generation: number;
  /** Loads, reloads and unloads at run time (--model-control). */
  readonly control: ModelControl;
  /** The resident memory a served model's load added (model_memory.ts); undefined for a name not served. */
  memoryOf(name: string): number | undefined;
}

/** The 404 for a model name not served, listing the served ones. */
export function unknownModelMessage(name: string, models: ServedModels): string {
  return `the model ${JSON.stringify(name)} is not served here; served: ${models.names.join(', ')}`;
}
