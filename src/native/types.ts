// The raw surface of the native addon, declared in one place. Everything here is what
// native/addon/*.cc exports; the wrappers in src/ (Tokenizer, Engine) validate arguments and turn
// native errors into typed ones. Tests may inject a fake binding with this shape.

export interface NativeEncoding {
  ids: Int32Array;
  tokens: string[];
  /** [start0, end0, start1, end1, ...] as JavaScript string indices into the text each token came from. */
  offsets: Uint32Array;
  typeIds: Uint32Array;
  specialTokensMask: Uint8Array;
  truncated: boolean;
}

type Roles<T> = { cls: T | null; sep: T | null; pad: T | null; mask: T | null; unk: T | null };

export interface NativeTokenizerInfo {
  vocabSize: number;
  /** The model type: "WordPiece", "BPE" or "Unigram". */
  model: string;
  /** tokenizer.json's components by type (null where the file has none), and whether BERT's one-pass fast path runs. */
  pipeline: {
    normalizer: string | null;
    preTokenizer: string | null;
    model: string;
    postProcessor: string | null;
    decoder: string | null;
    fastPath: boolean;
  };
  /** The file the tokenizer was read from. */
  source: string;
  lowercase: boolean;
  stripAccents: boolean;
  modelMaxLength: number;
  /** transformers' decode() default for this tokenizer (tokenizer_config.json's clean_up_tokenization_spaces). */
  cleanUpTokenizationSpaces: boolean;
  /** Special tokens the post-processor adds to one text / a pair. */
  addedTokens: { single: number; pair: number };
  /** Role tokens and their ids; null where the tokenizer has none. */
  specialTokens: Roles<string>;
  specialIds: Roles<number>;
}

/** The tokenizer.json component types this build implements, per section. */
export interface NativeSupportedComponents {
  normalizers: string[];
  preTokenizers: string[];
  models: string[];
  postProcessors: string[];
  decoders: string[];
}

export interface NativeTokenizer {
  /** maxLength 0: no truncation; pair: the second text (undefined: none); truncationSide: "right" | "left". */
  encode(text: string, addSpecialTokens: boolean, maxLength: number, pair?: string, truncationSide?: string): NativeEncoding;
  /** cleanUpTokenizationSpaces undefined: the tokenizer's own default. */
  decode(ids: ArrayLike<number>, skipSpecialTokens: boolean, cleanUpTokenizationSpaces?: boolean): string;
  idToToken(id: number): string | null;
  tokenToId(token: string): number | null;
  info(): NativeTokenizerInfo;
}

export interface NativeTokenizerConstructor {
  /** Throws an Error with `code` (ERR_TOKENIZER_INVALID, ERR_MODEL_NOT_FOUND). */
  load(path: string): NativeTokenizer;
  supportedComponents(): NativeSupportedComponents;
}

/** Every field is required: the defaults live in src/config.ts OPTIONS, none natively. */
export interface NativeEngineOptions {
  model: string;
  device: string; // "cpu" | "cuda" | "cuda:N"
  dtype: string; // "float32" | "float16" | "bfloat16"
  workers: number;
  intraOpThreads: number;
  maxBatchRequests: number;
  maxBatchTokens: number;
  maxDelayUs: number;
  sortByLength: boolean;
  maxTokens: number; // per request, specials included; 0 = the model's maximum
  truncate: boolean; // over maxTokens: truncate (true) or refuse with ERR_INPUT_TOO_LONG
  warmup: boolean;
  jitOptimize: boolean; // TorchScript optimizing executor (re-specializes per shape)
  batchOverheadTokens: number; // 0: measured at warm-up (see docs/batching.md)
  fairBatchTokens: number; // with a thread budget: the batch cap while other engines are active; 0 = 4 x batch overhead
  pooling: string; // embeddings: "" = from the model directory (else cls)
  /** Not a setting but an object, so optional: the budget shared with other engines (null: none). */
  threadBudget?: NativeThreadBudget | null;
}

export interface NativeThreadBudgetStats {
  threads: number;
  inUse: number;
  /** Most threads leased at once since it was made. */
  peakInUse: number;
  /** Leases granted (one per batch run on a CPU). */
  leases: number;
  /** Leases that waited for threads or for their turn. */
  waited: number;
  /** Leases waiting now. */
  waiting: number;
  /** Engines sharing it now (one flow each in the fair order). */
  flows: number;
  /** Threads that running batches gave up at a safe point to another batch (the lease split). */
  givenUp: number;
  /** Whether leases split (ThreadBudget's `split` option). */
  split: boolean;
}

export interface NativeThreadBudget {
  stats(): NativeThreadBudgetStats;
}

export interface NativeThreadBudgetConstructor {
  new (threads: number, split?: boolean): NativeThreadBudget;
}

