// Building blocks of the request schemas the routes declare (routes/*.ts): JSON Schema 2020-12,
// OpenAPI 3.1's dialect. Every property carries `x-expected`, the phrase its 422 message uses
// ("Expected <x-expected> for "<field>" but received <the value>"), and may carry `x-message`, a
// whole message that replaces it. Lists of inputs have `maxItems` = --max-client-batch-size: a
// list over it is 413 (validate.ts), so schemas are built per limit. Unknown properties are
// ignored, as the Hugging Face and TEI servers ignore them.
import type { Schema } from '../../tasks/option.js';

export type { Schema } from '../../tasks/option.js';

/** A property: its schema, the phrase its 422 message uses, and a description for the document. */
export function prop(expected: string, schema: Schema, description?: string): Schema {
  return { ...schema, description: description ?? `${expected[0].toUpperCase()}${expected.slice(1)}.`, 'x-expected': expected };
}

export function object(properties: Record<string, Schema>, required: string[] = []): Schema {
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

export const STRING = { type: 'string' };
export const NULLABLE_BOOL = { type: ['boolean', 'null'] };
export const PAIR = { type: 'array', prefixItems: [STRING, STRING], minItems: 2, maxItems: 2, items: false };
export const TOKEN_IDS = { type: 'array', items: { type: 'integer' }, minItems: 1 };
/** A text or a {text, text_pair} pair. */
export const TEXT_INPUT = { anyOf: [STRING, object({ text: STRING, text_pair: STRING }, ['text'])] };

/** A text or a list of 1 to `limit` texts. */
export function texts(limit: number, what: string): Schema {
  return prop(
    'a string or a non-empty list of strings',
    {
      anyOf: [STRING, { type: 'array', items: STRING, minItems: 1, maxItems: limit }],
    },
    `${what}: a string, or a list of 1 to ${limit} strings (--max-client-batch-size; more is 413).`,
  );
}

/** The Hugging Face Inference API's `parameters` object (every field optional; null is none). */
export function parameters(properties: Record<string, Schema>): Schema {
  return prop('an object', { ...object(properties), type: ['object', 'null'] }, 'Options of the task (all optional).');
}

/** A string or a list of strings (as validated) as a list. */
export function asList(v: unknown): string[] {
  return typeof v === 'string' ? [v] : (v as string[]);
}
