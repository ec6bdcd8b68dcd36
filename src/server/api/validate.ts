// Request validation: the request schemas the routes declare (routes/*.ts) compiled once per
// --max-client-batch-size by ajv
// (pinned), and ajv's first failure turned into the message users see, naming the field:
//   413 `N inputs is over the limit of M per request (--max-client-batch-size)` for a list over
//       its maxItems;
//   422 `Expected <x-expected> for "<field>" but received <value>` otherwise (or the property's
//       `x-message`).
// ajv stops at the first failure (allErrors off), so a valid request costs one compiled check and
// an invalid one a short walk of the schema. JS thread only.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Schema } from './schema.js';
import { ROUTES } from '../routes/index.js';
import type { InferenceRoute } from '../routes/route.js';

export interface Invalid {
  status: 413 | 422;
  message: string;
}

export type Validator = (body: Record<string, unknown>) => Invalid | undefined;

const compiled = new Map<number, Map<InferenceRoute, Validator>>();

/** The validators of every inference route for a --max-client-batch-size of `limit` (compiled on first use, then shared). */
export function validators(limit: number): Map<InferenceRoute, Validator> {
  let v = compiled.get(limit);
  if (!v) {
    v = compile(limit);
    compiled.set(limit, v);
  }
  return v;
}

/** Checks `body` against `route`'s schema; undefined when valid. */
export function validateBody(limit: number, route: InferenceRoute, body: Record<string, unknown>): Invalid | undefined {
  return validators(limit).get(route)!(body);
}

function compile(limit: number): Map<InferenceRoute, Validator> {
  // strict: a typo in a schema keyword fails here, at startup, instead of silently allowing
  // everything; the annotations of requests.ts are declared as keywords that check nothing.
  // validateSchema and code optimization off: checking our own schemas against the 2020-12
  // meta-schema and ajv's code optimizer made compiling them take 0.5-1.4 s here instead of
  // ~0.1 s, for no measurable difference per request (bench/validation.js).
  const ajv = new Ajv2020({ strict: true, allErrors: false, validateSchema: false, code: { optimize: false } });
  ajv.addVocabulary(['x-expected', 'x-message']);
  const out = new Map<InferenceRoute, Validator>();
  for (const route of ROUTES) {
    if (route.kind !== 'inference') continue;
    const schema = route.request(limit);
    const check = ajv.compile(schema);
    out.set(route, (body) => (check(body) ? undefined : explain(schema, check, body)));
  }
  return out;
}

/** Turns ajv's errors into one message naming the field. */
export function explain(schema: Schema, check: ValidateFunction, body: unknown): Invalid {
  const errors = check.errors ?? [];
  const over = errors.find((e) => e.keyword === 'maxItems');
  if (over) {
    const n = (valueAt(body, pointer(over.instancePath)) as unknown[]).length;
    return {
      status: 413,
      message: `${n} inputs is over the limit of ${over.params.limit as number} per request (--max-client-batch-size)`,
    };
  }
  const e = mostSpecific(errors);
  if (!e) return { status: 422, message: 'the request body does not match its schema' };
  const { field, node } = fieldOf(schema, e);
  if (typeof node['x-message'] === 'string') return { status: 422, message: node['x-message'] };
  const expected = typeof node['x-expected'] === 'string' ? node['x-expected'] : 'a valid value';
  return { status: 422, message: `Expected ${expected} for "${field.join('.')}" but received ${describe(valueAt(body, field))}` };
}

/**
 * Among the failures of every branch of an anyOf, the one that went deepest into the value: the
 * branch whose type matched tells more than those whose type did not ({source_sentence: 1} is a
 * bad similarity request, not a bad text).
 */
function mostSpecific(errors: ErrorObject[]): ErrorObject | undefined {
  let best: ErrorObject | undefined;
  let bestScore = -1;
  for (const e of errors) {
    const depth = pointer(e.instancePath).length + (e.keyword === 'required' ? 1 : 0);
    const score = depth * 2 + (e.keyword === 'type' || e.keyword === 'anyOf' ? 0 : 1);
    if (score > bestScore) {
      best = e;
      bestScore = score;
    }
  }
  return best;
}

/** The property the error is about (names from the root) and the schema node that describes it. */
function fieldOf(schema: Schema, e: ErrorObject): { field: string[]; node: Schema } {
  // The schema path ends with the failing keyword: walk to the node that holds it.
  const path = e.schemaPath
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p !== '')
    .map(unescape)
    .slice(0, -1);
  let node: Schema = schema;
  let described: { field: string[]; node: Schema } = { field: [], node: schema };
  const props: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const next = (node as Record<string, unknown>)[path[i]];
    if (next === undefined || next === null || typeof next !== 'object') break;
    if (path[i] === 'properties' && i + 1 < path.length) {
      props.push(path[i + 1]);
      node = (next as Record<string, Schema>)[path[++i]];
      if (node['x-expected'] !== undefined || node['x-message'] !== undefined) described = { field: [...props], node };
      continue;
    }
    node = next as Schema;
  }
  if (e.keyword === 'required') {
    const missing = e.params.missingProperty as string;
    const child = (node.properties as Record<string, Schema> | undefined)?.[missing];
    if (child) described = { field: [...props, missing], node: child };
  }
  return described;
}

function pointer(instancePath: string): string[] {
  return instancePath === '' ? [] : instancePath.slice(1).split('/').map(unescape);
}

function unescape(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function valueAt(body: unknown, path: string[]): unknown {
  let v = body;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** How many nested lists a validation message names before it says "..." (the rest is not read). */
export const DESCRIBE_MAX_DEPTH = 3;

/**
 * A value as a validation message names it ("a list containing the string \"x\""). A loop with a
 * fixed bound, never recursion: the value is the user's, and a list nested to the body limit
 * (500,000 levels in 1 MiB) overflowed the stack of the recursive version. The cost is one
 * pass over at most DESCRIBE_MAX_DEPTH lists.
 */
export function describe(v: unknown): string {
  let out = '';
  for (let depth = 0; ; depth++) {
    if (!Array.isArray(v)) return out + describeScalar(v);
    if (v.length === 0) return `${out}an empty list`;
    if (depth === DESCRIBE_MAX_DEPTH) return `${out}a list containing ...`;
    out += 'a list containing ';
    // The first element that is not a string says most (a list of strings is usually what was expected).
    const list: unknown[] = v;
    v = list.find((x) => typeof x !== 'string') ?? list[0];
  }
}

function describeScalar(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? `${typeof v} ${String(v)}` : typeof v;
}
