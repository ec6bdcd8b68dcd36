// Server: the HTTP transport (uWebSockets.js or node:http, transport/select.ts), the routes it
// serves (routes/index.ts, dispatched by router.ts) and the lifecycle.
//
// Lifecycle: listen() opens the port (liveness answers at once, inference routes answer 503 while
// the model loads), load() loads and warms the engine and only then reports ready, close() drains
// (shutdown.ts). Threading: everything here runs on the JS thread; the engine does its work on its
// own native threads and completes promises back on this thread. Ownership: the Server owns its
// engine (loaded by it or handed to it) and closes it when it closes.
import { Engine } from '../engine.js';
import { BertServeError, toBertServeError } from '../errors.js';
import { ENGINE_OPTIONS, defaultConfig, type ServerConfig } from '../config.js';
import type { EngineOptions } from '../engine_options.js';
import { Logger } from '../logger.js';
import { Metrics } from '../metrics.js';
import { defaultPathHistory } from '../path_history.js';
import type { Exchange, ExchangeHost } from './exchange.js';
import type { RouteContext } from './context.js';
import { ROUTES, openPaths } from './routes/index.js';
import type { Route } from './routes/route.js';
import { buildInfo } from './routes/info.js';
import { Router } from './router.js';
import { AccessControl } from './access.js';
import { AccessLog } from './access_log.js';
import { resolveApiKey } from './auth.js';
import { validators } from './api/validate.js';
import { FORCED_STOP_GRACE_MS, drain, forceStop, type DrainResult, type Drainable } from './shutdown.js';
import { ServerStartError, type Transport } from './transport/transport.js';
import { selectTransport } from './transport/select.js';
import { BUILD_COPIES, Gate } from './gate.js';
import { ANSWER_MEMORY_SHARE, memoryLimit } from '../memory_quota.js';

export { ServerStartError } from './transport/transport.js';

export interface ServerOptions extends Partial<ServerConfig> {
  logger?: Logger;
  /** An engine already loaded; the server owns it from then on (and closes it on close()). */
  engine?: Engine;
  /** Collect Node's default process metrics (default true). */
  defaultMetrics?: boolean;
}

export class Server implements ExchangeHost, RouteContext, Drainable {
  readonly config: Readonly<ServerConfig>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly gate: Gate;
  readonly routes: readonly Route[] = ROUTES;
  engine: Engine | undefined;
  /** The port listened on (resolved when --port 0), after listen(). */
  port = 0;
  /** Which HTTP transport serves ('uws' or 'node'), after listen(). */
  transport: Transport['kind'] | undefined;
  #transport: Transport | undefined;
  #infoJson: string | undefined;
  #listening: Promise<number> | undefined;
  #draining = false;
  /** Exchanges started and not yet answered or aborted. */
  #open = new Set<Exchange>();
  #idleWaiters: Array<() => void> = [];
  #loading: Promise<Engine> | undefined;
  #closing: Promise<DrainResult> | undefined;
  #engineClosed: Promise<void> | undefined;
  readonly #apiKeyRequired: boolean;
  readonly #router: Router;
  readonly #accessLog: AccessLog;

  constructor(options: ServerOptions = {}) {
    const { logger, engine, defaultMetrics, ...rest } = options;
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
    this.#router = new Router(this, this, access);
    this.#accessLog = new AccessLog(this.logger, config.accessLogSample);
    const budget = config.maxInflightAnswerBytes || Math.floor(memoryLimit() * ANSWER_MEMORY_SHARE);
    this.gate = new Gate(Math.max(budget, BUILD_COPIES * config.maxAnswerBytes), config.maxWaiting);
    validators(config.maxClientBatchSize); // compiled now rather than on the first request
    this.metrics = new Metrics(
      {
        stats: () => this.engine?.stats(),
        ready: () => this.ready,
        draining: () => this.#draining,
        inFlight: () => this.#open.size,
        answerBytes: () => this.gate.usedBytes,
        waiting: () => this.gate.waiting,
      },
      { defaultMetrics },
    );
    if (engine) this.engine = engine;
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
    return `http://${host}:${this.port}`;
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
    const transport = selectTransport(this.config.transport, this.logger);
    const { host, port } = this.config;
    this.port = await transport.listen(host, port, (wire) => this.#router.dispatch(wire));
    this.#transport = transport;
    this.transport = transport.kind;
    this.logger.info('listening', { host, port: this.port, url: this.url, transport: transport.kind });
    return this.port;
  }

  /** Loads and warms the model (once); resolves when the server is ready. Rejects with a coded BertServeError. */
  load(): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    if (!this.#loading && this.#draining) return Promise.reject(new BertServeError('ERR_CLOSED', 'the server is closed'));
    if (!this.#loading) {
      const c = this.config;
      this.logger.info('loading model', { model: c.model, device: c.device, dtype: c.dtype });
      const options: Record<string, unknown> = { logger: this.logger };
      for (const o of ENGINE_OPTIONS) options[o.key] = c[o.key as keyof ServerConfig];
      // The server keeps a path history unless told "off"; the library keeps one only when given a file.
      options.pathHistory = c.pathHistory === 'off' ? '' : c.pathHistory || defaultPathHistory();
      this.#loading = Engine.load(options as EngineOptions).then((engine) => {
        this.engine = engine;
        const i = engine.info;
        this.logger.info('model loaded', {
          model: i.modelDir,
          task: i.task,
          architecture: i.architecture,
          device: i.device,
          dtype: i.dtype,
          workers: i.workers,
          intraOpThreads: i.intraOpThreads,
          blas: i.blas,
          malloc: i.malloc,
          torch: i.torchVersion,
          head: i.headPath,
          linear: i.linearKernel,
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
        if (!this.#draining) this.logger.info('ready', { url: this.#transport ? this.url : undefined });
        return engine;
      });
    }
    return this.#loading;
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
      let engine = this.engine;
      if (!engine && this.#loading) {
        try {
          engine = await this.#loading;
        } catch {
          return;
        } // failed to load: nothing to close
      }
      if (engine) await engine.close({ drain: drainQueued });
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
    if (ex.reservedBytes > 0) {
      const bytes = ex.reservedBytes;
      ex.reservedBytes = 0;
      this.gate.release(bytes);
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

  /** /info body: built once, at the first request after the model loaded (the transport is known then). */
  get infoJson(): string | undefined {
    if (this.#infoJson === undefined && this.engine && this.#transport) {
      this.#infoJson = buildInfo(this.engine, {
        config: this.config,
        inflightAnswerBytes: this.gate.budgetBytes,
        transport: this.transport,
        transportImplementation: this.#transport.implementation,
      });
    }
    return this.#infoJson;
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
