// Engine: the library face of bert-serve. Wraps the native engine (native/addon/engine_wrap.cc).
//
// Requests made in the same tick are handed to native code in ONE call (flushed on a microtask);
// the native engine tokenizes, batches and runs them on its own threads and completes each finished
// batch with one call back into JS. The pending count is the admission bound (maxQueue): past it a
// request is refused at once with ERR_QUEUE_FULL, before it costs anything.
import { loadBinding } from './native/binding.js';
import type { NativeEngine, NativeEngineOptions, NativeModelInfo, NativeStats } from './native/types.js';
import { BertServeError, invalidArgument, toBertServeError } from './errors.js';
import { Tokenizer } from './tokenizer.js';

export interface EngineOptions {
  /** Model directory (model.pt, config.json, vocab.txt/tokenizer.json). */
  model: string;
  /** "cpu" (default), "cuda" or "cuda:N". */
  device?: string;
  /** "float32" (default), "float16", "bfloat16" (half types need CUDA). */
  dtype?: 'float32' | 'float16' | 'bfloat16';
  /** Native worker threads running batches (default: 1). */
  workers?: number;
  /** Intra-op threads per worker (default: cores / workers). */
  intraOpThreads?: number;
  /** Most requests in one batch (default 32). */
  maxBatchRequests?: number;
  /** Most padded tokens (longest x count) in one batch (default 16384). */
  maxBatchTokens?: number;
  /** How long a batch may wait for more requests while another batch runs, in ms (default 1). */
  maxBatchDelayMs?: number;
  /** Sort queued requests by length when forming batches (default true). */
  sortByLength?: boolean;
  /** Per-request token limit incl. [CLS]/[SEP]; 0 = the model's maximum (default). */
  maxTokens?: number;
  /** Over maxTokens: truncate (true) or refuse with ERR_INPUT_TOO_LONG (false, default). */
  truncate?: boolean;
  /** Most requests pending (queued or running) before new ones are refused with ERR_QUEUE_FULL (default 1024). */
  maxQueue?: number;
  /** Run warm-up forwards before load() resolves (default true). */
  warmup?: boolean;
  /**
   * TorchScript's optimizing (profiling) executor: fuses ops but re-specializes for every new input
   * shape, seconds each (PITFALLS 15). Off by default: see docs/performance.md for the measurement.
   */
  jitOptimize?: boolean;
  /**
   * Fixed cost of one batch in padded-token equivalents, which the length-sorted batch picker weighs
   * against padding (docs/batching.md). 0 (default): measured for the model at warm-up.
   */
  batchOverheadTokens?: number;
}

export interface RequestOptions {
  /** Aborting cancels the request: it is dropped before it reaches the model if not yet batched. */
  signal?: AbortSignal;
  /** Relative deadline in ms: a request not batched by then fails with ERR_DEADLINE_EXCEEDED. */
  timeoutMs?: number;
}

export interface FillMaskOptions extends RequestOptions {
  /** Number of predictions per mask (default 5). */
  topK?: number;
  /** Restrict candidates to these words, as Hugging Face's `targets`. */
  targets?: string[];
}

export interface FillMaskPrediction {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

/** One text with one mask -> predictions; several masks -> one list per mask. */
export type FillMaskOutput = FillMaskPrediction[] | FillMaskPrediction[][];

export interface Timings {
  tokenizeUs: number;
  queueUs: number;
  inferenceUs: number;
}

/** An answer already serialized by the native engine, ready to be written as an HTTP body. */
export interface JsonAnswer {
  body: Buffer;
  timings: Timings;
}

export interface TokenizeOptions extends RequestOptions {
  addSpecialTokens?: boolean;
}

/** text-embeddings-inference's /tokenize token shape. */
export interface TokenInfo {
  id: number;
  text: string;
  special: boolean;
  start: number | null;
  stop: number | null;
}

export type ModelInfo = NativeModelInfo;

export interface EngineStats extends NativeStats {
  pending: number;
}

const enum Kind { FillMask = 0, Tokenize = 1 }

interface Pending {
  resolve: (a: JsonAnswer) => void;
  reject: (e: BertServeError) => void;
  stack: Error;
  cleanup?: () => void;
}

interface Queued {
  id: number;
  kind: Kind;
  text: string;
  topK: number;
  targets: string[] | null;
  addSpecialTokens: boolean;
  timeoutMs: number;
}

export class Engine {
  readonly info: ModelInfo;
  readonly tokenizer: Tokenizer;
  readonly options: Readonly<Required<Omit<EngineOptions, 'intraOpThreads'>>> & { intraOpThreads: number };
  #native: NativeEngine;
  #pending = new Map<number, Pending>();
  #queued: Queued[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(native: NativeEngine, info: ModelInfo, options: Engine['options'], bridge: Bridge) {
    this.#native = native;
    this.info = info;
    this.options = options;
    this.tokenizer = Tokenizer.fromNative(native.tokenizer());
    bridge.engine = this;
  }

