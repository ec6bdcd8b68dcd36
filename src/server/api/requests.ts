// The JSON request bodies of every inference route, as JSON Schema (2020-12, OpenAPI 3.1's
// dialect). One source for both uses: validate.ts compiles them (ajv) to check each request, and
// openapi.ts puts the same objects in /openapi.json, so what is documented is what is enforced.
//
// Every property carries `x-expected`, the phrase its 422 message uses ("Expected <x-expected>
// for "<field>" but received <the value>"), and may carry `x-message`, a whole message that
// replaces it. Lists of inputs have `maxItems` = --max-client-batch-size: a list over it is 413
// (validate.ts), so the schemas are built per limit (requestSchemas(limit), cached by the caller).
// Unknown properties are ignored, as the Hugging Face and TEI servers ignore them.
import type { Task } from '../../engine.js';

export type Schema = Record<string, unknown>;

/** A property: its schema, the phrase its 422 message uses, and a description for the document. */
function prop(expected: string, schema: Schema, description?: string): Schema {
  return { ...schema, description: description ?? `${expected[0].toUpperCase()}${expected.slice(1)}.`, 'x-expected': expected };
}

function object(properties: Record<string, Schema>, required: string[] = []): Schema {
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

const STRING = { type: 'string' };
const NULLABLE_BOOL = { type: ['boolean', 'null'] };
const PAIR = { type: 'array', prefixItems: [STRING, STRING], minItems: 2, maxItems: 2, items: false };
const TOKEN_IDS = { type: 'array', items: { type: 'integer' }, minItems: 1 };

const truncate = prop('a boolean', NULLABLE_BOOL,
  'Truncate a text longer than the token limit instead of refusing it with 413 (default: --truncate).');
// TEI spells it "Right" / "Left"; any case is accepted.
const truncationDirection = prop('"Right" or "Left"', { type: ['string', 'null'], pattern: '^([Rr][Ii][Gg][Hh][Tt]|[Ll][Ee][Ff][Tt])$' },
  'Which end truncation cuts: "Right" (default) or "Left", any case.');

/** The request schemas, keyed by route (and by task for POST /), for a --max-client-batch-size of `limit`. */
export function requestSchemas(limit: number) {
  const texts = (what: string) => prop('a string or a non-empty list of strings', {
    anyOf: [STRING, { type: 'array', items: STRING, minItems: 1, maxItems: limit }],
  }, `${what}: a string, or a list of 1 to ${limit} strings (--max-client-batch-size; more is 413).`);
  const parameters = (properties: Record<string, Schema>) =>
    prop('an object', { ...object(properties), type: ['object', 'null'] }, 'Options of the task (all optional).');
  const textInput = { anyOf: [STRING, object({ text: STRING, text_pair: STRING }, ['text'])] };

  const rootFillMask = object({
    inputs: texts('Texts with one or more mask tokens'),
    parameters: parameters({
      top_k: prop('an integer between 1 and 1000', { type: ['integer', 'null'], minimum: 1, maximum: 1000 }, 'Predictions per mask (default 5).'),
      targets: prop('a non-empty string or a non-empty list of non-empty strings', {
        anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }, { type: 'null' }],
      }, 'Score only these words (Hugging Face `targets`); distinct targets x masks count as predictions (--max-predictions).'),
      truncate,
      truncation_direction: truncationDirection,
    }),
  }, ['inputs']);

  const rootFeatureExtraction = object({
    inputs: prop('a string, a non-empty list of strings, or {source_sentence, sentences}', {
      anyOf: [
        STRING,
        { type: 'array', items: STRING, minItems: 1, maxItems: limit },
        object({
          source_sentence: prop('a string', STRING, 'The sentence the others are compared with.'),
          sentences: prop('a string or a non-empty list of strings', {
            anyOf: [STRING, { type: 'array', items: STRING, minItems: 1, maxItems: Math.max(1, limit - 1) }],
          }, `Sentences to score against source_sentence (cosine similarity): 1 to ${Math.max(1, limit - 1)} (the source counts as one input).`),
        }, ['source_sentence', 'sentences']),
      ],
    }, `A text (answers one embedding), a list of 1 to ${limit} texts (one embedding each), or {source_sentence, sentences} (sentence similarity: one cosine per sentence).`),
    parameters: parameters({
      normalize: prop('a boolean', NULLABLE_BOOL, 'L2-normalize (default: true when the model directory has a sentence-transformers Normalize module, else false).'),
      prompt_name: prop('a string', { type: ['string', 'null'] }, 'A prompt from the model\'s config_sentence_transformers.json, prepended to each text.'),
      truncate,
      truncation_direction: truncationDirection,
    }),
  }, ['inputs']);

  const rootTextClassification = object({
    inputs: prop('a string, {text, text_pair}, or a non-empty list of them', {
      anyOf: [...textInput.anyOf, { type: 'array', items: textInput, minItems: 1, maxItems: limit }],
    }, `A text, a pair {text, text_pair}, or a list of 1 to ${limit} of them (one list of labels per input).`),
    parameters: parameters({
      top_k: prop('a positive integer or null', { type: ['integer', 'null'], minimum: 1 }, 'Labels per input, best first (default 1; null: every label).'),
      function_to_apply: prop('"softmax", "sigmoid" or "none"', { enum: ['softmax', 'sigmoid', 'none', null] },
        'Default: sigmoid for multi-label and one-label models, softmax otherwise (the pipeline\'s rule).'),
      truncate,
      truncation_direction: truncationDirection,
    }),
  }, ['inputs']);

  const rootTokenClassification = object({
    inputs: texts('Texts'),
    parameters: parameters({
      aggregation_strategy: prop('"none", "simple", "first", "average" or "max"', { enum: ['none', 'simple', 'first', 'average', 'max', null] },
        'How tokens become entities (default "simple", as the Inference API).'),
      ignore_labels: prop('a list of strings', { type: ['array', 'null'], items: STRING }, 'Labels left out of the answer (default ["O"]).'),
      truncate,
      truncation_direction: truncationDirection,
    }),
  }, ['inputs']);

  const root: Record<Task, Schema> = {
    'fill-mask': rootFillMask,
    'feature-extraction': rootFeatureExtraction,
    'text-classification': rootTextClassification,
    'token-classification': rootTokenClassification,
  };

  const embedAll = object({
    inputs: texts('Texts'),
    truncate,
    truncation_direction: truncationDirection,
    prompt_name: prop('a string', { type: ['string', 'null'] }, 'A prompt from the model\'s config_sentence_transformers.json, prepended to each text (default: its default_prompt_name).'),
  }, ['inputs']);
  const embed = object({
    ...(embedAll.properties as Record<string, Schema>),
    normalize: prop('a boolean', NULLABLE_BOOL, 'L2-normalize, after `dimensions` (default true).'),
    dimensions: prop('a positive integer', { type: ['integer', 'null'], minimum: 1 }, 'Keep the first N dimensions (Matryoshka models).'),
    encoding_format: {
      not: {}, description: 'Not accepted here: base64 is on POST /v1/embeddings.',
      'x-message': 'POST /embed answers JSON numbers only; "encoding_format" (base64) is on POST /v1/embeddings',
    },
  }, ['inputs']);

  const openaiEmbeddings = object({
    input: prop('a string, a list of strings, a list of token ids or a list of lists of token ids', {
      anyOf: [
        STRING,
        TOKEN_IDS,
        { type: 'array', items: STRING, minItems: 1, maxItems: limit },
        { type: 'array', items: TOKEN_IDS, minItems: 1, maxItems: limit },
      ],
    }, `A text, token ids (this model's vocabulary, without [CLS]/[SEP]), or a list of 1 to ${limit} of either.`),
    model: prop('a string', STRING, 'Echoed in the answer (default: the model directory\'s name).'),
    encoding_format: prop('"float" or "base64"', { enum: ['float', 'base64'] }, '"float" (default) or "base64" (little-endian float32 bytes).'),
    dimensions: prop('a positive integer', { type: ['integer', 'null'], minimum: 1 }, 'Keep the first N dimensions (Matryoshka models).'),
  }, ['input']);

  const predict = object({
    inputs: prop('a string, a pair [a, b], or a list of strings and pairs', {
      anyOf: [STRING, PAIR, { type: 'array', items: { anyOf: [STRING, PAIR] }, minItems: 1, maxItems: limit }],
    }, `A text, a pair [a, b] (a list of exactly two strings is ONE pair, as TEI), or a list of 1 to ${limit} texts and pairs.`),
    raw_scores: prop('a boolean', NULLABLE_BOOL, 'Answer the logits instead of softmax/sigmoid scores (default false).'),
    truncate,
    truncation_direction: truncationDirection,
  }, ['inputs']);

  const rerank = object({
    query: prop('a string', STRING, 'The query each text is scored against.'),
    texts: texts('Texts to rank'),
    raw_scores: prop('a boolean', NULLABLE_BOOL, 'Answer the logits instead of sigmoid scores (default false).'),
    return_text: prop('a boolean', NULLABLE_BOOL, 'Include each text in the answer (default false).'),
    truncate,
    truncation_direction: truncationDirection,
  }, ['query', 'texts']);

  const tokenize = object({
    inputs: texts('Texts'),
    add_special_tokens: prop('a boolean', NULLABLE_BOOL, 'Add [CLS]/[SEP] (default true).'),
  }, ['inputs']);

  return { root, embed, embedAll, openaiEmbeddings, predict, rerank, tokenize };
}

export type RequestSchemas = ReturnType<typeof requestSchemas>;
/** Names of the routes' bodies (POST / is `root:<task>`). */
export type BodyName = Exclude<keyof RequestSchemas, 'root'> | `root:${Task}`;
