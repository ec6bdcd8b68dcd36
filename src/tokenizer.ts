// Tokenizer: a Hugging Face tokenizer.json (WordPiece, byte-level BPE or Unigram, with its
// normalizer, pre-tokenizer, post-processor and decoder) or an old BERT vocab.txt, token for token and
// offset for offset as Hugging Face's `tokenizers` runs it, implemented natively
// (native/engine/text/, docs/tokenizer.md). This class validates arguments, names the bad one in its
// error, and turns native errors into BertServeError. Encoding runs synchronously on the calling
// thread (microseconds per sentence); the Engine tokenizes requests on its own threads instead.
import { loadBinding } from './native/binding.js';
import type { NativeSupportedComponents, NativeTokenizer, NativeTokenizerInfo } from './native/types.js';
import { invalidArgument, toBertServeError } from './errors.js';

export interface EncodeOptions {
  /** Add the post-processor's special tokens ([CLS] ... [SEP], <s> ... </s>) (default true). */
  addSpecialTokens?: boolean;
  /**
   * Keep at most this many tokens, special tokens included (room for them is kept): one text is cut
   * on `truncationSide`, a pair longest-first, as Hugging Face truncates.
   */
  maxLength?: number;
  /** Which end truncation cuts (default "right"). */
  truncationSide?: 'right' | 'left';
  /** A second text: the pair is assembled by the post-processor (BERT: [CLS] a [SEP] b [SEP]; RoBERTa: <s> a </s></s> b </s>). */
  pair?: string;
}

export interface DecodeOptions {
  /** Drop special tokens ([CLS], [SEP], <s>, <pad>, [MASK], ...) (default false). */
  skipSpecialTokens?: boolean;
  /**
   * Glue punctuation and contractions back (" ." -> ".", " n't" -> "n't", ...). Default: the
   * tokenizer's own setting (tokenizer_config.json's clean_up_tokenization_spaces; without one,
   * true for WordPiece, false for BPE and Unigram), as transformers decodes.
   */
  cleanUpTokenizationSpaces?: boolean;
}

export interface Encoded {
  ids: number[];
  tokens: string[];
  /**
   * Per token [start, end) into the input string it came from (the pair's second text for its
   * tokens) as JavaScript string (UTF-16) indices: `text.slice(start, end)` is the text a token came
   * from. Special tokens the post-processor added get [0, 0].
   */
  offsets: [number, number][];
  /** token_type_ids as the post-processor assigns them (BERT: 1 on a pair's second text). */
  typeIds: number[];
  /** 1 on the special tokens the post-processor added. */
  specialTokensMask: number[];
  /** True when maxLength cut tokens off. */
  truncated: boolean;
}

export type TokenizerInfo = NativeTokenizerInfo;
export type SupportedComponents = NativeSupportedComponents;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalBoolean(options: Record<string, unknown>, key: string, fallback: boolean, where: string): boolean {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalidArgument(`${where}.${key}`, 'a boolean', v);
  return v;
}

export class Tokenizer {
  readonly #native: NativeTokenizer;
  readonly #info: TokenizerInfo;

  private constructor(native: NativeTokenizer) {
    this.#native = native;
    this.#info = native.info();
  }

  /**
   * Loads a tokenizer from a Hugging Face tokenizer.json, a BERT vocab.txt (tokenizer_config.json
   * beside either is honoured), or a model directory holding either (tokenizer.json preferred).
   * Throws BertServeError ERR_MODEL_NOT_FOUND, or ERR_TOKENIZER_INVALID naming the file and what is
   * wrong (a component this build does not implement is named, with the supported list).
   */
  static load(pathToVocabOrTokenizerJsonOrModelDir: string): Tokenizer {
    const stack = new Error();
    const path = pathToVocabOrTokenizerJsonOrModelDir;
    if (typeof path !== 'string' || path.length === 0)
      throw invalidArgument('pathToVocabOrTokenizerJsonOrModelDir', 'a non-empty path string', path);
    try {
      return new Tokenizer(loadBinding().Tokenizer.load(path));
    } catch (e) {
      throw toBertServeError(e, stack);
    }
  }

