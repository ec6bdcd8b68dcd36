// Prometheus metrics for one server, in a registry of its own (several servers can live in one
// process). HTTP counters and histograms are updated as responses are written; engine gauges,
// counters and per-batch histograms (kept natively by the scheduler) are read from engine.stats()
// when /metrics is scraped, so serving costs nothing extra.
// Node's process metrics (prom-client's default collectors, under their standard unprefixed names
// process_* and nodejs_*, which existing Node.js dashboards query) live in a second registry whose text is
// rendered at most once per PROCESS_METRICS_TTL_MS: a collection took 2.8-4 ms here, most of it
// reading /proc synchronously (resident memory 0.5 ms, open fds 0.26 ms) and a loop turn for the
// event-loop-lag probe, against ~0.4 ms for the server's own metrics, which stay exact at every
// scrape. So any number of scrapers cost at most one collection per second. JS thread only.
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineStats } from './engine.js';
import type { Timings } from './answers.js';
import type { ThreadBudgetStats } from './thread_budget.js';
import type { NativeHistogram } from './native/types.js';

/** How long the rendered process metrics are reused. */
export const PROCESS_METRICS_TTL_MS = 1000;

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface MetricsSource {
  /** Engine statistics, or undefined while the model loads. */
  stats(): EngineStats | undefined;
  /** 1 when ready to serve. */
  ready(): boolean;
  draining(): boolean;
  /** HTTP requests being handled (body being read, queued or running). */
  inFlight(): number;
  /** Bytes of the answer memory budget held, and requests waiting for room (server/gate.ts). */
  answerBytes(): number;
  waiting(): number;
  /** Each served model's resident memory (server/model_memory.ts), by name. */
  modelMemory?(): ReadonlyArray<readonly [string, number]>;
  /** The thread budget the served models share, when several do (thread_budget.ts). */
  threadBudget?(): ThreadBudgetStats | undefined;
}

export class Metrics {
  readonly registry = new Registry();
  /** Node's default process metrics (undefined when turned off). */
  readonly #process: Registry | undefined;
  #processText = '';
  #processAt = -Infinity;
  #processRendering: Promise<string> | undefined;
  readonly #requests: Counter<'route' | 'method' | 'status'>;
  readonly #duration: Histogram<'route'>;
  readonly #tokenization: Histogram<'route'>;
  readonly #queue: Histogram<'route'>;
  readonly #threadWait: Histogram<'route'>;
  readonly #inference: Histogram<'route'>;
  readonly #clientClosed: Counter<'route' | 'stage'>;
  /** source.stats(), taken once per scrape. */
  readonly #stats: () => EngineStats | undefined;

