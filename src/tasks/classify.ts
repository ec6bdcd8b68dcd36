// text-classification (<Family>ForSequenceClassification), and reranking with a one-label
// cross-encoder: the options, the answers' shapes, and the canonical options the native head
// (native/engine/model/classify.cc) reads.
import type { JsonAnswer } from '../answers.js';
import { boolean, choice, integer, resolve, toWire, type OptionsOf } from './option.js';

export const CLASSIFY = {
  topK: integer(
    'top_k',
    { min: 1, nullable: true },
    { doc: 'Labels per input, best first (default 1, as the pipeline; null: every label).', default: 1 },
  ),
  functionToApply: choice('function_to_apply', ['softmax', 'sigmoid', 'none'], {
    doc: "Default: sigmoid for multi-label and one-label models, softmax otherwise (the pipeline's rule).",
  }),
  /** One score (a JSON number) instead of the list of labels: what reranking reads. */
  scoreOnly: boolean('score_only', { doc: "Answer the first label's score alone.", default: false }),
};
export type ClassifyParams = Omit<OptionsOf<typeof CLASSIFY>, 'scoreOnly'>;

export const RERANK = {
  rawScores: boolean('raw_scores', { doc: 'Answer the logits instead of sigmoid scores (default false).', default: false, native: false }),
};
export type RerankParams = OptionsOf<typeof RERANK>;
/** The options each route takes (see EMBED_ROUTES in embed.ts). */
export const CLASSIFY_ROUTES = {
  /** POST / (the Hugging Face Inference API's text-classification). */
  root: ['topK', 'functionToApply'],
} as const satisfies Record<string, ReadonlyArray<keyof typeof CLASSIFY>>;
export const RERANK_ROUTES = {
  /** POST /rerank and POST /predict (text-embeddings-inference). */
  rerank: ['rawScores'],
  predict: ['rawScores'],
} as const satisfies Record<string, ReadonlyArray<keyof typeof RERANK>>;

export interface ClassificationLabel {
  label: string;
  score: number;
}
export interface RerankResult {
  index: number;
  score: number;
}

/** The native head's options. */
export function classifyParams(o: OptionsOf<typeof CLASSIFY>): string {
  return JSON.stringify(toWire(CLASSIFY, resolve(CLASSIFY, o)));
}

/** The native head's options for reranking: one score per pair, through sigmoid unless rawScores. */
export function rerankParams(o: RerankParams): string {
  const r = resolve(RERANK, o);
  return classifyParams({ scoreOnly: true, functionToApply: r.rawScores ? 'none' : 'sigmoid' });
}

/** Scores (one natively serialized number per text) as [{index, score}], best first; equal scores keep the texts' order. */
export function rankScores(answers: JsonAnswer[]): RerankResult[] {
  const out = answers.map((a, index) => ({ index, score: Number(a.body.toString('latin1')) }));
  return out.sort((x, y) => y.score - x.score || x.index - y.index);
}