  /** The tokenizer.json component types this build implements, per section. */
  static supportedComponents(): SupportedComponents {
    return loadBinding().Tokenizer.supportedComponents();
  }

  /** Wraps a native tokenizer (the Engine's own, from NativeEngine.tokenizer()). */
  static fromNative(native: NativeTokenizer): Tokenizer {
    if (typeof native !== 'object' || native === null || typeof native.encode !== 'function')
      throw invalidArgument('native', 'a native tokenizer', native);
    return new Tokenizer(native);
  }

  get vocabSize(): number {
    return this.#info.vocabSize;
  }

  /** The pipeline's components, role tokens and their ids, normalizer settings. */
  get info(): TokenizerInfo {
    return this.#info;
  }

  encode(text: string, options: EncodeOptions = {}): Encoded {
    if (typeof text !== 'string') throw invalidArgument('text', 'a string', text);
    if (!isPlainObject(options)) throw invalidArgument('options', 'an options object', options);
    const addSpecialTokens = optionalBoolean(options, 'addSpecialTokens', true, 'options');
    const pair = options.pair;
    if (pair !== undefined && typeof pair !== 'string') throw invalidArgument('options.pair', 'a string', pair);
    const side = options.truncationSide ?? 'right';
    if (side !== 'right' && side !== 'left') throw invalidArgument('options.truncationSide', '"right" or "left"', side);
    let maxLength = 0;
    if (options.maxLength !== undefined) {
      const m = options.maxLength;
      const added = addSpecialTokens ? this.#info.addedTokens[pair === undefined ? 'single' : 'pair'] : 0;
      const min = Math.max(1, added);
      if (typeof m !== 'number' || !Number.isSafeInteger(m) || m < min)
        throw invalidArgument('options.maxLength', `an integer >= ${min}`, m);
      maxLength = m;
    }
    let raw;
    try {
      raw = this.#native.encode(text, addSpecialTokens, maxLength, pair, side);
    } catch (e) {
      throw toBertServeError(e, new Error());
    }
    const n = raw.ids.length;
    const offsets = new Array<[number, number]>(n);
    for (let i = 0; i < n; i++) offsets[i] = [raw.offsets[2 * i], raw.offsets[2 * i + 1]];
    return {
      ids: Array.from(raw.ids),
      tokens: raw.tokens,
      offsets,
      typeIds: Array.from(raw.typeIds),
      specialTokensMask: Array.from(raw.specialTokensMask),
      truncated: raw.truncated,
    };
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const valid = Array.isArray(ids) || ids instanceof Int32Array || ids instanceof Uint32Array;
    if (!valid) throw invalidArgument('ids', 'an array of integer token ids', ids);
    for (let i = 0; i < ids.length; i++) {
      if (!Number.isSafeInteger(ids[i])) throw invalidArgument(`ids[${i}]`, 'an integer token id', ids[i]);
    }
    if (!isPlainObject(options)) throw invalidArgument('options', 'an options object', options);
    const skip = optionalBoolean(options, 'skipSpecialTokens', false, 'options');
    const cleanUp = optionalBoolean(options, 'cleanUpTokenizationSpaces', this.#info.cleanUpTokenizationSpaces, 'options');
    try {
      return this.#native.decode(ids, skip, cleanUp);
    } catch (e) {
      throw toBertServeError(e, new Error());
    }
  }

  /** The token for an id, or null when the vocabulary has no such id. */
  idToToken(id: number): string | null {
    if (!Number.isSafeInteger(id)) throw invalidArgument('id', 'an integer token id', id);
    return this.#native.idToToken(id);
  }

  /** The id of a vocabulary token (exact, not normalized), or null when it is not in the vocabulary. */
  tokenToId(token: string): number | null {
    if (typeof token !== 'string') throw invalidArgument('token', 'a string', token);
    return this.#native.tokenToId(token);
  }
}