  constructor(source: MetricsSource, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'bert_serve_http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'bert_serve_http_request_duration_seconds',
      help: 'Time from request arrival to the last byte written, by route',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#tokenization = new Histogram({
      name: 'bert_serve_tokenization_duration_seconds',
      help: 'Tokenization time per successful request',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#queue = new Histogram({
      name: 'bert_serve_queue_duration_seconds',
      help: 'Time waiting for a batch per successful request',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#threadWait = new Histogram({
      name: 'bert_serve_thread_wait_duration_seconds',
      help: "Time a successful request's batch waited for the CPU threads other models' batches held (several models on one thread budget)",
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#inference = new Histogram({
      name: 'bert_serve_inference_duration_seconds',
      help: 'Batch inference time per successful request',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#clientClosed = new Counter({
      name: 'bert_serve_client_closed_total',
      help: 'Requests whose client disconnected before the answer was written (stage: body, engine or send)',
      labelNames: ['route', 'stage'],
      registers,
    });

    // One engine snapshot per scrape for the ~20 metrics that read it (each read crosses into the
    // addon and refreshes malloc's statistics); dropped once the scrape's promise chain is done.
    let snapshot: { stats: EngineStats | undefined } | undefined;
    const stats = () => {
      if (!snapshot) {
        snapshot = { stats: source.stats() };
        setImmediate(() => {
          snapshot = undefined;
        });
      }
      return snapshot.stats;
    };
    this.#stats = stats;
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const v = read();
          if (v !== undefined) this.set(v);
        },
      });
    gauge('bert_serve_ready', '1 when the model is loaded and the server is not draining', () => (source.ready() ? 1 : 0));
    gauge('bert_serve_draining', '1 while shutting down', () => (source.draining() ? 1 : 0));
    gauge('bert_serve_http_in_flight', 'HTTP requests being handled', () => source.inFlight());
    gauge(
      'bert_serve_inflight_answer_bytes',
      'Bytes of the answer memory budget held by requests in the engine or being written (--max-inflight-answer-bytes)',
      () => source.answerBytes(),
    );
    gauge('bert_serve_waiting_requests', 'Requests waiting for room in the queue or the memory budget (--max-waiting)', () =>
      source.waiting(),
    );
    gauge(
      'bert_serve_pending_requests',
      'Texts accepted by the engine and not yet answered (bounded by --max-queue)',
      () => stats()?.pending ?? 0,
    );
    gauge('bert_serve_queue_depth', 'Texts waiting for a batch in the engine', () => stats()?.queueDepth ?? 0);
    gauge('bert_serve_batch_in_flight', 'Texts in batches running now', () => stats()?.inFlight ?? 0);
    gauge('bert_serve_batch_size_mean', 'Mean texts per batch since start', () => stats()?.meanBatchSize ?? 0);
    gauge(
      'bert_serve_running_batch_seconds',
      'How long the longest-running batch has been running (0 when idle); a hung model keeps growing it',
      () => (stats()?.runningBatchMs ?? 0) / 1000,
    );
    // Several models on one thread budget: a batch that waits for another model's batch shows here
    // (and in x-thread-wait-time), not as a slower forward.
    gauge(
      'bert_serve_thread_budget_in_use',
      'Threads of the shared thread budget leased by running batches (several models)',
      () => source.threadBudget?.()?.inUse,
    );
    gauge(
      'bert_serve_thread_budget_waiting',
      "Batches waiting now for threads other models' batches hold (several models)",
      () => source.threadBudget?.()?.waiting,
    );
    // Where the model's memory is: weights and live activations, and freed activations kept for the
    // next batch (unmapped after 10 s unused); docs/performance.md, "The allocator".
    gauge(
      'bert_serve_tensor_memory_in_use_bytes',
      'Bytes of large tensors (>= 128 KiB) in use: weights and live activations',
      () => stats()?.tensorBytesInUse ?? 0,
    );
    gauge(
      'bert_serve_tensor_memory_cached_bytes',
      'Bytes of freed large tensors kept for reuse by the next batches',
      () => stats()?.tensorBytesCached ?? 0,
    );
    new Gauge({
      name: 'bert_serve_model_memory_bytes',
      help: "Resident memory each served model's load added (weights, engine, warm-up buffers; docs/http.md#memory-per-model)",
      labelNames: ['model'],
      registers,
      collect() {
        this.reset(); // an unloaded model's series goes
        for (const [model, bytes] of source.modelMemory?.() ?? []) this.set({ model }, bytes);
      },
    });
    // The rest of the native memory (tokenizer, answers, socket buffers, BLAS scratch, small tensors).
    gauge(
      'bert_serve_malloc_allocated_bytes',
      "Bytes the process's malloc has handed out and not had back (jemalloc stats.allocated; glibc mallinfo2)",
      () => stats()?.mallocBytesAllocated ?? 0,
    );
    gauge(
      'bert_serve_malloc_resident_bytes',
      "Bytes the process's malloc holds (jemalloc stats.resident; glibc: its heaps and mmapped chunks)",
      () => stats()?.mallocBytesResident ?? 0,
    );

    // Engine totals are monotonic: exposed as counters advanced by the difference at each scrape.
    const total = (name: string, help: string, read: (s: EngineStats) => number) => {
      let last = 0;
      return new Counter({
        name,
        help,
        registers,
        collect() {
          const s = stats();
          if (!s) return;
          const v = read(s);
          if (v > last) {
            this.inc(v - last);
            last = v;
          }
        },
      });
    };
    total('bert_serve_batches_total', 'Batches run by the engine', (s) => s.batchesRun);
    total('bert_serve_engine_requests_total', 'Texts run through the model', (s) => s.requestsRun);
    total(
      'bert_serve_dropped_cancelled_total',
      'Texts dropped before reaching the model because their client went away',
      (s) => s.droppedCancelled,
    );
    total(
      'bert_serve_dropped_expired_total',
      'Texts dropped before reaching the model because their deadline passed',
      (s) => s.droppedExpired,
    );
    total('bert_serve_tokens_total', 'Real (unpadded) tokens run through the model', (s) => s.realTokens);
    total(
      'bert_serve_tensor_blocks_reused_total',
      'Large tensor allocations served from freed blocks (no new memory)',
      (s) => s.tensorBlocksReused,
    );
    total('bert_serve_tensor_blocks_mapped_total', 'Large tensor allocations that mapped new memory', (s) => s.tensorBlocksMapped);
    total(
      'bert_serve_tensor_blocks_unmapped_total',
      'Freed large tensor blocks given back to the system (unused for 10 s, or over the cap)',
      (s) => s.tensorBlocksUnmapped,
    );
    total(
      'bert_serve_non_finite_outputs_total',
      "Requests failed because the model's output they are answered from held NaN or Inf (error_type non_finite_output)",
      (s) => s.nonFiniteOutputs,
    );
    let waitedLast = 0;
    new Counter({
      name: 'bert_serve_thread_budget_waits_total',
      help: "Batches that waited for threads other models' batches held, or for their turn (several models)",
      registers,
      collect() {
        const v = source.threadBudget?.()?.waited ?? 0;
        if (v > waitedLast) this.inc(v - waitedLast);
        waitedLast = Math.max(waitedLast, v);
      },
    });
    let givenUpLast = 0;
    new Counter({
      name: 'bert_serve_thread_budget_given_up_total',
      help: "Threads that running batches gave up at a safe point to another model's batch (several models, --lease-split)",
      registers,
      collect() {
        const v = source.threadBudget?.()?.givenUp ?? 0;
        if (v > givenUpLast) this.inc(v - givenUpLast);
        givenUpLast = Math.max(givenUpLast, v);
      },
    });
    total('bert_serve_padded_tokens_total', 'Padded tokens run through the model (batch length x texts)', (s) => s.paddedTokens);

    if (options.defaultMetrics ?? true) {
      this.#process = new Registry();
      collectDefaultMetrics({ register: this.#process });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    this.#requests.inc({ route, method, status: String(status) });
    this.#duration.observe({ route }, seconds);
  }

  observeTimings(route: string, t: Timings): void {
    this.#tokenization.observe({ route }, t.tokenizeUs / 1e6);
    this.#queue.observe({ route }, t.queueUs / 1e6);
    this.#threadWait.observe({ route }, t.threadWaitUs / 1e6);
    this.#inference.observe({ route }, t.inferenceUs / 1e6);
  }

  clientClosed(route: string, stage: 'body' | 'engine' | 'send'): void {
    this.#clientClosed.inc({ route, stage });
  }

  /** The exposition text: the server's metrics as of now, the process metrics as of <= 1 s ago. */
  async render(): Promise<string> {
    const own = (await this.registry.metrics()) + this.#batchHistograms();
    return this.#process ? own + (await this.#renderProcess()) : own;
  }

  /**
   * Per-batch histograms, kept by the engine as bucket counts (one increment per batch, under the
   * scheduler's lock): written out here rather than replayed into prom-client histograms.
   */
  #batchHistograms(): string {
    const s = this.#stats();
    if (!s) return '';
    return (
      histogramText(
        'bert_serve_batch_size',
        'Texts per batch run by the model (bounded by --max-batch-requests)',
        s.batchSizeHistogram,
        s.requestsRun,
      ) +
      histogramText(
        'bert_serve_batch_tokens',
        'Padded tokens per batch run by the model: longest text x texts (bounded by --max-batch-tokens)',
        s.batchTokensHistogram,
        s.paddedTokens,
      )
    );
  }

  #renderProcess(): Promise<string> | string {
    if (performance.now() - this.#processAt < PROCESS_METRICS_TTL_MS) return this.#processText;
    // Concurrent scrapes share one collection.
    this.#processRendering ??= this.#process!.metrics()
      .then((text) => {
        this.#processText = text;
        this.#processAt = performance.now();
        return text;
      })
      .finally(() => {
        this.#processRendering = undefined;
      });
    return this.#processRendering;
  }
}

/** Prometheus text for a histogram given per-bucket counts (the last one past the largest bound). */
function histogramText(name: string, help: string, h: NativeHistogram, sum: number): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} histogram\n`;
  let cumulative = 0;
  h.bounds.forEach((bound, i) => {
    cumulative += h.counts[i];
    out += `${name}_bucket{le="${bound}"} ${cumulative}\n`;
  });
  cumulative += h.counts[h.bounds.length];
  return out + `${name}_bucket{le="+Inf"} ${cumulative}\n${name}_sum ${sum}\n${name}_count ${cumulative}\n`;
}
