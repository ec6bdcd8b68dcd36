// POST / for feature-extraction: inputs str -> [float, ...]; [str] -> [[float, ...], ...];
// {source_sentence, sentences} -> [cosine, ...] (sentence similarity). parameters: normalize
// (default: the model's Normalize module, else false, as the Inference API), dimensions (not in the
// Inference API: taken so that it is not ignored, src/tasks/embed.ts), prompt_name, truncate,
// truncation_direction.
import type { EmbedOptions } from '../../engine.js';
import { jsonAnswer } from '../../answers.js';
import { EMBED, EMBED_ROUTES } from '../../tasks/embed.js';
import { TRUNCATION, TRUNCATION_KEYS } from '../../tasks/common.js';
import { fromBody, httpFields } from '../../tasks/option.js';
import { STRING, asList, object, parameters, prop } from '../api/schema.js';
import * as A from '../api/responses.js';
import { hfRoot, params } from './hf_root.js';

const KEYS = EMBED_ROUTES.root;

export const rootFeatureExtraction = hfRoot('feature-extraction', {
  request: (limit) =>
    object(
      {
        inputs: prop(
          'a string, a non-empty list of strings, or {source_sentence, sentences}',
          {
            anyOf: [
              STRING,
              { type: 'array', items: STRING, minItems: 1, maxItems: limit },
              object(
                {
                  source_sentence: prop('a string', STRING, 'The sentence the others are compared with.'),
                  sentences: prop(
                    'a string or a non-empty list of strings',
                    {
                      anyOf: [STRING, { type: 'array', items: STRING, minItems: 1, maxItems: Math.max(1, limit - 1) }],
                    },
                    `Sentences to score against source_sentence (cosine similarity): 1 to ${Math.max(1, limit - 1)} (the source counts as one input).`,
                  ),
                },
                ['source_sentence', 'sentences'],
              ),
            ],
          },
          `A text (answers one embedding), a list of 1 to ${limit} texts (one embedding each), or {source_sentence, sentences} (sentence similarity: one cosine per sentence).`,
        ),
        parameters: parameters({
          ...httpFields(EMBED, KEYS, {
            normalize: {
              doc: 'L2-normalize (default: true when the model directory has a sentence-transformers Normalize module, else false).',
            },
          }),
          ...httpFields(TRUNCATION, TRUNCATION_KEYS),
        }),
      },
      ['inputs'],
    ),
  example: () => ({ inputs: ['hello world', 'a second text'] }),
  answer: {
    description: 'A text: one embedding. A list: one embedding per text. Sentence similarity: one cosine per sentence.',
    anyOf: [A.vector, A.list(A.vector)],
  },
  answerKind: 'pooled',
  plan(engine, body) {
    const given = fromBody(EMBED, KEYS, params(body));
    const options: EmbedOptions = {
      ...given,
      ...fromBody(TRUNCATION, TRUNCATION_KEYS, params(body)),
      normalize: given.normalize ?? engine.info.taskInfo.normalize_module ?? false,
    };
    const inputs = body.inputs as string | string[] | { source_sentence: string; sentences: string | string[] };
    if (typeof inputs === 'object' && !Array.isArray(inputs)) {
      const list = [inputs.source_sentence, ...asList(inputs.sentences)];
      return {
        texts: list.length,
        run: async (o) => {
          const vectors = await engine.embed(list, { ...options, normalize: true, ...o });
          return jsonAnswer(vectors.slice(1).map((v) => dot(vectors[0], v)));
        },
      };
    }
    const texts = asList(inputs);
    return {
      texts: texts.length,
      run: (o) =>
        typeof inputs === 'string' ? engine.embedParts(texts, { ...options, ...o })[0] : engine.embedJson(texts, { ...options, ...o }),
    };
  },
});

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
