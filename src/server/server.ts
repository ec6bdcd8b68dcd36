// Server: the HTTP transport (uWebSockets.js or node:http, transport/select.ts), the routes and
// the lifecycle.
//
// Lifecycle: listen() opens the port (liveness answers at once, inference routes answer 503 while
// the model loads), load() loads and warms the engine and only then reports ready, close() drains
// (shutdown.ts). Threading: everything here runs on the JS thread; the engine does its work on its
// own native threads and completes promises back on this thread. Ownership: the Server owns its
// engine (loaded by it or handed to it) and closes it when it closes.
import { basename } from 'node:path';
import { Engine } from '../engine.js';
import { BertServeError, toBertServeError } from '../errors.js';
import { OPTIONS, packageVersion, type ServerConfig } from '../config.js';
import { TOKENIZER_COMPONENTS } from '../tokenizer_components.js';
import { Logger, errorFields } from '../logger.js';
import { Metrics } from '../metrics.js';
import { defaultPathHistory } from '../path_history.js';
import { Exchange, type ExchangeHost } from './exchange.js';
import type { RouteContext } from './admission.js';
import { rootRoute } from './routes/root.js';
import { embedAllRoute, embedPooledRoute } from './routes/embed.js';
import { openaiEmbeddingsRoute } from './routes/openai.js';
import { predictRoute, rerankRoute } from './routes/predict.js';
import { tokenizeRoute } from './routes/tokenize.js';
import { healthRoute, infoRoute, metricsRoute, readyRoute } from './routes/status.js';
import { DOCS_ASSETS, docsRoute, openapiRoute } from './routes/docs.js';
import { AccessControl } from './access.js';
import { AccessLog } from './access_log.js';
import { resolveApiKey } from './auth.js';
import { validators } from './api/validate.js';
import { FORCED_STOP_GRACE_MS, drain, forceStop, type DrainResult, type Drainable } from './shutdown.js';
import { ServerStartError, type Transport, type Wire } from './transport/transport.js';
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

type Handler = (ctx: RouteContext, ex: Exchange) => void | Promise<void>;

const ROUTES = new Map<string, Readonly<Record<string, Handler>>>([
  ['/', { POST: rootRoute }],
  ['/embed', { POST: embedPooledRoute }],
  ['/embed_all', { POST: embedAllRoute }],
  ['/v1/embeddings', { POST: openaiEmbeddingsRoute }],
  ['/predict', { POST: predictRoute }],
  ['/rerank', { POST: rerankRoute }],
  ['/tokenize', { POST: tokenizeRoute }],
  ['/health', { GET: healthRoute, HEAD: healthRoute }],
  ['/ready', { GET: readyRoute, HEAD: readyRoute }],
  ['/info', { GET: infoRoute, HEAD: infoRoute }],
  ['/metrics', { GET: metricsRoute, HEAD: metricsRoute }],
  ['/openapi.json', { GET: openapiRoute, HEAD: openapiRoute }],
  ...[...DOCS_ASSETS.keys()].map((path): [string, Record<string, Handler>] => [path, { GET: docsRoute, HEAD: docsRoute }]),
]);
const ALLOW = new Map([...ROUTES].map(([path, methods]) => [path, Object.keys(methods).join(', ')]));

function defaults(): ServerConfig {
  const out: Record<string, unknown> = {};
  for (const o of OPTIONS) out[o.key] = o.default;
  return out as unknown as ServerConfig;
}

export class Server implements ExchangeHost, RouteContext, Drainable {
  readonly config: Readonly<ServerConfig>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly gate: Gate;
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
  readonly #access: AccessControl;
  readonly #accessLog: AccessLog;

