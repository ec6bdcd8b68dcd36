// The inputs of the task methods, checked and turned into the items handed to native code: texts,
// sentence pairs, and (for embeddings) token ids.
import { invalidArgument } from '../errors.js';

/** A text, or a sentence pair as the Hugging Face pipelines take it. */
export type TextInput = string | { text: string; text_pair?: string };

/** One text (or pair, or token ids) as handed to native code. */
export interface Item {
  text: string;
  pair: string | null;
  tokenIds: Int32Array | null;
}

export const textItem = (text: string): Item => ({ text, pair: null, tokenIds: null });

export function checkTexts(input: string | string[]): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) throw invalidArgument('inputs', 'a string or a non-empty array of strings', input);
  for (let i = 0; i < input.length; i++) {
    if (typeof input[i] !== 'string') throw invalidArgument(`inputs[${i}]`, 'a string', input[i]);
  }
  return input;
}

/** Texts, {text, text_pair} pairs and (when allowed) token-id arrays, as native items. */
export function checkItems(input: TextInput | Array<TextInput | number[]>, allowIds: boolean): Item[] {
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
    if (
      x !== null &&
      typeof x === 'object' &&
      typeof x.text === 'string' &&
      (x.text_pair === undefined || typeof x.text_pair === 'string')
    ) {
      return { text: x.text, pair: x.text_pair ?? null, tokenIds: null };
    }
    throw invalidArgument(`inputs[${i}]`, 'a string or {text, text_pair}', x);
  });
}
