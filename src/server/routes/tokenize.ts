// POST /tokenize, text-embeddings-inference's, for every model: {"inputs": str | [str],
// "add_special_tokens": bool (default true)} -> one list of {id, text, special, start, stop} per
// input. Tokenized on the engine's threads, serialized natively; application/json only (415).
import { TOKENIZE } from '../../tasks/tokenize.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { asList, object, texts } from '../api/schema.js';
import * as A from '../api/responses.js';
import type { InferenceRoute } from './route.js';

export const tokenize: InferenceRoute = {
  kind: 'inference',
  method: 'POST',
  path: '/tokenize',
  tasks: 'any',
  open: false,
  perModel: true,
  doc: {
    summary: 'Tokens with ids and offsets',
    description: "text-embeddings-inference's /tokenize; works for every model.",
    tag: 'tokenizer',
  },
  request: (limit) => object({ inputs: texts(limit, 'Texts'), ...httpFields(TOKENIZE, ['addSpecialTokens']) }, ['inputs']),
  example: (m) => ({ inputs: `Hello ${m.maskToken} world!`, add_special_tokens: true }),
  answer: A.list(A.list(A.token), 'One list of tokens per input; start/stop are offsets into the input (null for special tokens).'),
  answerKind: 'token-records',
  plan(engine, body) {
    const inputs = body.inputs as string | string[];
    const options = fromBody(TOKENIZE, ['addSpecialTokens'], body);
    return { texts: asList(inputs).length, run: (o) => engine.tokenizeJson(inputs, { ...options, ...o }) };
  },
};