  constructor(options: ServerOptions = {}) {
    const { logger, engine, defaultMetrics, ...rest } = options;
    const config = { ...defaults() };
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (config as Record<string, unknown>)[k] = v;
    this.config = Object.freeze(config);
    this.logger = logger ?? new Logger({ level: config.logLevel, format: config.logFormat });
    try {
      this.#access = new AccessControl(resolveApiKey(config), config.corsAllowOrigin);
    } catch (e) {
      throw new ServerStartError('ERR_API_KEY', (e as Error).message);
    }
    this.#accessLog = new AccessLog(this.logger, config.accessLogSample);
    const budget = config.maxInflightAnswerBytes || Math.floor(memoryLimit() * ANSWER_MEMORY_SHARE);
    this.gate = new Gate(Math.max(budget, BUILD_COPIES * config.maxAnswerBytes), config.maxWaiting);
    validators(config.maxClientBatchSize); // compiled now rather than on the first request
    this.metrics = new Metrics({
      stats: () => this.engine?.stats(),
      ready: () => this.ready,
      draining: () => this.#draining,
      inFlight: () => this.#open.size,
      answerBytes: () => this.gate.usedBytes,
      waiting: () => this.gate.waiting,
    }, { defaultMetrics });
    if (engine) this.engine = engine;
  }

