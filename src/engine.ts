// Engine: the library face of bert-serve, one method family per task. Each method checks its inputs
// (tasks/inputs.ts) and options (tasks/<task>.ts, which also give the canonical options the native
// head reads) and hands the request to the native engine through the bridge (native/engine_bridge.ts),
// which batches the calls of one tick into one native call. The native engine tokenizes, batches
// and runs them on its own threads. JS thread only.
import { loadBinding } from './native/binding.js';
import type { NativeModelInfo, NativeStats } from './native/types.js';
import { NativeTaskKind } from './native/types.js';
import { EngineBridge } from './native/engine_bridge.js';
import { BertServeError, invalidArgument, toBertServeError } from './errors.js';
import { Logger, type LogFields } from './logger.js';
import { Tokenizer } from './tokenizer.js';
import { packageVersion } from './config.js';
import { modelVersion } from './model_version.js';
import { ThreadBudget, nativeBudget } from './thread_budget.js';
import { recordPath, type PathChange } from './path_history.js';
import { resolveEngineOptions, toNativeOptions, type EngineOptions, type ResolvedEngineOptions } from './engine_options.js';
import { decodeFloat32Base64, joinAnswers, parseAnswer, type JsonAnswer } from './answers.js';
import { taskArchitecture, type Task } from './tasks/task.js';
import { checkItems, checkTexts, textItem, type Item, type TextInput } from './tasks/inputs.js';
import { truncationFlags, type RequestOptions, type TruncationOptions } from './tasks/common.js';
import { fillMaskParams, type FillMaskOutput, type FillMaskParams } from './tasks/fill_mask.js';
import { embedParams, type EmbedParams } from './tasks/embed.js';
import {
  classifyParams,
  rankScores,
  rerankParams,
  type ClassificationLabel,
  type ClassifyParams,
  type RerankParams,
  type RerankResult,
} from './tasks/classify.js';
import { tokenClassifyParams, type TokenClassifyParams, type TokenEntity } from './tasks/token_classify.js';
import { tokenizeFlags, type TokenInfo, type TokenizeParams } from './tasks/tokenize.js';
import {
  questionAnsweringParams,
  questionItems,
  type QuestionAnswer,
  type QuestionAnsweringInput,
  type QuestionAnsweringParams,
} from './tasks/question_answering.js';

export type { EngineOptions } from './engine_options.js';

export interface FillMaskOptions extends RequestOptions, FillMaskParams, TruncationOptions {}
export interface EmbedOptions extends RequestOptions, Omit<EmbedParams, 'allTokens' | 'encodingFormat'>, TruncationOptions {}
/** embedParts' options: also every token's vector, and base64 (OpenAI's encoding_format). */
export interface EmbedPartsOptions extends RequestOptions, EmbedParams, TruncationOptions {}
export interface ClassifyOptions extends RequestOptions, ClassifyParams, TruncationOptions {}
export interface TokenClassifyOptions extends RequestOptions, TokenClassifyParams, TruncationOptions {}
export interface RerankOptions extends RequestOptions, RerankParams, TruncationOptions {}
export interface TokenizeOptions extends RequestOptions, TokenizeParams {}
/** No truncation options: a context is never cut (an input over the token limit is refused, ERR_INPUT_TOO_LONG). */
export interface QuestionAnsweringOptions extends RequestOptions, QuestionAnsweringParams {}

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

export interface EngineStats extends NativeStats {
  pending: number;
}

export class Engine {
  readonly info: ModelInfo;
  readonly tokenizer: Tokenizer;
  readonly options: ResolvedEngineOptions;
  /** The content hash of the model directory's files, taken at load (model_version.ts). */
  readonly version: string;
  /** The CPU threads it shares with other engines (Engine.load's threadBudget), if any. */
  readonly threadBudget: ThreadBudget | undefined;
  /** When the load finished (ms since the epoch). */
  readonly loadedAt = Date.now();
  readonly #bridge: EngineBridge;

