// token-classification (<Family>ForTokenClassification, NER): the options, the entities' shape, and
// the canonical options the native head (native/engine/model/token_classify.cc) reads.
import { choice, resolve, strings, toWire, type OptionsOf } from './option.js';

export const AGGREGATION_STRATEGIES = ['none', 'simple', 'first', 'average', 'max'] as const;
export type AggregationStrategy = (typeof AGGREGATION_STRATEGIES)[number];

export const TOKEN_CLASSIFY = {
  aggregationStrategy: choice('aggregation_strategy', AGGREGATION_STRATEGIES, {
    doc: 'How tokens become entities (default "none", as the pipeline).',
    default: 'none',
  }),
  ignoreLabels: strings(
    'ignore_labels',
    { nonEmpty: false, orOne: false },
    { doc: 'Labels left out of the answer (default ["O"]).', default: ['O'] },
  ),
};
export type TokenClassifyParams = OptionsOf<typeof TOKEN_CLASSIFY>;
/** The options each route takes (see EMBED_ROUTES in embed.ts). */
export const TOKEN_CLASSIFY_ROUTES = {
  /** POST / (the Hugging Face Inference API's token-classification). */
  root: ['aggregationStrategy', 'ignoreLabels'],
} as const satisfies Record<string, ReadonlyArray<keyof typeof TOKEN_CLASSIFY>>;

export interface TokenEntity {
  entity?: string;
  entity_group?: string;
  score: number;
  index?: number;
  word: string;
  start: number;
  end: number;
}

/** The native head's options. */
export function tokenClassifyParams(o: TokenClassifyParams): string {
  return JSON.stringify(toWire(TOKEN_CLASSIFY, resolve(TOKEN_CLASSIFY, o)));
}