  /** Loads and warms a model on native threads; resolves when it is ready to serve. */
  static async load(options: EngineOptions): Promise<Engine> {
    const stack = new Error();
    const opts = normalizeOptions(options);
    const binding = (() => {
      try { return loadBinding(); } catch (e) { throw toBertServeError(e, stack); }
    })();
    const bridge = new Bridge();
    const native = new binding.Engine((ids, codes, payloads, timings) => bridge.complete(ids, codes, payloads, timings));
    let info: NativeModelInfo;
    try {
      info = await native.load(toNativeOptions(opts));
    } catch (e) {
      throw toBertServeError(e, stack);
    }
    return new Engine(native, info, opts, bridge);
  }

  /** Requests accepted and not yet answered (the admission bound is options.maxQueue). */
  get pending(): number {
    return this.#pending.size;
  }

  /** Fill-mask with the Hugging Face pipeline's result shape. */
  async fillMask(text: string, options?: FillMaskOptions): Promise<FillMaskOutput>;
  async fillMask(texts: string[], options?: FillMaskOptions): Promise<FillMaskOutput[] | FillMaskOutput>;
  async fillMask(input: string | string[], options: FillMaskOptions = {}): Promise<unknown> {
    const answer = await this.fillMaskJson(input, options);
    return JSON.parse(answer.body.toString('utf8'));
  }

  /**
   * Fill-mask answered as JSON bytes, serialized natively: exactly what fillMask() would return,
   * encoded (a list input of length 1 gives that input's answer, as Hugging Face does).
   */
  fillMaskJson(input: string | string[], options: FillMaskOptions = {}): Promise<JsonAnswer> {
    const stack = new Error();
    try {
      const texts = checkInputs(input);
      const topK = options.topK ?? 5;
      if (!Number.isInteger(topK) || topK < 1 || topK > 1000) throw invalidArgument('topK', 'an integer between 1 and 1000', topK);
      let targets: string[] | null = null;
      if (options.targets !== undefined) {
        if (!Array.isArray(options.targets) || options.targets.length === 0 || !options.targets.every((t) => typeof t === 'string' && t.length > 0)) {
          throw invalidArgument('targets', 'a non-empty array of non-empty strings', options.targets);
        }
        targets = options.targets;
      }
      const timeoutMs = checkTimeout(options.timeoutMs);
      const parts = texts.map((text) => this.#enqueue({ kind: Kind.FillMask, text, topK, targets, addSpecialTokens: true, timeoutMs }, options.signal, stack));
      if (typeof input === 'string' || texts.length === 1) return parts[0];
      return joinAnswers(parts);
    } catch (e) {
      return Promise.reject(toBertServeError(e, stack));
    }
  }

  /** Tokenizes on the engine's threads (not the JS thread). */
  async tokenize(text: string, options: TokenizeOptions = {}): Promise<TokenInfo[]> {
    const answer = await this.tokenizeJson(text, options);
    return JSON.parse(answer.body.toString('utf8'))[0];
  }

  /** TEI /tokenize answer as JSON bytes: one list of tokens per input. */
  tokenizeJson(input: string | string[], options: TokenizeOptions = {}): Promise<JsonAnswer> {
    const stack = new Error();
    try {
      const texts = checkInputs(input);
      const add = options.addSpecialTokens ?? true;
      if (typeof add !== 'boolean') throw invalidArgument('addSpecialTokens', 'a boolean', add);
      const timeoutMs = checkTimeout(options.timeoutMs);
      const parts = texts.map((text) => this.#enqueue({ kind: Kind.Tokenize, text, topK: 0, targets: null, addSpecialTokens: add, timeoutMs }, options.signal, stack));
      return joinAnswers(parts);
    } catch (e) {
      return Promise.reject(toBertServeError(e, stack));
    }
  }

  stats(): EngineStats {
    return { ...this.#native.stats(), pending: this.#pending.size };
  }

  /**
   * Stops the engine. drain (default true): everything accepted is answered first; otherwise queued
   * requests are rejected with ERR_CLOSED. Joins every native thread; afterwards the process can exit.
   */
  close(options: { drain?: boolean } = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#flush();
    this.#closing = this.#native.close(options.drain ?? true).then(() => {
      // Anything still pending can no longer be answered natively.
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.cleanup?.();
        p.reject(toBertServeError(new BertServeError('ERR_CLOSED', 'the engine was closed'), p.stack));
      }
    });
    return this.#closing;
  }

