// Server: the HTTP transport (uWebSockets.js or node:http, transport/select.ts), the routes it
// serves (routes/index.ts, dispatched by router.ts) and the lifecycle.
//
// Lifecycle: listen() opens the port (liveness answers at once, inference routes answer 503 while
// the models load), load() loads and warms every served model (model_specs.ts: --model,
// --model-repository), one after the other, and only then reports ready; if one fails, the others
// are closed again and load() rejects naming it. close() drains (shutdown.ts). Threading:
// everything here runs on the JS thread; the engines do their work on their own native threads and
// complete promises back on this thread. Ownership: the Server owns its engines (loaded by it or
// handed to it) and closes them when it closes.
import { basename } from 'node:path';
import { Engine } from '../engine.js';
import { BertServeError, toBertServeError } from '../errors.js';
import { DEMO_MODEL_DIR, ENGINE_OPTIONS, defaultConfig, type ServerConfig } from '../config.js';
import type { EngineOptions } from '../engine_options.js';
import { Logger } from '../logger.js';
import { Metrics } from '../metrics.js';
import { defaultPathHistory } from '../path_history.js';
import type { Exchange, ExchangeHost } from './exchange.js';
import type { RouteContext, ServedModels } from './context.js';
import { ROUTES, openPaths } from './routes/index.js';
import type { Route } from './routes/route.js';
import type { ServerFacts } from './routes/info.js';
import { planModels } from './model_specs.js';
import { ThreadBudget } from '../thread_budget.js';
import { cpuBudget } from '../cpu_quota.js';
import { ServedModel, type ServerShared } from './served_model.js';
import { Router } from './router.js';
import { AccessControl } from './access.js';
import { AccessLog } from './access_log.js';
import { resolveApiKey } from './auth.js';
import { validators } from './api/validate.js';
import { FORCED_STOP_GRACE_MS, drain, forceStop, type DrainResult, type Drainable } from './shutdown.js';
import { ServerStartError, type Transport } from './transport/transport.js';
import { selectTransport } from './transport/select.js';
import { BUILD_COPIES } from './gate.js';
import { AnswerMemory } from './answer_memory.js';
import { ANSWER_MEMORY_SHARE, memoryLimit } from '../memory_quota.js';
import { ModelControl } from './model_control.js';
import { estimateModelBytes, nativeBytesInUse, overMemory } from './model_memory.js';

export { ServerStartError } from './transport/transport.js';

export interface ServerOptions extends Partial<ServerConfig> {
  logger?: Logger;
  /** An engine already loaded, served alone; the server owns it from then on (and closes it on close()). */
  engine?: Engine;
  /** Several models: each `[NAME=]DIR`, as --model (beside --model-repository's); default: `model` alone. */
  models?: readonly string[];
  /** Collect Node's default process metrics (default true). */
  defaultMetrics?: boolean;
}

export class Server implements ExchangeHost, ServerShared, ServedModels, Drainable {
  readonly config: Readonly<ServerConfig>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The memory budget for answers, shared by every model's gate (answer_memory.ts). */
  readonly memory: AnswerMemory;
  readonly routes: readonly Route[] = ROUTES;
  /** Every served model, by name, in the order given. */
  readonly #models = new Map<string, ServedModel>();
  readonly defaultName: string;
  /** The port listened on (resolved when --port 0), after listen(). */
  port = 0;
  /** Which HTTP transport serves ('uws' or 'node'), after listen(). */
  transport: Transport['kind'] | undefined;
  #transport: Transport | undefined;
  #listening: Promise<number> | undefined;
  #draining = false;
  /** Exchanges started and not yet answered or aborted. */
  #open = new Set<Exchange>();
  #idleWaiters: Array<() => void> = [];
  #loading: Promise<Engine> | undefined;
  /** Engines loaded so far by load() (all of them once it resolves). */
  #loaded: Engine[] = [];
  /** Every engine open now: the served ones and those replaced or unloaded but not closed yet (closeEngine() closes them all). */
  readonly #engines = new Set<Engine>();
  /** The CPU threads the models share (several models, or --model-control explicit, on the CPU). */
  #budget: ThreadBudget | undefined;
  /** The resident memory each engine's load added (model_memory.ts). */
  readonly #memory = new WeakMap<Engine, number>();
  /** Counts every change of the served models (ServedModels.generation). */
  generation = 0;
  /** Run-time loads and unloads (model_control.ts). */
  readonly control: ModelControl;
  #closing: Promise<DrainResult> | undefined;
  #engineClosed: Promise<void> | undefined;
  readonly #apiKeyRequired: boolean;
  readonly #router: Router;
  readonly #accessLog: AccessLog;

