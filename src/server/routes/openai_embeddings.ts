// OpenAI's embeddings API: POST /v1/embeddings {input: str | [str] | [int] | [[int]], model,
// encoding_format: "float" | "base64", dimensions, user} -> {object: "list", data: [{object:
// "embedding", index, embedding}], model, usage: {prompt_tokens, total_tokens}}. Token-id inputs are
// this model's vocabulary ids without [CLS]/[SEP] (added here, as for text). base64 is the
// little-endian float32 bytes, which OpenAI's clients decode (their Python client asks for base64 by
// default). Embeddings are normalized, as OpenAI's are.
import { wrapAnswers } from '../../answers.js';
import { BertServeError } from '../../errors.js';
import { EMBED, EMBED_ROUTES } from '../../tasks/embed.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { STRING, TOKEN_IDS, object, prop } from '../api/schema.js';
import * as A from '../api/responses.js';
import type { InferenceRoute } from './route.js';

type Input = string | number[];
const KEYS = EMBED_ROUTES.openai;

export const openaiEmbeddings: InferenceRoute = {
  kind: 'inference',
  method: 'POST',
  path: '/v1/embeddings',
  tasks: ['feature-extraction'],
  open: false,
  perModel: true,
  modelField: 'model',
  doc: {
    summary: 'Embeddings (OpenAI)',
    description:
      "OpenAI's embeddings API; normalized, as OpenAI's are. With several models served, `model` picks one (404 for a name not served).",
  },
  request: (limit) =>
    object(
      {
        input: prop(
          'a string, a list of strings, a list of token ids or a list of lists of token ids',
          {
            anyOf: [
              STRING,
              TOKEN_IDS,
              { type: 'array', items: STRING, minItems: 1, maxItems: limit },
              { type: 'array', items: TOKEN_IDS, minItems: 1, maxItems: limit },
            ],
          },
          `A text, token ids (this model's vocabulary, without [CLS]/[SEP]), or a list of 1 to ${limit} of either.`,
        ),
        model: prop(
          'a string',
          STRING,
          "With several models served: the model's name (GET /v1/models lists them). Echoed in the answer (default: the model's name).",
        ),
        ...httpFields(EMBED, KEYS),
      },
      ['input'],
    ),
  example: (m) => ({ input: ['hello world'], model: m.modelId }),
  answer: A.object({
    object: { const: 'list' },
    data: A.list(
      A.object({
        object: { const: 'embedding' },
        index: A.integer,
        embedding: { anyOf: [A.list(A.number), A.string], description: 'Numbers, or base64 little-endian float32 bytes.' },
      }),
    ),
    model: A.string,
    usage: A.object({ prompt_tokens: A.integer, total_tokens: A.integer }),
  }),
  answerKind: 'pooled',
  plan(engine, body) {
    // One input (a text or one list of ids) or a list of them (as validated).
    const v = body.input as Input | Input[];
    const single = typeof v === 'string' || typeof v[0] === 'number';
    const inputs: Input[] = single ? [v as Input] : (v as Input[]);
    const bad = outOfVocabulary(inputs, engine.info.vocabSize);
    if (bad) {
      const field = single ? `input[${bad.at}]` : `input[${bad.input}][${bad.at}]`;
      throw new BertServeError(
        'ERR_INVALID_ARGUMENT',
        `token id ${bad.id} in "${field}" is not in the vocabulary (0..${engine.info.vocabSize - 1})`,
      );
    }
    const model = JSON.stringify((body.model as string | undefined) ?? engine.info.modelDir.split('/').pop());
    const options = { ...fromBody(EMBED, KEYS, body), truncate: false };
    return {
      texts: inputs.length,
      run: async (o) =>
        wrapAnswers(
          await Promise.all(engine.embedParts(inputs, { ...options, ...o })),
          '{"object":"list","data":[',
          (i) => `{"object":"embedding","index":${i},"embedding":`,
          '}',
          (tokens) => `],"model":${model},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`,
        ),
    };
  },
};

/** The first token id outside 0..vocabSize-1, with where it is; undefined when every id is in range. */
export function outOfVocabulary(inputs: readonly Input[], vocabSize: number): { input: number; at: number; id: number } | undefined {
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i];
    if (typeof x === 'string') continue;
    for (let j = 0; j < x.length; j++) if (x[j] < 0 || x[j] >= vocabSize) return { input: i, at: j, id: x[j] };
  }
  return undefined;
}
