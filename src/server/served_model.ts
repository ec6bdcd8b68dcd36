// One served model as the routes see it (a RouteContext): its name, directory, engine, admission
// gate (its own queue bound and waiting room: gate.ts) and /info body; the configuration, logger,
// metrics, memory budget for answers and draining state are the server's. Server.load()
// sets every model's engine at once, after all of them loaded (a server is ready with all its
// models or not at all). A model loaded or reloaded at run time (model_control.ts) is a new
// ServedModel that replaces the name's entry in one step. JS thread only.
import type { Engine } from '../engine.js';
import type { RouteContext, ServedModels } from './context.js';
import type { AnswerMemory } from './answer_memory.js';
import { Gate } from './gate.js';
import { buildInfo, type ServerFacts } from './routes/info.js';

/** What a ServedModel reads from its server. */
export type ServerShared = Omit<RouteContext, 'modelName' | 'engine' | 'infoJson' | 'gate'> & {
  /** The process's memory budget for answers, which every model's gate shares. */
  readonly memory: AnswerMemory;
  /** /info's server facts, once the transport is known. */
  readonly serverFacts: ServerFacts | undefined;
};

export class ServedModel implements RouteContext {
  readonly modelName: string;
  readonly dir: string;
  engine: Engine | undefined;
  readonly gate: Gate;
  readonly #server: ServerShared;
  #infoJson: string | undefined;
  /** The served models' generation #infoJson was built at (its "models" list names them). */
  #infoGeneration = -1;

  /** `gate`: the gate of the version this one replaces (a reload), else a new one. */
  constructor(name: string, dir: string, server: ServerShared, gate?: Gate) {
    this.modelName = name;
    this.dir = dir;
    this.#server = server;
    this.gate = gate ?? new Gate(server.memory, server.config.maxWaiting);
  }

  get config(): RouteContext['config'] {
    return this.#server.config;
  }
  get logger(): RouteContext['logger'] {
    return this.#server.logger;
  }
  get metrics(): RouteContext['metrics'] {
    return this.#server.metrics;
  }
  get draining(): boolean {
    return this.#server.draining;
  }
  get apiKeyRequired(): boolean {
    return this.#server.apiKeyRequired;
  }
  get routes(): RouteContext['routes'] {
    return this.#server.routes;
  }
  get models(): ServedModels {
    return this.#server.models;
  }

  /** /info body: built at the first request after the models loaded (the transport is known then), again after a load or unload. */
  get infoJson(): string | undefined {
    const facts = this.#server.serverFacts;
    const generation = this.models.generation;
    if ((this.#infoJson === undefined || this.#infoGeneration !== generation) && this.engine && facts) {
      this.#infoJson = buildInfo(this.engine, this, facts);
      this.#infoGeneration = generation;
    }
    return this.#infoJson;
  }
}
