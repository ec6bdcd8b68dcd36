// Engine: the library face of bert-serve. Wraps the native engine (native/addon/engine_wrap.cc).
//
// Requests made in the same tick are handed to native code in ONE call (flushed on a microtask);
// the native engine tokenizes, batches and runs them on its own threads and completes each finished
// batch with one call back into JS. The pending count is the admission bound (maxQueue): past it a
// request is refused at once with ERR_QUEUE_FULL, before it costs anything.
import { loadBinding } from './native/binding.js';
import type { NativeEngine, NativeEngineOptions, NativeModelInfo, NativeStats } from './native/types.js';
import { BertServeError, invalidArgument, toBertServeError, type ErrorCode } from './errors.js';
import { Tokenizer } from './tokenizer.js';
import { defaultIntraOpThreads } from './cpu_quota.js';
import { packageVersion } from './config.js';
import { recordPath, type PathChange } from './path_history.js';
import {
  classifyParams, embedParams, fillMaskParams, tokenClassifyParams, truncationFlags,
  type ClassifyParams, type EmbedParams, type FillMaskParams, type TextInput, type TokenClassifyParams, type TruncationOptions,
} from './task_options.js';

export type { TextInput, AggregationStrategy } from './task_options.js';

export interface EngineOptions {
  /** Model directory (model.pt, config.json, vocab.txt/tokenizer.json). */
  model: string;
  /** "cpu" (default), "cuda" or "cuda:N". */
  device?: string;
  /** "float32" (default), "float16", "bfloat16" (half types need CUDA). */
  dtype?: 'float32' | 'float16' | 'bfloat16';
  /** Native worker threads running batches (default: 1). */
  workers?: number;
  /** Intra-op threads per worker (default: the CPU budget, i.e. the cgroup quota or the cores, / workers). */
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
   * shape, seconds each (docs/traps.md#15). Off by default: see docs/performance.md for the measurement.
   */
  jitOptimize?: boolean;
  /**
   * Fixed cost of one batch in padded-token equivalents, which the length-sorted batch picker weighs
   * against padding (docs/batching.md). 0 (default): measured for the model at warm-up.
   */
  batchOverheadTokens?: number;
  /** Embeddings: cls | mean | max | lasttoken. Default: the model directory's sentence-transformers pooling, else cls. */
  pooling?: 'cls' | 'mean' | 'max' | 'lasttoken';
  /** Fill-mask: most predictions (top_k x masks, summed over the inputs) one call may ask for (default 2000). */
  maxPredictions?: number;
  /** Fill-mask: most mask tokens in one text (default 64). */
  maxMasks?: number;
  /**
   * A file recording how each model was run at its last load (path_history.ts): when the path
   * changed, info.pathChange says from what to what. '' (default): not kept.
   */
  pathHistory?: string;
}

export interface RequestOptions {
  /** Aborting cancels the request: it is dropped before it reaches the model if not yet batched. */
  signal?: AbortSignal;
  /**
   * Relative deadline in ms: the promise rejects with ERR_DEADLINE_EXCEEDED when it passes, whatever
   * the request is doing. Not yet batched, it is dropped; already in a running batch (a slow or hung
   * model), it is answered at once and the batch's late result is discarded.
   */
  timeoutMs?: number;
}

export interface FillMaskOptions extends RequestOptions, FillMaskParams, TruncationOptions {}
export interface EmbedOptions extends RequestOptions, EmbedParams, TruncationOptions {}
export interface ClassifyOptions extends RequestOptions, ClassifyParams, TruncationOptions {}
export interface TokenClassifyOptions extends RequestOptions, TokenClassifyParams, TruncationOptions {}
export interface RerankOptions extends RequestOptions, TruncationOptions {
  /** Scores as raw logits instead of sigmoid (text-embeddings-inference's raw_scores). */
  rawScores?: boolean;
}

export interface ClassificationLabel { label: string; score: number }
export interface TokenEntity {
  entity?: string;
  entity_group?: string;
  score: number;
  index?: number;
  word: string;
  start: number;
  end: number;
}
export interface RerankResult { index: number; score: number }

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
  /** Tokens the model ran on (specials included), summed over the inputs of a joined answer. */
  tokens: number;
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

export type ModelInfo = Omit<NativeModelInfo, 'taskInfo'> & {
  /** Task facts: labels (classification), pooling and prompts (embeddings), head_path (fill-mask). */
  taskInfo: TaskInfo;
  /** With options.pathHistory: how the path differs from the model's previous load (undefined: same or first). */
  pathChange?: PathChange;
  /** With options.pathHistory: why the history could not be read or written (it is then not kept). */
  pathHistoryProblem?: string;
};

export interface TaskInfo {
  labels?: string[];
  function_to_apply?: string;
  pooling?: string;
  pooling_source?: string;
  normalize_module?: boolean;
  embedding_dimensions?: number;
  prompts?: Record<string, string>;
  default_prompt_name?: string | null;
  head_path?: string;
}

/** What each task is called, and the suffix of the model classes that serve it (BertForMaskedLM, RobertaForMaskedLM, ...). */
export const TASKS = {
  'fill-mask': 'ForMaskedLM',
  'feature-extraction': 'Model',
  'text-classification': 'ForSequenceClassification',
  'token-classification': 'ForTokenClassification',
} as const;
export type Task = keyof typeof TASKS;

/** The class of `architecture`'s family that serves `task`: taskArchitecture('feature-extraction', 'RobertaForMaskedLM') is 'RobertaModel'. */
export function taskArchitecture(task: Task, architecture: string): string {
  const suffix = Object.values(TASKS).find((s) => s !== 'Model' && architecture.endsWith(s)) ?? (architecture.endsWith('Model') ? 'Model' : '');
  return architecture.slice(0, architecture.length - suffix.length) + TASKS[task];
}

export interface EngineStats extends NativeStats {
  pending: number;
}

const enum Kind { Model = 0, Tokenize = 1 }

interface Pending {
  resolve: (a: JsonAnswer) => void;
  reject: (e: BertServeError) => void;
  stack: Error;
}

/** One text (or pair, or token ids) as handed to native code. */
interface Item {
  text: string;
  pair: string | null;
  tokenIds: Int32Array | null;
}

interface Queued extends Item {
  id: number;
  kind: Kind;
  params: string;
  flags: number;
  timeoutMs: number;
}

export class Engine {
  readonly info: ModelInfo;
  readonly tokenizer: Tokenizer;
  readonly options: Readonly<Required<Omit<EngineOptions, 'intraOpThreads' | 'pooling'>>> & { intraOpThreads: number; pooling: string };
  #native: NativeEngine;
  #pending = new Map<number, Pending>();
  #queued: Queued[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(native: NativeEngine, info: NativeModelInfo, options: Engine['options'], bridge: Bridge) {
    this.#native = native;
    this.info = { ...info, taskInfo: JSON.parse(info.taskInfo) as TaskInfo };
    if (options.pathHistory) {
      const { change, problem } = recordPath(options.pathHistory, info.modelDir, info.device, info.dtype,
        { pathId: info.pathId, headPath: info.headPath, version: packageVersion() });
      this.info.pathChange = change;
      this.info.pathHistoryProblem = problem;
    }
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

