// POST / for token-classification: inputs str -> [entity, ...]; [str] -> one list per input.
// parameters: aggregation_strategy (default "simple", as the Inference API; the library's and the
// pipeline's default is "none"), ignore_labels, truncate, truncation_direction.
import { TOKEN_CLASSIFY, TOKEN_CLASSIFY_ROUTES } from '../../tasks/token_classify.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { asList, object, parameters, texts } from '../api/schema.js';
import * as A from '../api/responses.js';
import { hfRoot, params } from './hf_root.js';

const KEYS = TOKEN_CLASSIFY_ROUTES.root;

export const rootTokenClassification = hfRoot('token-classification', {
  request: (limit) =>
    object(
      {
        inputs: texts(limit, 'Texts'),
        parameters: parameters({
          ...httpFields(TOKEN_CLASSIFY, KEYS, {
            aggregationStrategy: { doc: 'How tokens become entities (default "simple", as the Inference API).' },
          }),
          ...httpFields(TRUNCATION, TRUNCATION_KEYS),
        }),
      },
      ['inputs'],
    ),
  example: () => ({ inputs: 'Angela Merkel visited Paris', parameters: { aggregation_strategy: 'simple' } }),
  answer: {
    description: 'A text: its entities. A list: one list of entities per text.',
    anyOf: [A.list(A.entity), A.list(A.list(A.entity))],
  },
  answerKind: 'token-records',
  plan(engine, body) {
    const inputs = body.inputs as string | string[];
    const given = fromBody(TOKEN_CLASSIFY, KEYS, params(body));
    const options = {
      ...given,
      ...fromBody(TRUNCATION, TRUNCATION_KEYS, params(body)),
      aggregationStrategy: given.aggregationStrategy ?? ('simple' as const),
    };
    return { texts: asList(inputs).length, run: (o) => engine.tokenClassifyJson(inputs, { ...options, ...o }) };
  },
});