  #enqueue(q: Omit<Queued, 'id'>, signal: AbortSignal | undefined, stack: Error): Promise<JsonAnswer> {
    if (this.#closed) throw new BertServeError('ERR_CLOSED', 'the engine is closed');
    if (this.#pending.size >= this.options.maxQueue) {
      throw new BertServeError('ERR_QUEUE_FULL', `too many pending requests (maxQueue ${this.options.maxQueue})`);
    }
    if (signal?.aborted) throw new BertServeError('ERR_CANCELLED', 'the request was cancelled');
    const id = this.#nextId++;
    return new Promise<JsonAnswer>((resolve, reject) => {
      const p: Pending = { resolve, reject, stack };
      if (signal) {
        const onAbort = () => this.#cancel(id);
        signal.addEventListener('abort', onAbort, { once: true });
        p.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.#pending.set(id, p);
      this.#queued.push({ id, ...q });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #cancel(id: number): void {
    const p = this.#pending.get(id);
    if (!p) return;
    const idx = this.#queued.findIndex((q) => q.id === id);
    if (idx >= 0) this.#queued.splice(idx, 1);
    else this.#native.cancel(id);
    // The native side still answers it (dropped or finished); that answer is ignored.
    this.#pending.delete(id);
    p.cleanup?.();
    p.reject(toBertServeError(new BertServeError('ERR_CANCELLED', 'the request was cancelled'), p.stack));
  }

  #flush(): void {
    this.#flushScheduled = false;
    const qs = this.#queued;
    if (qs.length === 0) return;
    this.#queued = [];
    const n = qs.length;
    const ids = new Float64Array(n), kinds = new Uint8Array(n), special = new Uint8Array(n), topK = new Int32Array(n), deadlines = new Float64Array(n);
    const texts = new Array<string>(n), targets = new Array<string[] | null>(n);
    for (let i = 0; i < n; i++) {
      const q = qs[i];
      ids[i] = q.id; kinds[i] = q.kind; special[i] = q.addSpecialTokens ? 1 : 0; topK[i] = q.topK; deadlines[i] = q.timeoutMs; texts[i] = q.text; targets[i] = q.targets;
    }
    try {
      this.#native.submit({ ids, kinds, texts, topK, targets, addSpecialTokens: special, deadlinesMs: deadlines });
    } catch (e) {
      const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'ERR_INTERNAL';
      for (const q of qs) this.#settle(q.id, code, (e as Error).message ?? String(e), undefined);
    }
  }

  /** Called through the bridge once per finished native batch. */
  _complete(ids: Float64Array, codes: string[], payloads: Array<Buffer | string>, timings: Float64Array): void {
    for (let i = 0; i < ids.length; i++) {
      const t: Timings = { tokenizeUs: timings[3 * i], queueUs: timings[3 * i + 1], inferenceUs: timings[3 * i + 2] };
      this.#settle(ids[i], codes[i], payloads[i], t);
    }
  }

  #settle(id: number, code: string, payload: Buffer | string | undefined, timings: Timings | undefined): void {
    const p = this.#pending.get(id);
    if (!p) return; // cancelled earlier: already answered
    this.#pending.delete(id);
    p.cleanup?.();
    if (code === '') {
      p.resolve({ body: payload as Buffer, timings: timings ?? { tokenizeUs: 0, queueUs: 0, inferenceUs: 0 } });
    } else {
      const err = Object.assign(new Error(typeof payload === 'string' ? payload : 'request failed'), { code });
      p.reject(toBertServeError(err, p.stack));
    }
  }
}

/** Lets the native completion callback exist before the Engine object does. */
class Bridge {
  engine: Engine | undefined;
  complete(ids: Float64Array, codes: string[], payloads: Array<Buffer | string>, timings: Float64Array): void {
    this.engine?._complete(ids, codes, payloads, timings);
  }
}

function checkInputs(input: string | string[]): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) throw invalidArgument('inputs', 'a string or a non-empty array of strings', input);
  for (let i = 0; i < input.length; i++) {
    if (typeof input[i] !== 'string') throw invalidArgument(`inputs[${i}]`, 'a string', input[i]);
  }
  return input;
}