  /** The task the loaded model serves (from its architecture). */
  get task(): Task {
    return this.info.task as Task;
  }

  /** Requests accepted and not yet answered (the admission bound is options.maxQueue). */
  get pending(): number {
    return this.#pending.size;
  }

  // ---- fill-mask

  /** Fill-mask with the Hugging Face pipeline's result shape. */
  async fillMask(text: string, options?: FillMaskOptions): Promise<FillMaskOutput>;
  async fillMask(texts: string[], options?: FillMaskOptions): Promise<FillMaskOutput[] | FillMaskOutput>;
  async fillMask(input: string | string[], options: FillMaskOptions = {}): Promise<unknown> {
    return parse(await this.fillMaskJson(input, options));
  }

  /**
   * Fill-mask answered as JSON bytes, serialized natively: exactly what fillMask() would return,
   * encoded (a list input of length 1 gives that input's answer, as Hugging Face does).
   */
  fillMaskJson(input: string | string[], options: FillMaskOptions = {}): Promise<JsonAnswer> {
    return this.#call('fill-mask', () => {
      const texts = checkTexts(input);
      const params = fillMaskParams(options, texts.length, this.options);
      const parts = this.#submit(texts.map(textItem), params, options);
      return typeof input === 'string' || texts.length === 1 ? parts[0] : joinAnswers(parts);
    });
  }

  // ---- embeddings

  /** Sentence embeddings (pooled, normalized unless normalize: false), one Float32Array per text. */
  async embed(text: string, options?: EmbedOptions): Promise<Float32Array>;
  async embed(texts: string[], options?: EmbedOptions): Promise<Float32Array[]>;
  async embed(input: string | string[], options: EmbedOptions = {}): Promise<Float32Array | Float32Array[]> {
    const parts = await Promise.all(this.embedParts(input, { ...options, encodingFormat: 'base64' }));
    const vectors = parts.map((p) => decodeFloat32Base64(p.body));
    return typeof input === 'string' ? vectors[0] : vectors;
  }

  /** text-embeddings-inference's /embed answer as JSON bytes: [[float, ...], ...], one list per text. */
  embedJson(input: TextInput | Array<TextInput | number[]>, options: EmbedOptions = {}): Promise<JsonAnswer> {
    return this.#call('feature-extraction', () => joinAnswers(this.embedParts(input, options)));
  }

  /** Every token's embedding (no pooling, not normalized unless asked): [[[float, ...] per token] per text]. */
  embedAllJson(input: TextInput | TextInput[], options: EmbedOptions = {}): Promise<JsonAnswer> {
    return this.#call('feature-extraction', () =>
      joinAnswers(this.embedParts(input, { normalize: false, ...options, allTokens: true })));
  }

  /**
   * One natively serialized embedding per input, for callers that wrap each in their own JSON (the
   * OpenAI route): JSON numbers, or a base64 string of little-endian float32 with encodingFormat
   * 'base64'. Inputs may be texts, pairs, or token-id arrays (vocabulary ids without [CLS]/[SEP]).
   */
  embedParts(input: TextInput | Array<TextInput | number[]>, options: EmbedOptions & { allTokens?: boolean; encodingFormat?: 'float' | 'base64' } = {}): Promise<JsonAnswer>[] {
    this.#requireTask('feature-extraction');
    const items = checkItems(input, true);
    const prompt = this.#prompt(options.promptName);
    if (prompt) for (const it of items) if (it.tokenIds === null) it.text = prompt + it.text;
    return this.#submit(items, embedParams(options), options);
  }

  // ---- classification

  /** Text classification: for each input, the topK best labels (default 1), best first. */
  async classify(input: TextInput, options?: ClassifyOptions): Promise<ClassificationLabel[]>;
  async classify(input: TextInput[], options?: ClassifyOptions): Promise<ClassificationLabel[][]>;
  async classify(input: TextInput | TextInput[], options: ClassifyOptions = {}): Promise<unknown> {
    const list = parse(await this.classifyJson(input, options)) as ClassificationLabel[][];
    return Array.isArray(input) ? list : list[0];
  }

  /** Classification answered as JSON bytes: one list of {label, score} per input (a list of lists). */
  classifyJson(input: TextInput | TextInput[], options: ClassifyOptions = {}): Promise<JsonAnswer> {
    return this.#call('text-classification', () => joinAnswers(this.classifyParts(input, options)));
  }

  /** One natively serialized [{label, score}, ...] per input. */
  classifyParts(input: TextInput | TextInput[], options: ClassifyOptions = {}): Promise<JsonAnswer>[] {
    this.#requireTask('text-classification');
    return this.#submit(checkItems(input, false), classifyParams(options), options);
  }

  /**
   * Cross-encoder reranking (a one-label classification model): scores every (query, text) pair and
   * answers [{index, score}] best first; scores through sigmoid unless rawScores.
   */
  async rerank(query: string, texts: string[], options: RerankOptions = {}): Promise<RerankResult[]> {
    const stack = new Error();
    try {
      return rankScores(await Promise.all(this.rerankParts(query, texts, options)));
    } catch (e) {
      throw toBertServeError(e, stack);
    }
  }

  /** One natively serialized score (a JSON number) per text, in the texts' order; see rankScores(). */
  rerankParts(query: string, texts: string[], options: RerankOptions = {}): Promise<JsonAnswer>[] {
    this.#requireTask('text-classification');
    const labels = this.info.taskInfo.labels ?? [];
    if (labels.length !== 1) {
      throw new BertServeError('ERR_WRONG_TASK', `rerank needs a cross-encoder with one label; this model classifies into ${labels.length} labels (${labels.slice(0, 5).join(', ')})`);
    }
    if (typeof query !== 'string') throw invalidArgument('query', 'a string', query);
    const params = classifyParams({ scoreOnly: true, functionToApply: options.rawScores ? 'none' : 'sigmoid' });
    return this.#submit(checkTexts(texts).map((t) => ({ text: query, pair: t, tokenIds: null })), params, options);
  }

  // ---- token classification

  /** Token classification (NER) with the Hugging Face pipeline's entities; one list per input for a list. */
  async tokenClassify(input: string, options?: TokenClassifyOptions): Promise<TokenEntity[]>;
  async tokenClassify(input: string[], options?: TokenClassifyOptions): Promise<TokenEntity[][]>;
  async tokenClassify(input: string | string[], options: TokenClassifyOptions = {}): Promise<unknown> {
    return parse(await this.tokenClassifyJson(input, options));
  }

  /** Token classification as JSON bytes: a list of entities for a string, a list of lists for a list. */
  tokenClassifyJson(input: string | string[], options: TokenClassifyOptions = {}): Promise<JsonAnswer> {
    return this.#call('token-classification', () => {
      const parts = this.#submit(checkTexts(input).map(textItem), tokenClassifyParams(options), options);
      return typeof input === 'string' ? parts[0] : joinAnswers(parts);
    });
  }

  // ---- tokenizer

  /** Tokenizes on the engine's threads (not the JS thread). */
  async tokenize(text: string, options: TokenizeOptions = {}): Promise<TokenInfo[]> {
    const answer = await this.tokenizeJson(text, options);
    return JSON.parse(answer.body.toString('utf8'))[0];
  }

  /** TEI /tokenize answer as JSON bytes: one list of tokens per input. */
  tokenizeJson(input: string | string[], options: TokenizeOptions = {}): Promise<JsonAnswer> {
    const stack = new Error();
    try {
      const texts = checkTexts(input);
      const add = options.addSpecialTokens ?? true;
      if (typeof add !== 'boolean') throw invalidArgument('addSpecialTokens', 'a boolean', add);
      return joinAnswers(this.#submit(texts.map(textItem), '', options, Kind.Tokenize, add ? 1 : 0));
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
        p.reject(toBertServeError(new BertServeError('ERR_CLOSED', 'the engine was closed'), p.stack));
      }
    });
    return this.#closing;
  }

  // ---- internals

  /** Runs `fn` for a task method: checks the task, turns anything thrown into a rejected, typed error. */
  #call(task: Task, fn: () => Promise<JsonAnswer>): Promise<JsonAnswer> {
    const stack = new Error();
    try {
      this.#requireTask(task);
      return fn().catch((e) => { throw toBertServeError(e, stack); });
    } catch (e) {
      return Promise.reject(toBertServeError(e, stack));
    }
  }

  #requireTask(task: Task): void {
    if (this.info.task !== task) {
      throw new BertServeError('ERR_WRONG_TASK', `this model serves ${this.info.task} (${this.info.architecture}); ${task} needs a ${taskArchitecture(task, this.info.architecture)} model`);
    }
  }

  #prompt(name: string | undefined): string {
    const prompts = this.info.taskInfo.prompts ?? {};
    const chosen = name ?? this.info.taskInfo.default_prompt_name ?? undefined;
    if (chosen === undefined) return '';
    if (typeof chosen !== 'string' || !Object.hasOwn(prompts, chosen)) {
      const known = Object.keys(prompts);
      throw invalidArgument('promptName', known.length ? `one of ${known.map((k) => JSON.stringify(k)).join(', ')}` : 'nothing: this model defines no prompts', name);
    }
    return prompts[chosen];
  }

  /**
   * Queues one native request per item (all or none: the queue bound is checked for the whole call)
   * and returns one promise per item. One abort listener serves the whole call.
   */
  #submit(items: Item[], params: string, options: RequestOptions & TruncationOptions, kind = Kind.Model, flags?: number): Promise<JsonAnswer>[] {
    const stack = new Error();
    if (this.#closed) throw new BertServeError('ERR_CLOSED', 'the engine is closed');
    if (this.#pending.size + items.length > this.options.maxQueue) {
      throw new BertServeError('ERR_QUEUE_FULL', `too many pending requests (maxQueue ${this.options.maxQueue})`);
    }
    const signal = options.signal;
    if (signal?.aborted) throw new BertServeError('ERR_CANCELLED', 'the request was cancelled');
    const timeoutMs = checkTimeout(options.timeoutMs);
    const f = flags ?? truncationFlags(options, this.options.truncate);
    const ids: number[] = [];
    const promises = items.map((item) => {
      const id = this.#nextId++;
      ids.push(id);
      this.#queued.push({ id, kind, params, flags: f, timeoutMs, ...item });
      return new Promise<JsonAnswer>((resolve, reject) => this.#pending.set(id, { resolve, reject, stack }));
    });
    if (timeoutMs > 0) {
      // One timer per call. The native side also drops a request whose deadline passed before it
      // was batched; this timer covers the rest (a batch that runs past the deadline).
      const timer = setTimeout(() => {
        for (const id of ids) this.#cancel(id, 'ERR_DEADLINE_EXCEEDED', `the request's deadline (timeoutMs ${Math.round(timeoutMs)}) passed`, false);
      }, timeoutMs);
      timer.unref();
      void Promise.allSettled(promises).then(() => clearTimeout(timer));
    }
    if (signal) {
      const onAbort = () => { for (const id of ids) this.#cancel(id); };
      signal.addEventListener('abort', onAbort, { once: true });
      // Settled one way or another: the listener goes, so signals shared across calls do not pile up.
      void Promise.allSettled(promises).then(() => signal.removeEventListener('abort', onAbort));
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
    return promises;
  }

  /**
   * Rejects a pending request now. With `tellNative` the native request is marked cancelled (dropped
   * if not yet batched); a deadline needs no telling: the native side holds the same deadline and
   * drops the request itself (counted as expired), and a running batch cannot be interrupted.
   */
  #cancel(id: number, code: ErrorCode = 'ERR_CANCELLED', message = 'the request was cancelled', tellNative = true): void {
    const p = this.#pending.get(id);
    if (!p) return;
    // Forgotten first: the native side still answers it (dropped or finished), and that answer,
    // whenever it comes, is ignored.
    this.#pending.delete(id);
    const idx = this.#queued.findIndex((q) => q.id === id);
    if (idx >= 0) this.#queued.splice(idx, 1);
    else if (tellNative) this.#native.cancel(id);
    p.reject(toBertServeError(new BertServeError(code, message), p.stack));
  }

  #flush(): void {
    this.#flushScheduled = false;
    const qs = this.#queued;
    if (qs.length === 0) return;
    this.#queued = [];
    const n = qs.length;
    const ids = new Float64Array(n), kinds = new Uint8Array(n), flags = new Uint8Array(n), deadlines = new Float64Array(n);
    const texts = new Array<string>(n), pairs = new Array<string | null>(n), tokenIds = new Array<Int32Array | null>(n), params = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const q = qs[i];
      ids[i] = q.id; kinds[i] = q.kind; flags[i] = q.flags; deadlines[i] = q.timeoutMs;
      texts[i] = q.text; pairs[i] = q.pair; tokenIds[i] = q.tokenIds; params[i] = q.params;
    }
    try {
      this.#native.submit({ ids, kinds, texts, pairs, tokenIds, params, flags, deadlinesMs: deadlines });
    } catch (e) {
      const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'ERR_INTERNAL';
      for (const q of qs) this.#settle(q.id, code, (e as Error).message ?? String(e), undefined);
    }
  }

  /** Called through the bridge once per finished native batch. */
  _complete(ids: Float64Array, codes: string[], payloads: Array<Buffer | string>, timings: Float64Array): void {
    for (let i = 0; i < ids.length; i++) {
      const t: Timings = { tokenizeUs: timings[4 * i], queueUs: timings[4 * i + 1], inferenceUs: timings[4 * i + 2] };
      this.#settle(ids[i], codes[i], payloads[i], t, timings[4 * i + 3]);
    }
  }

  #settle(id: number, code: string, payload: Buffer | string | undefined, timings: Timings | undefined, tokens = 0): void {
    const p = this.#pending.get(id);
    if (!p) return; // cancelled earlier: already answered
    this.#pending.delete(id);
    if (code === '') {
      p.resolve({ body: payload as Buffer, timings: timings ?? { tokenizeUs: 0, queueUs: 0, inferenceUs: 0 }, tokens });
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

/** Scores (rerankParts' answers) as [{index, score}], best first; equal scores keep the texts' order. */
export function rankScores(answers: JsonAnswer[]): RerankResult[] {
  const out = answers.map((a, index) => ({ index, score: Number(a.body.toString('latin1')) }));
  return out.sort((x, y) => y.score - x.score || x.index - y.index);
}

function parse(a: JsonAnswer): unknown {
  return JSON.parse(a.body.toString('utf8'));
}

const textItem = (text: string): Item => ({ text, pair: null, tokenIds: null });

function checkTexts(input: string | string[]): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) throw invalidArgument('inputs', 'a string or a non-empty array of strings', input);
  for (let i = 0; i < input.length; i++) {
    if (typeof input[i] !== 'string') throw invalidArgument(`inputs[${i}]`, 'a string', input[i]);
  }
  return input;
}

