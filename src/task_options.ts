// Per-task request options: validated here with messages that name the argument, then turned into the
// JSON the native task head parses (native/engine/model/*.cc). One function per task; a new task adds
// one here and one head natively.
import { BertServeError, invalidArgument } from './errors.js';

/** A text, or a sentence pair as the Hugging Face pipelines take it. */
export type TextInput = string | { text: string; text_pair?: string };

export interface TruncationOptions {
  /** Over the token limit: truncate (true) or refuse with ERR_INPUT_TOO_LONG (false). Default: the engine's `truncate`. */
  truncate?: boolean;
  /** Which end truncation cuts (default 'right'). */
  truncationDirection?: 'right' | 'left';
}

export interface FillMaskParams {
  topK?: number;
  targets?: string[];
}

export interface EmbedParams {
  /** L2-normalize (default true, as text-embeddings-inference). */
  normalize?: boolean;
  /** Keep the first N dimensions (Matryoshka), before normalizing. */
  dimensions?: number;
  /** A prompt from the model's config_sentence_transformers.json, prepended to each text. */
  promptName?: string;
}

export interface ClassifyParams {
  /** Labels per text, best first (default 1 as the pipeline); null or 0: every label. */
  topK?: number | null;
  /** Default: sigmoid for multi-label or one-label models, softmax otherwise (the pipeline's rule). */
  functionToApply?: 'softmax' | 'sigmoid' | 'none';
}

export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max';

export interface TokenClassifyParams {
  /** Default 'none' (the pipeline's default). */
  aggregationStrategy?: AggregationStrategy;
  /** Labels (or groups) left out of the answer (default ["O"]). */
  ignoreLabels?: string[];
}

const AGGREGATIONS = new Set(['none', 'simple', 'first', 'average', 'max']);
const FUNCTIONS = new Set(['softmax', 'sigmoid', 'none']);

export function fillMaskParams(o: FillMaskParams, inputs: number, limits: { maxPredictions: number; maxMasks: number }): string {
  const topK = o.topK ?? 5;
  if (!Number.isInteger(topK) || topK < 1 || topK > 1000) throw invalidArgument('topK', 'an integer between 1 and 1000', topK);
  if (o.targets !== undefined && (!Array.isArray(o.targets) || o.targets.length === 0 || !o.targets.every((t) => typeof t === 'string' && t.length > 0))) {
    throw invalidArgument('targets', 'a non-empty array of non-empty strings', o.targets);
  }
  // Every text has at least one mask: refuse before any work when the predictions per mask x inputs
  // is already over. With targets, every distinct target is scored at every mask (and resolved to a
  // token for every text), so they count instead of top_k: 25,000 targets x 32 inputs once cost 2 s
  // of engine time in a 266 KB request.
  const targets = o.targets === undefined ? 0 : new Set(o.targets).size;
  const perMask = targets > 0 ? targets : topK;
  if (perMask * inputs > limits.maxPredictions) {
    const what = targets > 0 ? `${targets} distinct targets` : `top_k ${topK}`;
    throw new BertServeError('ERR_TOO_MANY_PREDICTIONS', `${what} x ${inputs} input(s) asks for at least ${perMask * inputs} predictions; `
      + `the limit is ${limits.maxPredictions} per request (maxPredictions, --max-predictions)`);
  }
  return JSON.stringify({ top_k: topK, targets: o.targets, max_masks: limits.maxMasks, max_predictions: Math.floor(limits.maxPredictions / inputs) });
}

export function embedParams(o: EmbedParams & { allTokens?: boolean; encodingFormat?: 'float' | 'base64' }): string {
  if (o.normalize !== undefined && typeof o.normalize !== 'boolean') throw invalidArgument('normalize', 'a boolean', o.normalize);
  if (o.dimensions !== undefined && o.dimensions !== null && (!Number.isInteger(o.dimensions) || o.dimensions < 1)) {
    throw invalidArgument('dimensions', 'a positive integer', o.dimensions);
  }
  return JSON.stringify({ normalize: o.normalize ?? true, dimensions: o.dimensions ?? undefined, all_tokens: o.allTokens || undefined, format: o.encodingFormat });
}

export function classifyParams(o: ClassifyParams & { scoreOnly?: boolean }): string {
  const k = o.topK === null ? 0 : o.topK ?? 1;
  if (!Number.isInteger(k) || k < 0) throw invalidArgument('topK', 'a non-negative integer or null (every label)', o.topK);
  if (o.functionToApply !== undefined && !FUNCTIONS.has(o.functionToApply)) {
    throw invalidArgument('functionToApply', '"softmax", "sigmoid" or "none"', o.functionToApply);
  }
  return JSON.stringify({ top_k: k, function_to_apply: o.functionToApply, score_only: o.scoreOnly || undefined });
}

export function tokenClassifyParams(o: TokenClassifyParams): string {
  const a = o.aggregationStrategy ?? 'none';
  if (!AGGREGATIONS.has(a)) throw invalidArgument('aggregationStrategy', '"none", "simple", "first", "average" or "max"', a);
  if (o.ignoreLabels !== undefined && (!Array.isArray(o.ignoreLabels) || !o.ignoreLabels.every((l) => typeof l === 'string'))) {
    throw invalidArgument('ignoreLabels', 'an array of strings', o.ignoreLabels);
  }
  return JSON.stringify({ aggregation_strategy: a, ignore_labels: o.ignoreLabels });
}

/** Native request flags for truncation (see NativeFlags). */
export function truncationFlags(o: TruncationOptions, engineDefault: boolean): number {
  if (o.truncate !== undefined && typeof o.truncate !== 'boolean') throw invalidArgument('truncate', 'a boolean', o.truncate);
  const dir = o.truncationDirection ?? 'right';
  if (dir !== 'right' && dir !== 'left') throw invalidArgument('truncationDirection', '"right" or "left"', dir);
  if (!(o.truncate ?? engineDefault)) return 2;
  return dir === 'left' ? 6 : 4;
}
