// Reading and checking the JSON bodies of the task routes: readiness, the served task, media type,
// body limit, JSON parsing and the input lists, each failure answered through the Exchange with the
// status docs/http.md documents. JS thread only.
import type { Engine, Task, TextInput } from '../engine.js';
import { TASKS } from '../engine.js';
import type { Exchange } from './exchange.js';
import { admitWork, checkEncoding, describe, isJsonMediaType, parseJsonObject, readText, type RouteContext } from './admission.js';

/** The engine, when the server is ready and its model serves `task`; else answered (503, or 422 naming the task). */
export function admitTask(ctx: RouteContext, ex: Exchange, task: Task, route: string): Engine | undefined {
  const engine = admitWork(ctx, ex);
  if (!engine) return undefined;
  if (engine.task !== task) {
    ex.sendError(422, 'validation', `${route} needs a ${task} model (${TASKS[task]}); this server's model serves ${engine.task} (${engine.info.architecture})`);
    return undefined;
  }
  return engine;
}

/** The body as a JSON object (415 unless application/json, 400 when not JSON, 422 when not an object). */
export async function readJsonObject(ctx: RouteContext, ex: Exchange): Promise<Record<string, unknown> | undefined> {
  if (!isJsonMediaType(ex)) {
    ex.sendError(415, 'unsupported_media_type', `Expected Content-Type application/json but received ${ex.mediaType === '' ? 'none' : ex.mediaType}`);
    return undefined;
  }
  if (!checkEncoding(ex)) return undefined;
  const text = await readText(ctx, ex);
  if (text === undefined) return undefined;
  return parseJsonObject(ex, text);
}

/** 422 naming the field; returns undefined so callers can `return fail(...)`. */
export function fail(ex: Exchange, field: string, expected: string, got: unknown): undefined {
  ex.sendError(422, 'validation', `Expected ${expected} for "${field}" but received ${describe(got)}`);
  return undefined;
}

/** Over --max-client-batch-size: 413. */
export function checkCount(ctx: RouteContext, ex: Exchange, n: number): boolean {
  if (n > ctx.config.maxClientBatchSize) {
    ex.sendError(413, 'validation', `${n} inputs is over the limit of ${ctx.config.maxClientBatchSize} per request (--max-client-batch-size)`);
    return false;
  }
  return true;
}

/** A string or a non-empty list of strings (413 over the batch limit). */
export function readTexts(ctx: RouteContext, ex: Exchange, v: unknown, field = 'inputs'): string[] | undefined {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
    return fail(ex, field, 'a string or a non-empty list of strings', v);
  }
  return checkCount(ctx, ex, v.length) ? (v as string[]) : undefined;
}

/** An optional boolean field; `null` when invalid (already answered). */
export function optBool(ex: Exchange, body: Record<string, unknown>, field: string): boolean | undefined | null {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') { fail(ex, field, 'a boolean', v); return null; }
  return v;
}

/** An optional positive integer field; `null` when invalid (already answered). */
export function optPositiveInt(ex: Exchange, body: Record<string, unknown>, field: string): number | undefined | null {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) { fail(ex, field, 'a positive integer', v); return null; }
  return v;
}

/** text-embeddings-inference's truncate / truncation_direction ("Right" | "Left", any case). */
export function readTruncation(ex: Exchange, body: Record<string, unknown>): { truncate?: boolean; truncationDirection?: 'right' | 'left' } | undefined {
  const truncate = optBool(ex, body, 'truncate');
  if (truncate === null) return undefined;
  const d = body.truncation_direction;
  if (d === undefined || d === null) return { truncate };
  if (typeof d !== 'string' || !['right', 'left'].includes(d.toLowerCase())) return fail(ex, 'truncation_direction', '"Right" or "Left"', d);
  return { truncate, truncationDirection: d.toLowerCase() as 'right' | 'left' };
}

/** A {text, text_pair} object, a [text, pair] tuple, or a string, as a TextInput. */
export function asTextInput(v: unknown): TextInput | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { text: v[0], text_pair: v[1] };
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o.text === 'string' && (o.text_pair === undefined || typeof o.text_pair === 'string')) {
      return o.text_pair === undefined ? o.text : { text: o.text, text_pair: o.text_pair as string };
    }
  }
  return undefined;
}
