// Building blocks of the answers' JSON Schemas, which the routes declare (routes/*.ts) for
// /openapi.json. Answers are serialized natively and written as they are, so these are not checked
// per request: the e2e test (test/e2e/http-openapi.test.mjs) checks real answers against them instead.
import type { Schema } from './schema.js';

export const number = { type: 'number' };
export const integer = { type: 'integer' };
export const string = { type: 'string' };
export const boolean = { type: 'boolean' };
export const list = (items: Schema, description?: string): Schema => ({ type: 'array', items, ...(description ? { description } : {}) });
export const object = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
});

export const ERROR = object({
  error: { type: 'string', description: 'What went wrong, for humans.' },
  error_type: {
    type: 'string',
    description: 'validation, malformed, empty, unauthorized, payload_too_large, overloaded, unhealthy, timeout, ...',
  },
});

export const prediction = object({ score: number, token: integer, token_str: string, sequence: string });
export const label = object({ label: string, score: number });
export const vector = list(number, 'One embedding.');
export const entity = {
  ...object({ score: number, word: string, start: integer, end: integer }),
  properties: { entity: string, entity_group: string, index: integer, score: number, word: string, start: integer, end: integer },
  description:
    'aggregation_strategy none: {entity, score, index, word, start, end}; otherwise {entity_group, score, word, start, end}. Offsets are UTF-16 code units.',
};
export const answer = {
  ...object({ score: number, start: integer, end: integer, answer: string }),
  description: 'An answer: context.slice(start, end), offsets in UTF-16 code units; the null answer is "" at 0..0.',
};
export const token = object({
  id: integer,
  text: string,
  special: { type: 'boolean' },
  start: { type: ['integer', 'null'] },
  stop: { type: ['integer', 'null'] },
});
