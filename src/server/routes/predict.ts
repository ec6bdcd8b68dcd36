// POST /predict, text-embeddings-inference's, for text-classification models: {inputs, raw_scores =
// false, truncate, truncation_direction}. inputs is a text, a pair [a, b], or a list of texts and
// pairs; as TEI, a two-string list is ONE pair, a list of one or more than two strings a batch.
// Every label, best first; a single input answers a flat list, a batch a list of lists.
// raw_scores: the logits instead of softmax/sigmoid.
import { RERANK, RERANK_ROUTES } from '../../tasks/classify.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import type { TextInput } from '../../tasks/inputs.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { PAIR, STRING, object, prop } from '../api/schema.js';
import * as A from '../api/responses.js';
import type { InferenceRoute } from './route.js';

type Pair = [string, string];
type PredictInputs = string | Pair | Array<string | Pair>;

/** TEI's PredictInput (as validated): Single(text | [a, b]) | Batch([text | [a, b]]). */
function predictInputs(v: PredictInputs): { items: TextInput[]; single: boolean } {
  const item = (x: string | Pair): TextInput => (typeof x === 'string' ? x : { text: x[0], text_pair: x[1] });
  if (typeof v === 'string') return { items: [v], single: true };
  if (v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { items: [item(v as Pair)], single: true };
  return { items: v.map(item), single: false };
}

export const predict: InferenceRoute = {
  kind: 'inference',
  method: 'POST',
  path: '/predict',
  tasks: ['text-classification'],
  open: false,
  perModel: true,
  doc: { summary: 'Classification (text-embeddings-inference)', description: 'Every label, best first.' },
  request: (limit) =>
    object(
      {
        inputs: prop(
          'a string, a pair [a, b], or a list of strings and pairs',
          {
            anyOf: [STRING, PAIR, { type: 'array', items: { anyOf: [STRING, PAIR] }, minItems: 1, maxItems: limit }],
          },
          `A text, a pair [a, b] (a list of exactly two strings is ONE pair, as TEI), or a list of 1 to ${limit} texts and pairs.`,
        ),
        ...httpFields(RERANK, RERANK_ROUTES.predict, {
          rawScores: { doc: 'Answer the logits instead of softmax/sigmoid scores (default false).' },
        }),
        ...httpFields(TRUNCATION, TRUNCATION_KEYS),
      },
      ['inputs'],
    ),
  example: () => ({ inputs: 'I love it' }),
  answer: {
    description: 'One input: every label, best first. A batch: one such list per input.',
    anyOf: [A.list(A.label), A.list(A.list(A.label))],
  },
  answerKind: 'labels',
  plan(engine, body) {
    const { items, single } = predictInputs(body.inputs as PredictInputs);
    const options = {
      ...fromBody(TRUNCATION, TRUNCATION_KEYS, body),
      topK: null,
      functionToApply: fromBody(RERANK, RERANK_ROUTES.predict, body).rawScores ? ('none' as const) : undefined,
    };
    return {
      texts: items.length,
      run: async (o) => (single ? engine.classifyParts(items, { ...options, ...o })[0] : engine.classifyJson(items, { ...options, ...o })),
    };
  },
};