  private constructor(bridge: EngineBridge, info: NativeModelInfo, options: ResolvedEngineOptions, version: string, budget?: ThreadBudget) {
    this.#bridge = bridge;
    this.version = version;
    this.threadBudget = budget;
    this.info = { ...info, taskInfo: JSON.parse(info.taskInfo) as TaskInfo };
    if (options.pathHistory && options.pathHistory !== 'off') {
      const { change, problem } = recordPath(options.pathHistory, info.modelDir, info.device, info.dtype, {
        pathId: info.pathId,
        headPath: info.headPath,
        version: packageVersion(),
      });
      this.info.pathChange = change;
      this.info.pathHistoryProblem = problem;
    }
    this.options = options;
    this.tokenizer = Tokenizer.fromNative(bridge.tokenizer());
  }

  /** Loads and warms a model on native threads; resolves when it is ready to serve. */
  static async load(options: EngineOptions): Promise<Engine> {
    const stack = new Error();
    try {
      const opts = resolveEngineOptions(options);
      const budget = options.threadBudget;
      if (budget !== undefined && !(budget instanceof ThreadBudget)) throw invalidArgument('threadBudget', 'a ThreadBudget', budget);
      const logger = options.logger ?? new Logger();
      const bridge = new EngineBridge(loadBinding(), opts.maxQueue, (level, message, fields) => forwardLog(logger, level, message, fields));
      // The files are hashed while the native threads load them (streamed: the JS thread stays free).
      const version = modelVersion(opts.model);
      version.catch(() => undefined); // awaited below, after the load's own error if it has one
      const info = await bridge.load({ ...toNativeOptions(opts), threadBudget: budget ? nativeBudget(budget) : null });
      try {
        return new Engine(bridge, info, opts, await version, budget);
      } catch (e) {
        await bridge.close(false); // loaded, but its files could not be read whole: not served
        throw e;
      }
    } catch (e) {
      throw toBertServeError(e, stack);
    }
  }

  /** The task the loaded model serves (from its architecture). */
  get task(): Task {
    return this.info.task as Task;
  }

  /** Requests accepted and not yet answered (the admission bound is options.maxQueue). */
  get pending(): number {
    return this.#bridge.pending;
  }

  // ---- fill-mask

  /** Fill-mask with the Hugging Face pipeline's result shape. */
  async fillMask(text: string, options?: FillMaskOptions): Promise<FillMaskOutput>;
  async fillMask(texts: string[], options?: FillMaskOptions): Promise<FillMaskOutput[] | FillMaskOutput>;
  async fillMask(input: string | string[], options: FillMaskOptions = {}): Promise<unknown> {
    return parseAnswer(await this.fillMaskJson(input, options));
  }

  /**
   * Fill-mask answered as JSON bytes, serialized natively: exactly what fillMask() would return,
   * encoded (a list input of length 1 gives that input's answer, as Hugging Face does).
   */
  fillMaskJson(input: string | string[], options: FillMaskOptions = {}): Promise<JsonAnswer> {
    return this.#call('fill-mask', () => {
      const texts = checkTexts(input);
      const parts = this.#submit(texts.map(textItem), fillMaskParams(options, texts.length, this.options), options);
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
    return this.#call('feature-extraction', () => joinAnswers(this.embedParts(input, { normalize: false, ...options, allTokens: true })));
  }

  /**
   * One natively serialized embedding per input, for callers that wrap each in their own JSON (the
   * OpenAI route): JSON numbers, or a base64 string of little-endian float32 with encodingFormat
   * 'base64'. Inputs may be texts, pairs, or token-id arrays (vocabulary ids without [CLS]/[SEP]).
   */
  embedParts(input: TextInput | Array<TextInput | number[]>, options: EmbedPartsOptions = {}): Promise<JsonAnswer>[] {
    this.#requireTask('feature-extraction');
    const items = checkItems(input, true);
    const params = embedParams(options);
    const prompt = this.#prompt(options.promptName);
    if (prompt) for (const it of items) if (it.tokenIds === null) it.text = prompt + it.text;
    return this.#submit(items, params, options);
  }