  get draining(): boolean { return this.#draining; }
  get sendTimeoutMs(): number { return this.config.sendTimeoutMs; }
  get ready(): boolean { return this.engine !== undefined && !this.#draining; }
  get inFlight(): number { return this.#open.size; }
  get apiKeyRequired(): boolean { return this.#access.keyRequired; }
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
    this.port = await transport.listen(host, port, (wire) => this.#dispatch(wire));
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
      this.#loading = Engine.load({
        model: c.model, device: c.device, dtype: c.dtype, workers: c.workers, intraOpThreads: c.intraOpThreads,
        maxBatchRequests: c.maxBatchRequests, maxBatchTokens: c.maxBatchTokens, maxBatchDelayMs: c.maxBatchDelayMs,
        sortByLength: c.sortByLength, batchOverheadTokens: c.batchOverheadTokens, jitOptimize: c.jitOptimize, maxTokens: c.maxTokens, truncate: c.truncate, maxQueue: c.maxQueue, warmup: c.warmup,
        pooling: c.pooling === 'auto' ? undefined : c.pooling as 'cls', maxPredictions: c.maxPredictions, maxMasks: c.maxMasks,
        pathHistory: c.pathHistory === 'off' ? '' : c.pathHistory || defaultPathHistory(),
      }).then((engine) => {
        this.engine = engine;
        const i = engine.info;
        this.logger.info('model loaded', {
          model: i.modelDir, task: i.task, architecture: i.architecture, device: i.device, dtype: i.dtype,
          workers: i.workers, intraOpThreads: i.intraOpThreads, blas: i.blas, malloc: i.malloc, torch: i.torchVersion,
          head: i.headPath, linear: i.linearKernel, cpuNativeBf16: i.cpuNativeBf16, vocabSize: i.vocabSize, maxPositionEmbeddings: i.maxPositionEmbeddings,
          batchOverheadTokens: i.batchOverheadTokens, singleThreadMaxTokens: i.singleThreadMaxTokens, loadMs: round(i.loadMs), warmupMs: round(i.warmupMs),
        });
        if (i.pathChange) {
          this.logger.warn('the model runs another way than at its last load', {
            model: i.modelDir, from: i.pathChange.from, to: i.pathChange.to, now: i.headPath, lastLoad: i.pathChange.since,
            modelChanged: i.pathChange.modelChanged, previousVersion: i.pathChange.previousVersion,
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
        try { engine = await this.#loading; } catch { return; } // failed to load: nothing to close
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

  // ---- routing

  #dispatch(wire: Wire): void {
    const ex = new Exchange(wire, this); // registers the abort handler first
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
      const methods = ROUTES.get(ex.url);
      if (!methods) {
        ex.sendError(404, 'not_found', `no route for ${ex.method} ${ex.url}`);
        return;
      }
      ex.route = ex.url;
      if (this.#access.intercept(ex, ALLOW.get(ex.url)!)) return;
      const handler = methods[ex.method];
      if (!handler) {
        ex.sendError(405, 'method_not_allowed', `method ${ex.method} is not allowed on ${ex.url}; allowed: ${ALLOW.get(ex.url)}`, [['Allow', ALLOW.get(ex.url)!]]);
        return;
      }
      const result = handler(this, ex);
      if (result) result.catch((e) => this.#unexpected(ex, e));
    } catch (e) {
      this.#unexpected(ex, e);
    }
  }

  #unexpected(ex: Exchange, e: unknown): void {
    this.logger.error('unexpected error in a request handler', { route: ex.route, request_id: ex.requestId, ...errorFields(e) });
    if (!ex.done) {
      const err = toBertServeError(e);
      ex.sendError(500, 'backend', this.logger.enabled('debug') ? `internal server error: ${err.message}` : 'internal server error');
    }
  }

  /** /info body: built once, at the first request after the model loaded (the transport is known then). */
  get infoJson(): string | undefined {
    if (this.#infoJson === undefined && this.engine && this.#transport) this.#infoJson = this.#buildInfo(this.engine);
    return this.#infoJson;
  }

  #buildInfo(engine: Engine): string {
    const i = engine.info;
    const c = this.config;
    return JSON.stringify({
      model_id: basename(i.modelDir),
      task: i.task,
      architecture: i.architecture,
      model_type: i.modelType,
      family: i.family,
      token_types: i.tokenTypes,
      position_ids: i.positionOffset > 0 ? `from padding_idx + 1 (${i.positionOffset})` : 'absolute',
      ...i.taskInfo,
      head: i.headPath,
      head_path_id: i.pathId,
      head_path_change: i.pathChange ? { from: i.pathChange.from, to: i.pathChange.to, since: i.pathChange.since, model_changed: i.pathChange.modelChanged } : null,
      forward_signature: i.forwardSignature,
      cpu_native_bf16: i.cpuNativeBf16,
      device: i.device,
      dtype: i.dtype,
      vocab_size: i.vocabSize,
      tokenizer: tokenizerInfo(engine),
      hidden_size: i.hiddenSize,
      max_position_embeddings: i.maxPositionEmbeddings,
      max_input_length: i.maxTokens,
      truncate: engine.options.truncate,
      max_batch_tokens: engine.options.maxBatchTokens,
      max_batch_requests: engine.options.maxBatchRequests,
      max_batch_delay_ms: engine.options.maxBatchDelayMs,
      max_concurrent_requests: engine.options.maxQueue,
      max_client_batch_size: c.maxClientBatchSize,
      max_body_bytes: c.maxBodyBytes,
      max_answer_bytes: c.maxAnswerBytes,
      max_inflight_answer_bytes: this.gate.budgetBytes,
      max_waiting: c.maxWaiting,
      request_timeout_ms: c.requestTimeoutMs,
      workers: i.workers,
      intra_op_threads: i.intraOpThreads,
      batch_overhead_tokens: i.batchOverheadTokens,
      single_thread_max_tokens: i.singleThreadMaxTokens,
      linear_kernel: i.linearKernel,
      blas: i.blas,
      malloc: i.malloc,
      torch_version: i.torchVersion,
      http_transport: this.transport,
      http_implementation: this.#transport?.implementation,
      version: packageVersion(),
    });
  }
}

/** /info's tokenizer section: what the model directory's tokenizer is made of, and what is supported. */
function tokenizerInfo(engine: Engine): Record<string, unknown> {
  const t = engine.tokenizer.info;
  return {
    source: basename(t.source),
    model: t.model,
    normalizer: t.pipeline.normalizer,
    pre_tokenizer: t.pipeline.preTokenizer,
    post_processor: t.pipeline.postProcessor,
    decoder: t.pipeline.decoder,
    special_tokens: t.specialTokens,
    special_tokens_added: t.addedTokens,
    supported_components: TOKENIZER_COMPONENTS,
  };
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
