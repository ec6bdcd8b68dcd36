// The JSON answers of every route, as JSON Schema, for /openapi.json. Answers are serialized
// natively and written as they are, so these are not checked per request: the e2e test
// (test/e2e/http-openapi.test.mjs) checks real answers against them instead.
import type { Task } from '../../engine.js';
import type { Schema } from './requests.js';

const number = { type: 'number' };
const integer = { type: 'integer' };
const string = { type: 'string' };
const list = (items: Schema, description?: string): Schema => ({ type: 'array', items, ...(description ? { description } : {}) });
const object = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema =>
  ({ type: 'object', properties, required });

export const ERROR = object({
  error: { type: 'string', description: 'What went wrong, for humans.' },
  error_type: { type: 'string', description: 'validation, malformed, empty, unauthorized, payload_too_large, overloaded, unhealthy, timeout, ...' },
});

const prediction = object({ score: number, token: integer, token_str: string, sequence: string });
const label = object({ label: string, score: number });
const vector = list(number, 'One embedding.');
const entity = {
  ...object({ score: number, word: string, start: integer, end: integer }),
  properties: { entity: string, entity_group: string, index: integer, score: number, word: string, start: integer, end: integer },
  description: 'aggregation_strategy none: {entity, score, index, word, start, end}; otherwise {entity_group, score, word, start, end}. Offsets are UTF-16 code units.',
};
const token = object({ id: integer, text: string, special: { type: 'boolean' }, start: { type: ['integer', 'null'] }, stop: { type: ['integer', 'null'] } });

export const ROOT_ANSWER: Record<Task, Schema> = {
  'fill-mask': {
    description: 'A text with one mask: its predictions, best first. Several masks: one list per mask. A list of inputs: one answer per input.',
    anyOf: [list(prediction), list({ anyOf: [list(prediction), list(list(prediction))] })],
  },
  'feature-extraction': {
    description: 'A text: one embedding. A list: one embedding per text. Sentence similarity: one cosine per sentence.',
    anyOf: [vector, list(vector)],
  },
  'text-classification': list(list(label), 'One list of labels per input, best first.'),
  'token-classification': {
    description: 'A text: its entities. A list: one list of entities per text.',
    anyOf: [list(entity), list(list(entity))],
  },
};

export const EMBED_ANSWER = list(vector, 'One embedding per input.');
export const EMBED_ALL_ANSWER = list(list(vector), 'Per input, one vector per token ([CLS] and [SEP] included).');
export const OPENAI_ANSWER = object({
  object: { const: 'list' },
  data: list(object({
    object: { const: 'embedding' },
    index: integer,
    embedding: { anyOf: [list(number), string], description: 'Numbers, or base64 little-endian float32 bytes.' },
  })),
  model: string,
  usage: object({ prompt_tokens: integer, total_tokens: integer }),
});
export const PREDICT_ANSWER = {
  description: 'One input: every label, best first. A batch: one such list per input.',
  anyOf: [list(label), list(list(label))],
};
export const RERANK_ANSWER = list({ ...object({ index: integer, score: number }), properties: { index: integer, score: number, text: string } }, 'Best first.');
export const TOKENIZE_ANSWER = list(list(token), 'One list of tokens per input; start/stop are offsets into the input (null for special tokens).');
export const HEALTH_ANSWER = object({ status: { const: 'ok' } });
export const READY_ANSWER = object({ status: { const: 'ready' } });
export const INFO_ANSWER = {
  ...object({ model_id: string, task: string, architecture: string, model_type: string, family: string, device: string, dtype: string, max_input_length: integer, max_client_batch_size: integer, version: string }),
  description: 'The model, its family (model_type, token types, where positions start), task (labels, pooling, prompts), device, dtype and limits.',
};
