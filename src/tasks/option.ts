// Per-request options, each declared once: its TypeScript type, its default, the check with the
// phrase its refusal uses, the JSON Schema of its HTTP field and its name on the wire (the HTTP field
// and the key of the canonical JSON the native task head reads). The task files (fill_mask.ts,
// embed.ts, ...) declare their options with these constructors; the library (engine.ts) checks and
// fills them with resolve(); the HTTP routes take their fields from httpFields() and read them back
// with fromBody(); the native heads read the canonical JSON (toWire()) without checking it again.
import { invalidArgument } from '../errors.js';

/** A JSON Schema (2020-12, OpenAPI 3.1's dialect) as a plain object. */
export type Schema = Record<string, unknown>;

export interface Option<T> {
  /** snake_case: the HTTP field and the canonical JSON key. */
  readonly wire: string;
  /** The phrase a refusal uses: `Expected <expected> for <name> but received <value>`. */
  readonly expected: string;
  /** JSON Schema of a valid value (null is added for HTTP fields, where null means absent). */
  readonly schema: Schema;
  /** The value used when the caller gives none; undefined: none (the head decides, e.g. from the model). */
  readonly default: T | undefined;
  readonly doc: string;
  accepts(v: unknown): boolean;
  /** The canonical form of an accepted value (a lower-cased choice, a string made a list). */
  canonical(v: T): T;
  /** null is a value (it means something other than absent, e.g. every label), not "absent". */
  readonly nullable: boolean;
  /** false: used in TypeScript only, never sent to the native head (e.g. a prompt prepended here). */
  readonly native: boolean;
}

export type OptionSet = Readonly<Record<string, Option<unknown>>>;
type ValueOf<O> = O extends Option<infer T> ? T : never;
/** The options a caller may give: every one optional. */
export type OptionsOf<S extends OptionSet> = { -readonly [K in keyof S]?: ValueOf<S[K]> };
/** The options after resolve(): checked, canonical, defaults filled (undefined where there is none). */
export type Resolved<S extends OptionSet> = { -readonly [K in keyof S]: ValueOf<S[K]> | undefined };

interface Common<T> {
  doc: string;
  default?: T;
  native?: boolean;
  /** The refusal's phrase, when the generated one would read worse. */
  expected?: string;
}

function option<T>(
  wire: string,
  expected: string,
  schema: Schema,
  accepts: (v: unknown) => boolean,
  c: Common<T>,
  extra: { canonical?: (v: T) => T; nullable?: boolean } = {},
): Option<T> {
  return {
    wire,
    expected: c.expected ?? expected,
    schema,
    accepts,
    doc: c.doc,
    default: c.default,
    native: c.native ?? true,
    canonical: extra.canonical ?? ((v) => v),
    nullable: extra.nullable ?? false,
  };
}

export function boolean(wire: string, c: Common<boolean>): Option<boolean> {
  return option(wire, 'a boolean', { type: 'boolean' }, (v) => typeof v === 'boolean', c);
}

export function string(wire: string, c: Common<string>): Option<string> {
  return option(wire, 'a string', { type: 'string' }, (v) => typeof v === 'string', c);
}

/** An integer in [min, max]; `nullable`: null is a value too (documented by the caller's doc). */
export function integer(
  wire: string,
  range: { min: number; max?: number; nullable?: boolean },
  c: Common<number | null>,
): Option<number | null> {
  const { min, max, nullable = false } = range;
  const expected =
    (max === undefined ? (min === 1 ? 'a positive integer' : `an integer >= ${min}`) : `an integer between ${min} and ${max}`) +
    (nullable ? ' or null' : '');
  const schema: Schema = { type: 'integer', minimum: min, ...(max !== undefined ? { maximum: max } : {}) };
  const accepts = (v: unknown) =>
    (nullable && v === null) || (Number.isInteger(v) && (v as number) >= min && (max === undefined || (v as number) <= max));
  return option(wire, expected, schema, accepts, c, { nullable });
}