/** Texts, {text, text_pair} pairs and (when allowed) token-id arrays, as native items. */
function checkItems(input: TextInput | Array<TextInput | number[]>, allowIds: boolean): Item[] {
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw invalidArgument('inputs', 'a non-empty list', input);
  return list.map((x, i): Item => {
    if (typeof x === 'string') return { text: x, pair: null, tokenIds: null };
    if (Array.isArray(x)) {
      if (!allowIds || x.length === 0) {
        throw invalidArgument(`inputs[${i}]`, allowIds ? 'a non-empty array of token ids' : 'a string or {text, text_pair}', x);
      }
      const j = x.findIndex((v) => !(Number.isInteger(v) && v >= 0 && v < 2 ** 31));
      if (j >= 0) throw invalidArgument(`inputs[${i}][${j}]`, 'a token id (an integer from 0 to 2147483647)', x[j]);
      return { text: '', pair: null, tokenIds: Int32Array.from(x) };
    }
    if (x !== null && typeof x === 'object' && typeof x.text === 'string' && (x.text_pair === undefined || typeof x.text_pair === 'string')) {
      return { text: x.text, pair: x.text_pair ?? null, tokenIds: null };
    }
    throw invalidArgument(`inputs[${i}]`, 'a string or {text, text_pair}', x);
  });
}