export interface NativeModelInfo {
  modelDir: string;
  task: string; // "fill-mask" | "feature-extraction" | "text-classification" | "token-classification" | "question-answering"
  architecture: string;
  modelType: string; // config.json's model_type: the family ("bert", "roberta", "mpnet", ...)
  family: string; // its name ("BERT", "RoBERTa", ...)
  tokenTypes: boolean; // token_type_ids carry the pair's second text (false: always zero)
  positionOffset: number; // positions start at padding_idx + 1 (RoBERTa, XLM-R, MPNet), else 0
  device: string;
  dtype: string;
  vocabSize: number;
  hiddenSize: number;
  maxPositionEmbeddings: number;
  maxTokens: number; // the per-text token limit in force (--max-tokens or the model's)
  maskedPositionsFastPath: boolean; // fill-mask: the vocabulary projection runs at mask rows only
  headPath: string; // how the task head runs the model, in words
  pathId: string; // the same as an identifier: full_forward, fill_mask_logits, encoder_then_head
  forwardSignature: string; // forward's parameters as the engine fills them, e.g. "forward(attention_mask, input_ids)"
  linearKernel: string; // how the linear layers run: packed for the CPU at load, or libtorch's
  precision: string; // what runs in which dtype: "float32", or bfloat16 with float32 LayerNorms, residual sums and head
  cpuNativeBf16: boolean; // AVX512-BF16 or AMX: bfloat16 is allowed on cpu
  taskInfo: string; // JSON object: labels, pooling, prompts, head_path, ... per task
  forwardInputs: number; // 2 or 3 (token_type_ids)
  intraOpThreads: number;
  workers: number;
  threadBudget: number; // the shared budget's threads; 0: none
  blas: string;
  malloc: string; // the memory policy in effect: the malloc (glibc or a preloaded jemalloc) and the tensor block cache
  torchVersion: string;
  loadMs: number;
  warmupMs: number;
  batchOverheadTokens: number; // per-batch cost the length-sorted picker weighs padding against
  singleThreadMaxTokens: number; // batches up to this many padded tokens run on one intra-op thread (measured at warm-up)
  fairBatchTokens: number; // padded tokens per batch while another engine on the thread budget is active; 0: no budget
}

export interface NativeStats {
  queueDepth: number;
  inFlight: number;
  batchesRun: number;
  requestsRun: number;
  meanBatchSize: number;
  realTokens: number;
  paddedTokens: number;
  droppedCancelled: number;
  droppedExpired: number;
  /** Requests failed because what their answer is made from held NaN or Inf (ERR_NON_FINITE_OUTPUT). */
  nonFiniteOutputs: number;
  /** How long the longest-running batch has been running (0 when idle): a hanging model shows here. */
  runningBatchMs: number;
  /** Requests per batch and padded tokens per batch since start, for /metrics. */
  batchSizeHistogram: NativeHistogram;
  batchTokensHistogram: NativeHistogram;
  /** The block cache that serves tensors of 128 KiB and more (process-wide; native/engine/block_cache.h). */
  tensorBytesInUse: number;
  tensorBytesCached: number;
  tensorBlocksReused: number;
  tensorBlocksMapped: number;
  tensorBlocksUnmapped: number;
  /** The process's malloc (jemalloc or glibc; native/engine/host_memory.h): bytes handed out, and held. */
  mallocBytesAllocated: number;
  mallocBytesResident: number;
}

/** Per-bucket counts (not cumulative); counts has one more entry than bounds (past the last bound). */
export interface NativeHistogram {
  bounds: number[];
  counts: number[];
}

/** Kinds of request, as native/engine/sched/request.h TaskKind (engine_wrap.cc Submit reads them). */
export const enum NativeTaskKind {
  Model = 0,
  Tokenize = 1,
}

/**
 * The native log sink's messages (native/engine/log.h), delivered on the JS thread: a level
 * ("debug" | "info" | "warn" | "error"), the message, and its fields as a JSON object.
 */
export type NativeLog = (level: string, message: string, fields: string) => void;

/**
 * Called once per finished batch (one hop). Arrays are parallel, one entry per request:
 * ids, error codes ('' when ok), payloads (JSON bytes when ok, error message when not),
 * timings as [tokenize_us, queue_us, inference_us, tokens, thread_wait_us] per request (tokens: the
 * encoded length; thread_wait_us: the batch's wait for the shared thread budget, not in inference_us).
 */
/** Numbers per request in NativeCompletion's `timings`. */
export const TIMING_FIELDS = 5;
export type NativeCompletion = (ids: Float64Array, codes: string[], payloads: Array<Buffer | string>, timings: Float64Array) => void;

/** Request flags (engine_wrap.cc Submit): bit 0 add [CLS]/[SEP] (tokenize); bits 1-2 truncation (1 none, 2 right, 3 left). */
export const enum NativeFlags {
  AddSpecialTokens = 1,
  TruncateNone = 2,
  TruncateRight = 4,
  TruncateLeft = 6,
}

export interface NativeSubmission {
  ids: Float64Array; // request ids chosen by JS (unique per engine)
  kinds: Uint8Array; // NativeTaskKind per request
  texts: string[]; // '' when tokenIds is given
  pairs: Array<string | null>; // the second text of a pair
  tokenIds: Array<Int32Array | null>; // pre-tokenized input (no [CLS]/[SEP])
  params: string[]; // the task head's canonical options as JSON (src/tasks/*); shared strings convert once
  flags: Uint8Array; // NativeFlags
  deadlinesMs: Float64Array; // relative deadline in ms from now; 0 = none
}

export interface NativeEngine {
  /** Loads on a native thread; resolves when warmed up. Rejects with a coded Error. */
  load(options: NativeEngineOptions): Promise<NativeModelInfo>;
  /** Hands a tick's worth of requests over in one call. Results come through the completion. */
  submit(batch: NativeSubmission): void;
  cancel(id: number): void;
  stats(): NativeStats;
  tokenizer(): NativeTokenizer;
  /** drain=true: finish queued work; false: fail it with ERR_CLOSED. Joins every native thread. */
  close(drain: boolean): Promise<void>;
}

export interface NativeEngineConstructor {
  new (onComplete: NativeCompletion, onLog: NativeLog): NativeEngine;
}

export interface NativeBinding {
  Tokenizer: NativeTokenizerConstructor;
  Engine: NativeEngineConstructor;
  ThreadBudget: NativeThreadBudgetConstructor;
  /**
   * Gives malloc's free pages back to the kernel now (native/engine/host_memory.h): after a model
   * unload, not per request. Returns what ran ("jemalloc purge", "malloc_trim"), '' when nothing could.
   */
  releaseFreeMemory(): string;
}