  // ---- classification

  /** Text classification: for each input, the topK best labels (default 1), best first. */
  async classify(input: TextInput, options?: ClassifyOptions): Promise<ClassificationLabel[]>;
  async classify(input: TextInput[], options?: ClassifyOptions): Promise<ClassificationLabel[][]>;
  async classify(input: TextInput | TextInput[], options: ClassifyOptions = {}): Promise<unknown> {
    const list = parseAnswer(await this.classifyJson(input, options)) as ClassificationLabel[][];
    return Array.isArray(input) ? list : list[0];
  }

  /** Classification answered as JSON bytes: one list of {label, score} per input (a list of lists). */
  classifyJson(input: TextInput | TextInput[], options: ClassifyOptions = {}): Promise<JsonAnswer> {
    return this.#call('text-classification', () => joinAnswers(this.classifyParts(input, options)));
  }

  /** One natively serialized [{label, score}, ...] per input. */
  classifyParts(input: TextInput | TextInput[], options: ClassifyOptions = {}): Promise<JsonAnswer>[] {
    this.#requireTask('text-classification');
    const items = checkItems(input, false);
    return this.#submit(items, classifyParams({ topK: options.topK, functionToApply: options.functionToApply }), options);
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
      throw new BertServeError(
        'ERR_WRONG_TASK',
        `rerank needs a cross-encoder with one label; this model classifies into ${labels.length} labels (${labels.slice(0, 5).join(', ')})`,
      );
    }
    if (typeof query !== 'string') throw invalidArgument('query', 'a string', query);
    const items = checkTexts(texts).map((t): Item => ({ text: query, pair: t, tokenIds: null }));
    return this.#submit(items, rerankParams(options), options);
  }

  // ---- token classification

  /** Token classification (NER) with the Hugging Face pipeline's entities; one list per input for a list. */
  async tokenClassify(input: string, options?: TokenClassifyOptions): Promise<TokenEntity[]>;
  async tokenClassify(input: string[], options?: TokenClassifyOptions): Promise<TokenEntity[][]>;
  async tokenClassify(input: string | string[], options: TokenClassifyOptions = {}): Promise<unknown> {
    return parseAnswer(await this.tokenClassifyJson(input, options));
  }

  /** Token classification as JSON bytes: a list of entities for a string, a list of lists for a list. */
  tokenClassifyJson(input: string | string[], options: TokenClassifyOptions = {}): Promise<JsonAnswer> {
    return this.#call('token-classification', () => {
      const parts = this.#submit(checkTexts(input).map(textItem), tokenClassifyParams(options), options);
      return typeof input === 'string' ? parts[0] : joinAnswers(parts);
    });
  }

  // ---- question answering

  /**
   * Extractive question answering with the Hugging Face pipeline's answer: for one {question, context},
   * the best answer (a list when topK > 1 finds several); for a list, one such answer per pair.
   */
  async questionAnswering(input: QuestionAnsweringInput, options?: QuestionAnsweringOptions): Promise<QuestionAnswer | QuestionAnswer[]>;
  async questionAnswering(
    input: QuestionAnsweringInput[],
    options?: QuestionAnsweringOptions,
  ): Promise<Array<QuestionAnswer | QuestionAnswer[]>>;
  async questionAnswering(
    input: QuestionAnsweringInput | QuestionAnsweringInput[],
    options: QuestionAnsweringOptions = {},
  ): Promise<unknown> {
    return parseAnswer(await this.questionAnsweringJson(input, options));
  }

  /** Question answering as JSON bytes: the answer (or list) for one pair, a list of them for a list. */
  questionAnsweringJson(
    input: QuestionAnsweringInput | QuestionAnsweringInput[],
    options: QuestionAnsweringOptions = {},
  ): Promise<JsonAnswer> {
    return this.#call('question-answering', () => {
      const items = questionItems(input);
      // Never truncated, whatever the engine's truncate: a cut context would answer from what is left.
      const parts = this.#submit(items, questionAnsweringParams(options), { ...options, truncate: false }).map((p) =>
        p.catch((e: unknown) => {
          throw tooLongContext(e);
        }),
      );
      return Array.isArray(input) ? joinAnswers(parts) : parts[0];
    });
  }

  // ---- tokenizer

  /** Tokenizes on the engine's threads (not the JS thread). */
  async tokenize(text: string, options: TokenizeOptions = {}): Promise<TokenInfo[]> {
    const answer = await this.tokenizeJson(text, options);
    return (parseAnswer(answer) as TokenInfo[][])[0];
  }

  /** TEI /tokenize answer as JSON bytes: one list of tokens per input. */
  tokenizeJson(input: string | string[], options: TokenizeOptions = {}): Promise<JsonAnswer> {
    return this.#call(undefined, () => {
      const texts = checkTexts(input);
      const flags = tokenizeFlags(options) | truncationFlags({}, this.options.truncate);
      return joinAnswers(this.#bridge.submit(texts.map(textItem), '', flags, options, NativeTaskKind.Tokenize));
    });
  }

  stats(): EngineStats {
    return { ...this.#bridge.stats(), pending: this.#bridge.pending };
  }

  /**
   * Stops the engine. drain (default true): everything accepted is answered first; otherwise queued
   * requests are rejected with ERR_CLOSED. Joins every native thread; afterwards the process can exit.
   */
  close(options: { drain?: boolean } = {}): Promise<void> {
    return this.#bridge.close(options.drain ?? true);
  }

  // ---- internals

  /** Runs `fn` for a task method (task: the one it needs): anything thrown becomes a rejected, typed error. */
  #call(task: Task | undefined, fn: () => Promise<JsonAnswer>): Promise<JsonAnswer> {
    const stack = new Error();
    try {
      if (task) this.#requireTask(task);
      return fn().catch((e) => {
        throw toBertServeError(e, stack);
      });
    } catch (e) {
      return Promise.reject(toBertServeError(e, stack));
    }
  }

  #requireTask(task: Task): void {
    if (this.info.task !== task) {
      throw new BertServeError(
        'ERR_WRONG_TASK',
        `this model serves ${this.info.task} (${this.info.architecture}); ${task} needs a ${taskArchitecture(task, this.info.architecture)} model`,
      );
    }
  }

  #prompt(name: string | undefined): string {
    const prompts = this.info.taskInfo.prompts ?? {};
    const chosen = name ?? this.info.taskInfo.default_prompt_name ?? undefined;
    if (chosen === undefined) return '';
    if (typeof chosen !== 'string' || !Object.hasOwn(prompts, chosen)) {
      const known = Object.keys(prompts);
      throw invalidArgument(
        'promptName',
        known.length ? `one of ${known.map((k) => JSON.stringify(k)).join(', ')}` : 'nothing: this model defines no prompts',
        name,
      );
    }
    return prompts[chosen];
  }

  #submit(items: Item[], params: string, options: RequestOptions & TruncationOptions): Promise<JsonAnswer>[] {
    return this.#bridge.submit(items, params, truncationFlags(options, this.options.truncate), options);
  }
}

/** ERR_INPUT_TOO_LONG for a question and its context says what to do (the native message suggests truncation). */
function tooLongContext(e: unknown): unknown {
  if (!(e instanceof BertServeError) || e.code !== 'ERR_INPUT_TOO_LONG') return e;
  const what = e.message.replace(/ \(ask for truncation, or send less text\)$/, '');
  return new BertServeError(
    'ERR_INPUT_TOO_LONG',
    `the question and its context: ${what}; question answering does not cut or split a context: send a shorter one`,
  );
}

/** A native message, through the JS logger (one format for every line the process writes). */
function forwardLog(logger: Logger, level: string, message: string, fields: string): void {
  let parsed: LogFields;
  try {
    parsed = JSON.parse(fields) as LogFields;
  } catch {
    parsed = { fields };
  }
  const at = level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? level : 'error';
  logger[at](message, { source: 'engine', ...parsed });
}
