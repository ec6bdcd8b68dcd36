// The size of an answer before it is computed. A fill-mask answer is a product: inputs x masks x
// top_k predictions, each repeating the decoded sequence (about the input's length). Four small
// numbers in a 1 KB request can ask for gigabytes, so the bound is checked before the engine runs,
// with an estimate that is a LOWER bound (it never refuses an answer that would fit); the exact
// size is checked again when the answer exists (admission.ts).

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

export function answerTooLargeMessage(bytes: number, limit: number, estimated: boolean): string {
  return `the answer would be ${estimated ? 'at least ' : ''}${bytes} bytes, over the limit of ${limit} bytes (--max-answer-bytes); `
    + 'ask for fewer predictions (top_k), masks or inputs per request';
}