  constructor(options: ServerOptions = {}) {
    const { logger, engine, defaultMetrics, models, ...rest } = options;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the model control host's getters read the server's private state
    const server = this;
    const config = defaultConfig();
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (config as Record<string, unknown>)[k] = v;
    this.config = Object.freeze(config);
    this.logger = logger ?? new Logger({ level: config.logLevel, format: config.logFormat });
    let access: AccessControl;
    try {
      access = new AccessControl(resolveApiKey(config), config.corsAllowOrigin, openPaths(this.routes));
    } catch (e) {
      throw new ServerStartError('ERR_API_KEY', (e as Error).message);
    }
    this.#apiKeyRequired = access.keyRequired;
    // The --model option's value is a model of its own only when nothing else names one.
    const given = models ?? (config.model !== DEMO_MODEL_DIR || config.modelRepository === '' ? [config.model] : []);
    const plan = engine
      ? { specs: [{ name: basename(engine.info.modelDir), dir: engine.info.modelDir }], defaultName: basename(engine.info.modelDir) }
      : planModels(given, config.modelRepository, config.model, config.defaultModel);
    const budget = config.maxInflightAnswerBytes || Math.floor(memoryLimit() * ANSWER_MEMORY_SHARE);
    this.memory = new AnswerMemory(Math.max(budget, BUILD_COPIES * config.maxAnswerBytes));
    for (const spec of plan.specs) this.#models.set(spec.name, new ServedModel(spec.name, spec.dir, this));
    this.defaultName = plan.defaultName;
    this.#router = new Router(this, this, access);
    this.#accessLog = new AccessLog(this.logger, config.accessLogSample);
    validators(config.maxClientBatchSize); // compiled now rather than on the first request
    this.metrics = new Metrics(
      {
        stats: () => this.engine?.stats(),
        ready: () => this.ready,
        draining: () => this.#draining,
        inFlight: () => this.#open.size,
        answerBytes: () => this.memory.usedBytes,
        waiting: () => this.waiting,
        modelMemory: () => this.names.flatMap((n) => (this.memoryOf(n) === undefined ? [] : [[n, this.memoryOf(n)!] as const])),
        threadBudget: () => this.#budget?.stats(),
      },
      { defaultMetrics },
    );
    if (engine) {
      this.#models.get(this.defaultName)!.engine = engine;
      this.#loaded = [engine];
      this.#engines.add(engine);
    }
    this.control = new ModelControl(
      {
        logger: this.logger,
        get draining() {
          return server.#draining;
        },
        defaultName: this.defaultName,
        get names() {
          return server.names;
        },
        served: (name) => {
          const m = this.#models.get(name);
          return m?.engine ? { engine: m.engine, dir: m.dir } : undefined;
        },
        loadEngine: (name, dir) => this.#loadOne({ modelName: name, dir }, this.#budget),
        install: (name, dir, loaded) => {
          const served = this.#models.get(name);
          const old = served?.engine;
          // A reload keeps the name's gate: its admission bounds are the model's, whichever weights answer.
          const m = new ServedModel(name, dir, this, served?.gate);
          m.engine = loaded;
          this.#models.set(name, m); // one step: requests admitted from now on run on `loaded`
          this.generation++;
          return old;
        },
        remove: (name) => {
          const served = this.#models.get(name);
          if (served) {
            this.#models.delete(name);
            this.memory.leave(served.gate); // its floor of the answer memory goes to the others
            this.generation++;
          }
          return served?.engine;
        },
        closeEngine: (e) => this.#close(e, true),
        overMemory: (name, dir) => this.#overMemory(name, dir),
      },
      config.modelControl,
      config.modelRepository,
    );
  }

  memoryOf(name: string): number | undefined {
    const engine = this.#models.get(name)?.engine;
    return engine && this.#memory.get(engine);
  }

  /** Why loading the model in `dir` as `name` would go over --max-memory (undefined: it fits); see model_memory.ts. */
  #overMemory(name: string, dir: string): string | undefined {
    const held = new Map<string, number>();
    for (const [n, m] of this.#models) if (m.engine) held.set(n, this.#memory.get(m.engine) ?? 0);
    return overMemory(this.config.maxMemory, name, estimateModelBytes(dir), held);
  }

  /** Closes `engine` (once; `drain`: its queued requests are answered first). */
  #close(engine: Engine, drain: boolean): Promise<void> {
    return engine.close({ drain }).finally(() => this.#engines.delete(engine));
  }

  // ---- ServedModels

