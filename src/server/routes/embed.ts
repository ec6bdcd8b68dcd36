// POST /embed, text-embeddings-inference's: {inputs: str | [str], normalize = true, dimensions,
// prompt_name, truncate, truncation_direction} -> [[float, ...], ...] (one list per input), pooled,
// normalized and serialized natively.
import { EMBED, EMBED_ROUTES } from '../../tasks/embed.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { asList, object, texts } from '../api/schema.js';
import * as A from '../api/responses.js';
import type { InferenceRoute } from './route.js';

const KEYS = EMBED_ROUTES.embed;

export const embed: InferenceRoute = {
  kind: 'inference',
  method: 'POST',
  path: '/embed',
  tasks: ['feature-extraction'],
  open: false,
  perModel: true,
  doc: {
    summary: 'Embeddings (text-embeddings-inference)',
    description: 'Pooled embeddings, one per input; normalized unless normalize is false.',
  },
  request: (limit) =>
    object(
      {
        inputs: texts(limit, 'Texts'),
        ...httpFields(EMBED, KEYS),
        ...httpFields(TRUNCATION, TRUNCATION_KEYS),
        encoding_format: {
          not: {},
          description: 'Not accepted here: base64 is on POST /v1/embeddings.',
          'x-message': 'POST /embed answers JSON numbers only; "encoding_format" (base64) is on POST /v1/embeddings',
        },
      },
      ['inputs'],
    ),
  example: () => ({ inputs: ['hello world'] }),
  answer: A.list(A.vector, 'One embedding per input.'),
  answerKind: 'pooled',
  plan(engine, body) {
    const list = asList(body.inputs);
    const options = { ...fromBody(EMBED, KEYS, body), ...fromBody(TRUNCATION, TRUNCATION_KEYS, body) };
    return { texts: list.length, run: (o) => engine.embedJson(list, { ...options, ...o }) };
  },
};
