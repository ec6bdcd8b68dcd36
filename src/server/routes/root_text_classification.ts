// POST / for text-classification: inputs str | {text, text_pair} | a list of them -> one list per
// input of [{label, score}] best first. parameters: top_k (default 1; null: every label),
// function_to_apply, truncate, truncation_direction.
import { CLASSIFY, CLASSIFY_ROUTES } from '../../tasks/classify.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import type { TextInput } from '../../tasks/inputs.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { TEXT_INPUT, object, parameters, prop } from '../api/schema.js';
import * as A from '../api/responses.js';
import { hfRoot, params } from './hf_root.js';

const KEYS = CLASSIFY_ROUTES.root;

export const rootTextClassification = hfRoot('text-classification', {
  request: (limit) =>
    object(
      {
        inputs: prop(
          'a string, {text, text_pair}, or a non-empty list of them',
          {
            anyOf: [...TEXT_INPUT.anyOf, { type: 'array', items: TEXT_INPUT, minItems: 1, maxItems: limit }],
          },
          `A text, a pair {text, text_pair}, or a list of 1 to ${limit} of them (one list of labels per input).`,
        ),
        parameters: parameters({ ...httpFields(CLASSIFY, KEYS), ...httpFields(TRUNCATION, TRUNCATION_KEYS) }),
      },
      ['inputs'],
    ),
  example: () => ({ inputs: 'I love it', parameters: { top_k: null } }),
  answer: A.list(A.list(A.label), 'One list of labels per input, best first.'),
  answerKind: 'labels',
  plan(engine, body) {
    const inputs = body.inputs as TextInput | TextInput[];
    const items = Array.isArray(inputs) ? inputs : [inputs];
    const options = { ...fromBody(CLASSIFY, KEYS, params(body)), ...fromBody(TRUNCATION, TRUNCATION_KEYS, params(body)) };
    return { texts: items.length, run: (o) => engine.classifyJson(items, { ...options, ...o }) };
  },
});
