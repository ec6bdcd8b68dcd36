// Tokenizing on the engine's threads (any model): the option and text-embeddings-inference's token shape.
import { NativeFlags } from '../native/types.js';
import { boolean, resolve, type OptionsOf } from './option.js';

export const TOKENIZE = {
  addSpecialTokens: boolean('add_special_tokens', {
    doc: 'Add the special tokens ([CLS]/[SEP], <s>/</s>) (default true).',
    default: true,
    native: false,
  }),
};
export type TokenizeParams = OptionsOf<typeof TOKENIZE>;

/** text-embeddings-inference's /tokenize token: start/stop index the input, null for special tokens. */
export interface TokenInfo {
  id: number;
  text: string;
  special: boolean;
  start: number | null;
  stop: number | null;
}

/** The native flags of a tokenize request. */
export function tokenizeFlags(o: TokenizeParams): number {
  return resolve(TOKENIZE, o).addSpecialTokens ? NativeFlags.AddSpecialTokens : 0;
}
