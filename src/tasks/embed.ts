// feature-extraction (<Family>Model and sentence-transformers directories): its options and the
// canonical options the native head (native/engine/model/embed.cc) reads.
import { boolean, choice, integer, string, toWire, resolve, type OptionsOf } from './option.js';

export const EMBED = {
  normalize: boolean('normalize', { doc: 'L2-normalize, after `dimensions` (default true, as text-embeddings-inference).', default: true }),
  dimensions: integer('dimensions', { min: 1 }, { doc: 'Keep the first N dimensions (Matryoshka models).' }),
  promptName: string('prompt_name', {
    doc: "A prompt from the model's config_sentence_transformers.json, prepended to each text (default: its default_prompt_name).",
    native: false,
  }),
  /** Every token's vector instead of the pooled one (POST /embed_all). */
  allTokens: boolean('all_tokens', { doc: "Every token's vector, not pooled.", default: false }),
  /** JSON numbers, or a base64 string of little-endian float32 (OpenAI's encoding_format). */
  encodingFormat: choice('encoding_format', ['float', 'base64'], {
    doc: '"float" (default) or "base64" (little-endian float32 bytes).',
    default: 'float',
  }),
};
export type EmbedParams = OptionsOf<typeof EMBED>;

/**
 * The options each route takes, as the API it follows has them; a route reads its list from here, so
 * putting a new option on a route is one word next to its declaration (docs/architecture.md).
 */
export const EMBED_ROUTES = {
  /** POST /embed (text-embeddings-inference). */
  embed: ['normalize', 'dimensions', 'promptName'],
  /** POST /embed_all (text-embeddings-inference). */
  embedAll: ['promptName'],
  /** POST /v1/embeddings (OpenAI). */
  openai: ['encodingFormat', 'dimensions'],
  /**
   * POST / (the Hugging Face Inference API's feature-extraction). Its parameters have no dimensions;
   * taken here too, since that parameters object lets unknown names through and a cut asked for
   * must not be ignored without a word.
   */
  root: ['normalize', 'dimensions', 'promptName'],
} as const satisfies Record<string, ReadonlyArray<keyof typeof EMBED>>;

/** The native head's options (the prompt is prepended by the caller: it is not among them). */
export function embedParams(o: EmbedParams): string {
  return JSON.stringify(toWire(EMBED, resolve(EMBED, o)));
}