function checkTimeout(t: number | undefined): number {
  if (t === undefined) return 0;
  if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) throw invalidArgument('timeoutMs', 'a positive number of milliseconds', t);
  return t;
}

/** Joins already-serialized answers into one JSON list without re-encoding them. */
async function joinAnswers(parts: Promise<JsonAnswer>[]): Promise<JsonAnswer> {
  const answers = await Promise.all(parts);
  const bufs: Buffer[] = [Buffer.from('[')];
  const timings: Timings = { tokenizeUs: 0, queueUs: 0, inferenceUs: 0 };
  answers.forEach((a, i) => {
    if (i > 0) bufs.push(Buffer.from(','));
    bufs.push(a.body);
    timings.tokenizeUs = Math.max(timings.tokenizeUs, a.timings.tokenizeUs);
    timings.queueUs = Math.max(timings.queueUs, a.timings.queueUs);
    timings.inferenceUs = Math.max(timings.inferenceUs, a.timings.inferenceUs);
  });
  bufs.push(Buffer.from(']'));
  return { body: Buffer.concat(bufs), timings };
}

function positiveInt(name: string, v: unknown, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalidArgument(name, `an integer >= ${min}`, v);
  return v;
}

function normalizeOptions(o: EngineOptions): Engine['options'] {
  if (o === null || typeof o !== 'object') throw invalidArgument('options', 'an object', o);
  if (typeof o.model !== 'string' || o.model.length === 0) throw invalidArgument('model', 'a model directory path', o.model);
  const device = o.device ?? 'cpu';
  if (typeof device !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(device)) throw invalidArgument('device', '"cpu", "cuda" or "cuda:N"', device);
  const dtype = o.dtype ?? 'float32';
  if (!['float32', 'float16', 'bfloat16'].includes(dtype)) throw invalidArgument('dtype', '"float32", "float16" or "bfloat16"', dtype);
  const delay = o.maxBatchDelayMs ?? 1;
  if (typeof delay !== 'number' || !(delay >= 0) || delay > 10_000) throw invalidArgument('maxBatchDelayMs', 'a number of ms between 0 and 10000', delay);
  for (const b of ['sortByLength', 'truncate', 'warmup', 'jitOptimize'] as const) {
    if (o[b] !== undefined && typeof o[b] !== 'boolean') throw invalidArgument(b, 'a boolean', o[b]);
  }
  return {
    model: o.model,
    device,
    dtype,
    workers: positiveInt('workers', o.workers, 1),
    intraOpThreads: positiveInt('intraOpThreads', o.intraOpThreads, 0, 0),
    maxBatchRequests: positiveInt('maxBatchRequests', o.maxBatchRequests, 32),
    maxBatchTokens: positiveInt('maxBatchTokens', o.maxBatchTokens, 16384),
    maxBatchDelayMs: delay,
    sortByLength: o.sortByLength ?? true,
    maxTokens: positiveInt('maxTokens', o.maxTokens, 0, 0),
    truncate: o.truncate ?? false,
    maxQueue: positiveInt('maxQueue', o.maxQueue, 1024),
    warmup: o.warmup ?? true,
    jitOptimize: o.jitOptimize ?? false,
    batchOverheadTokens: positiveInt('batchOverheadTokens', o.batchOverheadTokens, 0, 0),
  };
}

function toNativeOptions(o: Engine['options']): NativeEngineOptions {
  return {
    model: o.model, device: o.device, dtype: o.dtype, workers: o.workers, intraOpThreads: o.intraOpThreads,
    maxBatchRequests: o.maxBatchRequests, maxBatchTokens: o.maxBatchTokens, maxDelayUs: Math.round(o.maxBatchDelayMs * 1000),
    sortByLength: o.sortByLength, maxTokens: o.maxTokens, truncate: o.truncate, warmup: o.warmup, jitOptimize: o.jitOptimize,
    batchOverheadTokens: o.batchOverheadTokens,
  };
}

