// The size of an answer before it is computed. A fill-mask answer is a product: inputs x masks x
// top_k predictions, each repeating the decoded sequence (about the input's length). Four small
// numbers in a 1 KB request can ask for gigabytes, so the bound is checked before the engine runs,
// with an estimate that is a LOWER bound (it never refuses an answer that would fit); the exact
// size is checked again when the answer exists (pipeline.ts). An UPPER bound, for every task, is
// what the memory budget across requests reserves while an answer is built (answerUpperBound, gate.ts).

/** The smallest prediction object: {"score":0,"token":0,"token_str":"","sequence":""} plus a comma. */
const MIN_PREDICTION_BYTES = 50;

/** Occurrences of `token` in `text` (non-overlapping). */
export function countOccurrences(text: string, token: string): number {
  if (token === '') return 0;
  let n = 0;
  for (let i = text.indexOf(token); i >= 0; i = text.indexOf(token, i + token.length)) n++;
  return n;
}

/**
 * Lower bound of the fill-mask answer's bytes: for each input, masks x k predictions, each at least
 * MIN_PREDICTION_BYTES plus its sequence, which keeps at least half the input's bytes once the mask
 * is replaced (decoding may drop spaces, accents and case, never more). k is top_k, capped at the
 * number of targets when targets are given.
 */
export function estimateFillMaskAnswerBytes(texts: readonly string[], topK: number, maskToken: string, targets?: number): number {
  const k = targets !== undefined ? Math.min(topK, targets) : topK;
  let bytes = 0;
  for (const text of texts) {
    const masks = countOccurrences(text, maskToken);
    const sequence = Math.max(0, Math.floor((Buffer.byteLength(text) - masks * maskToken.length) / 2));
    bytes += masks * k * (MIN_PREDICTION_BYTES + sequence);
  }
  return bytes;
}

/**
 * A fill-mask request's costs, counted before the work by every route that asks for predictions:
 * the answer's least bytes (above), and the predictions kept (at least one mask per text, each
 * with top_k, at most the targets: --max-predictions counts these).
 */
export function fillMaskCosts(
  texts: readonly string[],
  topK: number,
  maskToken: string,
  targets?: number,
): { minAnswerBytes: number; predictions: number } {
  const k = targets !== undefined ? Math.min(topK, targets) : topK;
  return {
    minAnswerBytes: estimateFillMaskAnswerBytes(texts, topK, maskToken, targets),
    predictions: texts.reduce((n, text) => n + Math.max(1, countOccurrences(text, maskToken)) * k, 0),
  };
}

/** What a fill-mask client can do about an answer over the limit (the default hint). */
export const FILL_MASK_HINT = 'ask for fewer predictions (top_k), masks or inputs per request';
/** What an /embed_all client can do about an answer over the limit. */
export const ALL_TOKENS_HINT =
  'send fewer or shorter inputs per request (or "truncate": true), or use POST /embed for one pooled vector per input';

export function answerTooLargeMessage(bytes: number, limit: number, estimated: boolean, hint = FILL_MASK_HINT): string {
  return `the answer would be ${estimated ? 'at least ' : ''}${bytes} bytes, over the limit of ${limit} bytes (--max-answer-bytes); ${hint}`;
}

/** A run of ASCII whitespace: every tokenizer served splits words there (and maybe elsewhere too). */
const ASCII_SPACE = /[ \t\n\r]+/;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/**
 * A LOWER bound of the tokens of `text`, without tokenizing (that is the engine's work, off this
 * thread): each ASCII-whitespace-separated word holding a letter or a digit is at least one token
 * in every tokenizer served (WordPiece, byte-level BPE, Unigram never join words across a space,
 * and never drop a letter or a digit), capped at the tokens one text may have.
 */
export function minTokens(text: string, maxTokens: number): number {
  let n = 0;
  for (const word of text.split(ASCII_SPACE)) if (LETTER_OR_DIGIT.test(word) && ++n >= maxTokens) return maxTokens;
  return n;
}

/**
 * Lower bound of the /embed_all answer's bytes (one vector of `hiddenSize` numbers per token): at
 * least minTokens() tokens per text, each vector at least two bytes a number ("0,", the shortest a
 * float32 is written) plus its brackets. Real vectors take ~11 bytes a number, so what this refuses
 * before the work is an answer at least ~5x over the limit on a real model; the exact size is
 * checked again once the answer exists.
 */
export function estimateAllTokensAnswerBytes(texts: readonly string[], hiddenSize: number, maxTokens: number): number {
  let tokens = 0;
  for (const text of texts) tokens += minTokens(text, Math.max(1, maxTokens));
  return tokens * (2 * hiddenSize + 1);
}

/**
 * The shapes answers take, for their upper bound: a route declares its own (routes/route.ts).
 * pooled: one vector per text; all-tokens: a vector per token; token-records: a record per token
 * with its text (/tokenize, NER); labels: labels and scores per text (classification, rerank, which
 * may repeat the texts); fill-mask: predictions, each repeating the decoded input; spans: answers
 * (question answering), each a part of its context.
 */
export type AnswerKind = 'pooled' | 'all-tokens' | 'token-records' | 'labels' | 'fill-mask' | 'spans';

/** What an upper bound of an answer's size is computed from (answerUpperBound). */
export interface AnswerShape {
  kind: AnswerKind;
  /** Texts in the request, and the request body's bytes (every text is shorter). */
  texts: number;
  bodyBytes: number;
  /** Fill-mask: predictions asked for (masks x top_k, or x targets, over the inputs); question answering: answers. */
  predictions?: number;
  hiddenSize: number;
  labels: readonly string[];
  /** Tokens one text may have (the model's limit, or --max-tokens). */
  maxTokens: number;
}

/** Bytes of one number as written natively (shortest float32 form, a sign, an exponent, a comma). */
const NUMBER_BYTES = 16;
/** JSON escaping can make a string's bytes up to 6 times longer (\u00XX). */
const ESCAPED = 6;

/**
 * An UPPER bound of the answer's bytes, for the memory budget (gate.ts): what may be reserved while
 * the answer is built. Loose on purpose (it never undercounts): tokens are at most one per byte of
 * the body plus the special ones, and every string may be escaped. Callers cap it at
 * --max-answer-bytes, past which the answer is refused anyway.
 */
export function answerUpperBound(s: AnswerShape): number {
  const tokens = Math.min(s.bodyBytes + 4 * s.texts, s.texts * Math.max(1, s.maxTokens));
  const label = s.labels.reduce((m, l) => Math.max(m, Buffer.byteLength(l)), 0) * ESCAPED;
  const text = s.bodyBytes * ESCAPED;
  switch (s.kind) {
    case 'token-records':
      return tokens * (label + 160) + text + 256;
    case 'fill-mask':
      // Each prediction: the numbers and keys, the token's string and the whole decoded input.
      return (s.predictions ?? 0) * (128 + 64 * ESCAPED + text) + 4 * s.texts;
    case 'all-tokens':
      return tokens * (s.hiddenSize * NUMBER_BYTES + 4) + 4 * s.texts + 256;
    case 'pooled':
      return s.texts * (s.hiddenSize * NUMBER_BYTES + 128) + 256;
    case 'spans':
      // Each answer: the numbers and keys, and at most its whole context.
      return (s.predictions ?? 0) * (128 + text) + 4 * s.texts;
    case 'labels':
      return s.texts * (Math.max(1, s.labels.length) * (label + 64) + 8) + text + 256;
  }
}