  get models(): ServedModels {
    return this;
  }
  get names(): readonly string[] {
    return [...this.#models.keys()];
  }
  get(name: string): ServedModel | undefined {
    return this.#models.get(name);
  }
  /** The model of the unprefixed routes. */
  get defaultModel(): RouteContext {
    return this.#models.get(this.defaultName)!;
  }
  /** The default model's engine once every model is loaded. */
  get engine(): Engine | undefined {
    return this.#models.get(this.defaultName)!.engine;
  }
  /** Requests waiting for room, all models together (gate.ts). */
  get waiting(): number {
    let n = 0;
    for (const m of this.#models.values()) n += m.gate.waiting;
    return n;
  }
  /** /info's server facts, once the transport is known. */
  get serverFacts(): ServerFacts | undefined {
    if (!this.#transport) return undefined;
    return {
      config: this.config,
      inflightAnswerBytes: this.memory.budgetBytes,
      transport: this.transport,
      transportImplementation: this.#transport.implementation,
    };
  }

  get draining(): boolean {
    return this.#draining;
  }
  get sendTimeoutMs(): number {
    return this.config.sendTimeoutMs;
  }
  get ready(): boolean {
    return this.engine !== undefined && !this.#draining;
  }
  get inFlight(): number {
    return this.#open.size;
  }
  get apiKeyRequired(): boolean {
    return this.#apiKeyRequired;
  }
  get url(): string {
    const host = this.config.host === '0.0.0.0' ? '127.0.0.1' : this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `${this.#transport?.scheme ?? 'http'}://${host}:${this.port}`;
  }

  /**
   * Picks the transport (--transport, transport/select.ts) and opens the port. Resolves with the
   * port number; rejects with ServerStartError.
   */
  listen(): Promise<number> {
    this.#listening ??= this.#listen().catch((e) => {
      this.#listening = undefined;
      throw e;
    });
    return this.#listening;
  }

  async #listen(): Promise<number> {
    const transport = selectTransport(this.config, this.logger);
    const { host, port } = this.config;
    this.port = await transport.listen(host, port, (wire) => this.#router.dispatch(wire));
    this.#transport = transport;
    this.transport = transport.kind;
    this.logger.info('listening', { host, port: this.port, url: this.url, transport: transport.kind });
    return this.port;
  }

  /**
   * Loads and warms every served model (once), one after the other; resolves with the default
   * model's engine when all are ready. Rejects with a coded BertServeError naming the model that
   * failed (the ones loaded before it are closed again).
   */
  load(): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    if (!this.#loading && this.#draining) return Promise.reject(new BertServeError('ERR_CLOSED', 'the server is closed'));
    this.#loading ??= this.#loadAll();
    return this.#loading;
  }

  async #loadAll(): Promise<Engine> {
    const models = [...this.#models.values()];
    // Several models share the CPUs this process may use: no more intra-op threads run at once than
    // that, however many models are busy (thread_budget.ts). One model keeps its threads to itself.
    // Models loaded at run time (--model-control explicit) join the same budget.
    const shared = models.length > 1 || this.control.enabled;
    const budget =
      shared && this.config.device === 'cpu' ? new ThreadBudget(cpuBudget().cpus, { split: this.config.leaseSplit }) : undefined;
    this.#budget = budget;
    for (const [i, m] of models.entries()) {
      try {
        // The ones loaded so far count (they are not served yet, so #overMemory cannot see them).
        const held = new Map(models.slice(0, i).map((p, j) => [p.modelName, this.#memory.get(this.#loaded[j]) ?? 0]));
        const over = overMemory(this.config.maxMemory, m.modelName, estimateModelBytes(m.dir), held);
        if (over !== undefined) throw new BertServeError('ERR_INVALID_ARGUMENT', over);
        this.#loaded.push(await this.#loadOne(m, budget));
      } catch (e) {
        const err = toBertServeError(e);
        await Promise.all(this.#loaded.map((engine) => this.#close(engine, false)));
        this.#loaded = [];
        if (models.length === 1) throw err;
        throw new BertServeError(err.code, `model "${m.modelName}" (${m.dir}): ${err.message}`);
      }
    }
    // All at once: no route sees a model before every one is ready.
    models.forEach((m, i) => (m.engine = this.#loaded[i]));
    if (!this.#draining) this.logger.info('ready', { url: this.#transport ? this.url : undefined, models: this.names });
    return this.engine!;
  }

  async #loadOne(m: Pick<ServedModel, 'modelName' | 'dir'>, threadBudget: ThreadBudget | undefined): Promise<Engine> {
    const c = this.config;
    this.logger.info('loading model', { name: m.modelName, model: m.dir, device: c.device, dtype: c.dtype });
    const options: Record<string, unknown> = { logger: this.logger };
    for (const o of ENGINE_OPTIONS) options[o.key] = c[o.key as keyof ServerConfig];
    options.model = m.dir;
    options.threadBudget = threadBudget;
    // The server keeps a path history unless told "off"; the library keeps one only when given a file.
    options.pathHistory = c.pathHistory === 'off' ? '' : c.pathHistory || defaultPathHistory();
    const inUseBefore = nativeBytesInUse();
    const engine = await Engine.load(options as EngineOptions);
    const memoryBytes = Math.max(0, nativeBytesInUse() - inUseBefore);
    this.#memory.set(engine, memoryBytes);
    this.#engines.add(engine);
    const i = engine.info;
    this.logger.info('model loaded', {
      name: m.modelName,
      model: i.modelDir,
      version: engine.version,
      memoryBytes,
      task: i.task,
      architecture: i.architecture,
      device: i.device,
      dtype: i.dtype,
      workers: i.workers,
      intraOpThreads: i.intraOpThreads,
      threadBudget: i.threadBudget,
      blas: i.blas,
      malloc: i.malloc,
      torch: i.torchVersion,
      head: i.headPath,
      linear: i.linearKernel,
      precision: i.precision,
      cpuNativeBf16: i.cpuNativeBf16,
      vocabSize: i.vocabSize,
      maxPositionEmbeddings: i.maxPositionEmbeddings,
      batchOverheadTokens: i.batchOverheadTokens,
      singleThreadMaxTokens: i.singleThreadMaxTokens,
      loadMs: round(i.loadMs),
      warmupMs: round(i.warmupMs),
    });
    if (i.pathChange) {
      this.logger.warn('the model runs another way than at its last load', {
        model: i.modelDir,
        from: i.pathChange.from,
        to: i.pathChange.to,
        now: i.headPath,
        lastLoad: i.pathChange.since,
        modelChanged: i.pathChange.modelChanged,
        previousVersion: i.pathChange.previousVersion,
      });
    }
    if (i.pathHistoryProblem) this.logger.warn('path history not kept', { problem: i.pathHistoryProblem });
    if (i.task === 'fill-mask' && !i.maskedPositionsFastPath) {
      // hidden x vocab multiply-adds per token instead of per mask: for BERT-base about 23M per token,
      // as much as a sixth of the encoder's own per-token work.
      this.logger.warn('fill-mask runs the full forward', {
        cost: `the vocabulary projection (${i.hiddenSize} x ${i.vocabSize}) runs at every token, not only at the mask rows`,
        fix: 'export with scripts/export_hf.py, or trace a model whose bert and cls submodules are kept',
      });
    }
    return engine;
  }

  /** Drains and stops (see shutdown.ts). Resolves with the outcome; idempotent. */
  close(options: { timeoutMs?: number } = {}): Promise<DrainResult> {
    this.#closing ??= drain(this, options.timeoutMs ?? this.config.drainTimeoutMs, this.logger);
    return this.#closing;
  }

  /** Stops without finishing in-flight work (in-flight requests get 503); see shutdown.ts forceStop. */
  forceStop(graceMs = FORCED_STOP_GRACE_MS): Promise<void> {
    return forceStop(this, graceMs);
  }

  // ---- Drainable

  stopAccepting(): void {
    this.#draining = true;
    this.#transport?.stopListening();
  }

  whenIdle(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  closeEngine(drainQueued: boolean): Promise<void> {
    if (this.#engineClosed && drainQueued) return this.#engineClosed;
    const run = async () => {
      if (this.#loading) {
        try {
          await this.#loading;
        } catch {
          return; // failed to load: what had loaded is closed already
        }
      }
      // The served engines and any that a reload or unload is still retiring.
      await Promise.all([...this.#engines].map((engine) => this.#close(engine, drainQueued)));
    };
    const p = run();
    this.#engineClosed ??= p;
    return p;
  }

  abandonInFlight(): void {
    for (const ex of [...this.#open]) {
      ex.sendError(503, 'unhealthy', 'the server shut down before this request was answered', undefined, true);
    }
  }

  closeConnections(): void {
    this.#accessLog.flush();
    this.#transport?.closeConnections();
    this.#transport = undefined;
  }

  // ---- ExchangeHost

  exchangeStarted(ex: Exchange): void {
    this.#open.add(ex);
  }

  exchangeEnded(ex: Exchange, status: number | undefined): void {
    this.#open.delete(ex);
    ex.releaseEngine?.();
    if (ex.reservedBytes > 0) {
      const bytes = ex.reservedBytes;
      ex.reservedBytes = 0;
      ex.reservedBy?.release(bytes);
    }
    const seconds = ex.elapsedMs() / 1000;
    if (status !== undefined) this.metrics.observeRequest(ex.route, ex.method, status, seconds);
    else this.metrics.clientClosed(ex.route, ex.stage === 'start' ? 'body' : ex.stage);
    this.#accessLog.ended(ex, status, seconds * 1000);
    if (this.#open.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/**
 * Starts a server in this process: listens, loads the model (unless `options.engine` is given) and
 * resolves once ready. Rejects (with the port closed again) if the model fails to load.
 */
export async function startServer(options: ServerOptions = {}): Promise<Server> {
  const server = new Server(options);
  await server.listen();
  try {
    await server.load();
  } catch (e) {
    await server.close({ timeoutMs: 1000 });
    throw toBertServeError(e);
  }
  return server;
}