/** One of `values`; `anyCase`: matched without regard to case and made lower case (TEI's "Right"/"Left"). */
export function choice<const V extends string>(wire: string, values: readonly V[], c: Common<V> & { anyCase?: boolean }): Option<V> {
  const expected =
    values.length === 2
      ? `"${values[0]}" or "${values[1]}"`
      : `${values
          .slice(0, -1)
          .map((v) => `"${v}"`)
          .join(', ')} or "${values.at(-1)}"`;
  if (!c.anyCase) return option(wire, expected, { enum: [...values] }, (v) => values.includes(v as V), c);
  const pattern = `^(${values.map((v) => [...v].map((ch) => (/[a-z]/i.test(ch) ? `[${ch.toUpperCase()}${ch.toLowerCase()}]` : ch)).join('')).join('|')})$`;
  return option(wire, expected, { type: 'string', pattern }, (v) => typeof v === 'string' && values.includes(v.toLowerCase() as V), c, {
    canonical: (v) => v.toLowerCase() as V,
  });
}

/** A list of strings; `nonEmpty`: at least one, each non-empty; `orOne`: a single string is a list of one. */
export function strings(
  wire: string,
  shape: { nonEmpty: boolean; orOne: boolean },
  c: Common<string[] | string>,
): Option<string[] | string> {
  const item = shape.nonEmpty ? { type: 'string', minLength: 1 } : { type: 'string' };
  const list = { type: 'array', items: item, ...(shape.nonEmpty ? { minItems: 1 } : {}) };
  const expected = shape.nonEmpty
    ? `${shape.orOne ? 'a non-empty string or ' : ''}a non-empty list of non-empty strings`
    : 'a list of strings';
  const okItem = (x: unknown) => typeof x === 'string' && (!shape.nonEmpty || x.length > 0);
  const accepts = (v: unknown) => (shape.orOne && okItem(v)) || (Array.isArray(v) && (!shape.nonEmpty || v.length > 0) && v.every(okItem));
  return option(wire, expected, shape.orOne ? { anyOf: [item, list] } : list, accepts, c, {
    canonical: (v) => (typeof v === 'string' ? [v] : v),
  });
}

/**
 * Checks `given` against `spec` (ERR_INVALID_ARGUMENT naming the option as the caller spelled it)
 * and returns every option of `spec`, canonical, with its default where the caller gave none.
 */
export function resolve<S extends OptionSet>(spec: S, given: OptionsOf<S> | undefined): Resolved<S> {
  const out: Record<string, unknown> = {};
  for (const [key, opt] of Object.entries(spec)) {
    const v = (given as Record<string, unknown> | undefined)?.[key];
    if (v === undefined) {
      out[key] = opt.default;
    } else {
      if (!opt.accepts(v)) throw invalidArgument(key, opt.expected, v);
      out[key] = v === null ? null : opt.canonical(v);
    }
  }
  return out as Resolved<S>;
}

/** The canonical JSON members of the options the native head reads: every one, by its wire name (null when none). */
export function toWire<S extends OptionSet>(spec: S, resolved: Resolved<S>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, opt] of Object.entries(spec)) if (opt.native) out[opt.wire] = resolved[key] ?? null;
  return out;
}

/** How a route documents an option differently (its own default, as an API it follows has it). */
export type FieldOverrides<S extends OptionSet> = { [K in keyof S]?: { doc: string } };

/**
 * The HTTP body fields of the options `keys` of `spec`, by wire name: the value's schema with null
 * allowed (null means absent, unless the option is nullable), its description and the phrase its
 * 422 message uses (`x-expected`, read by server/api/validate.ts).
 */
export function httpFields<S extends OptionSet>(
  spec: S,
  keys: ReadonlyArray<keyof S & string>,
  overrides: FieldOverrides<S> = {},
): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const key of keys) {
    const opt = spec[key];
    out[opt.wire] = { ...withNull(opt.schema), description: overrides[key]?.doc ?? opt.doc, 'x-expected': opt.expected };
  }
  return out;
}

function withNull(s: Schema): Schema {
  if (typeof s.type === 'string') return { ...s, type: [s.type, 'null'] };
  if (Array.isArray(s.enum)) return { ...s, enum: [...(s.enum as unknown[]), null] };
  if (Array.isArray(s.anyOf)) return { anyOf: [...(s.anyOf as unknown[]), { type: 'null' }] };
  return { anyOf: [s, { type: 'null' }] };
}

/** The options `keys` of `spec` read from a validated HTTP body (by wire name; null is absent unless nullable). */
export function fromBody<S extends OptionSet>(spec: S, keys: ReadonlyArray<keyof S & string>, body: Record<string, unknown>): OptionsOf<S> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const v = body[spec[key].wire];
    if (v === undefined || (v === null && !spec[key].nullable)) continue;
    out[key] = v;
  }
  return out as OptionsOf<S>;
}
