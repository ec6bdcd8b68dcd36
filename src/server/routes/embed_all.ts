// POST /embed_all, text-embeddings-inference's: {inputs, prompt_name, truncate,
// truncation_direction} -> [[[float, ...] per token], ...], not pooled, not normalized.
import { EMBED, EMBED_ROUTES } from '../../tasks/embed.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { asList, object, texts } from '../api/schema.js';
import * as A from '../api/responses.js';
import type { InferenceRoute } from './route.js';
import { ALL_TOKENS_HINT, estimateAllTokensAnswerBytes } from '../answer_size.js';

const KEYS = EMBED_ROUTES.embedAll;

export const embedAll: InferenceRoute = {
  kind: 'inference',
  method: 'POST',
  path: '/embed_all',
  tasks: ['feature-extraction'],
  open: false,
  perModel: true,
  doc: { summary: "Every token's embedding (text-embeddings-inference)", description: 'Not pooled, not normalized.' },
  request: (limit) =>
    object({ inputs: texts(limit, 'Texts'), ...httpFields(TRUNCATION, TRUNCATION_KEYS), ...httpFields(EMBED, KEYS) }, ['inputs']),
  example: () => ({ inputs: ['hello world'] }),
  answer: A.list(A.list(A.vector), 'Per input, one vector per token ([CLS] and [SEP] included).'),
  answerKind: 'all-tokens',
  plan(engine, body) {
    const list = asList(body.inputs);
    const options = { ...fromBody(EMBED, KEYS, body), ...fromBody(TRUNCATION, TRUNCATION_KEYS, body) };
    // One vector per token: bounded before the work like fill-mask's product (answer_size.ts).
    const maxTokens = engine.options.maxTokens || engine.info.maxPositionEmbeddings;
    return {
      texts: list.length,
      minAnswerBytes: estimateAllTokensAnswerBytes(list, engine.info.hiddenSize, maxTokens),
      tooLargeHint: ALL_TOKENS_HINT,
      run: (o) => engine.embedAllJson(list, { ...options, ...o }),
    };
  },
};