function checkTimeout(t: number | undefined): number {
  if (t === undefined) return 0;
  if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) throw invalidArgument('timeoutMs', 'a positive number of milliseconds', t);
  return t;
}

/** `"<base64>"` (a natively serialized JSON string) -> Float32Array. */
function decodeFloat32Base64(body: Buffer): Float32Array {
  const bytes = Buffer.from(body.subarray(1, body.length - 1).toString('latin1'), 'base64');
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Joins already-serialized answers into one JSON list without re-encoding them. */
export async function joinAnswers(parts: Promise<JsonAnswer>[]): Promise<JsonAnswer> {
  const answers = await Promise.all(parts);
  const bufs: Buffer[] = [Buffer.from('[')];
  const timings: Timings = { tokenizeUs: 0, queueUs: 0, inferenceUs: 0 };
  let tokens = 0;
  answers.forEach((a, i) => {
    if (i > 0) bufs.push(Buffer.from(','));
    bufs.push(a.body);
    tokens += a.tokens;
    timings.tokenizeUs = Math.max(timings.tokenizeUs, a.timings.tokenizeUs);
    timings.queueUs = Math.max(timings.queueUs, a.timings.queueUs);
    timings.inferenceUs = Math.max(timings.inferenceUs, a.timings.inferenceUs);
  });
  bufs.push(Buffer.from(']'));
  return { body: Buffer.concat(bufs), timings, tokens };
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
    // 0: the container's CPU quota (cgroup cpu.max) shared among the workers, not the host's cores.
    intraOpThreads: positiveInt('intraOpThreads', o.intraOpThreads, 0, 0) || defaultIntraOpThreads(positiveInt('workers', o.workers, 1)),
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
    pooling: checkPooling(o.pooling),
    maxPredictions: positiveInt('maxPredictions', o.maxPredictions, 2000),
    pathHistory: checkString('pathHistory', o.pathHistory),
    maxMasks: positiveInt('maxMasks', o.maxMasks, 64),
  };
}

function checkString(name: string, v: unknown): string {
  if (v === undefined) return '';
  if (typeof v !== 'string') throw invalidArgument(name, 'a string', v);
  return v;
}

function checkPooling(p: unknown): string {
  if (p === undefined || p === '') return '';
  if (typeof p !== 'string' || !['cls', 'mean', 'max', 'lasttoken'].includes(p)) throw invalidArgument('pooling', '"cls", "mean", "max" or "lasttoken"', p);
  return p;
}

function toNativeOptions(o: Engine['options']): NativeEngineOptions {
  return {
    model: o.model, device: o.device, dtype: o.dtype, workers: o.workers, intraOpThreads: o.intraOpThreads,
    maxBatchRequests: o.maxBatchRequests, maxBatchTokens: o.maxBatchTokens, maxDelayUs: Math.round(o.maxBatchDelayMs * 1000),
    sortByLength: o.sortByLength, maxTokens: o.maxTokens, truncate: o.truncate, warmup: o.warmup, jitOptimize: o.jitOptimize,
    batchOverheadTokens: o.batchOverheadTokens, pooling: o.pooling,
  };
}

