// Reading and checking the JSON bodies of the task routes: readiness, the served task, media type,
// body limit, JSON parsing, and the body's schema (api/requests.ts, through api/validate.ts), each
// failure answered through the Exchange with the status docs/http.md documents. After checkBody a
// route reads its fields without further checks. JS thread only.
import type { Engine, Task, TextInput } from '../engine.js';
import { taskArchitecture } from '../engine.js';
import type { Exchange } from './exchange.js';
import { admitWork, checkEncoding, isJsonMediaType, parseJsonObject, readText, type RouteContext } from './admission.js';
import type { BodyName } from './api/requests.js';
import { validateBody } from './api/validate.js';

/** The engine, when the server is ready and its model serves `task`; else answered (503, or 422 naming the task). */
export function admitTask(ctx: RouteContext, ex: Exchange, task: Task, route: string): Engine | undefined {
  const engine = admitWork(ctx, ex);
  if (!engine) return undefined;
  if (engine.task !== task) {
    ex.sendError(422, 'validation', `${route} needs a ${task} model (${taskArchitecture(task, engine.info.architecture)}); this server's model serves ${engine.task} (${engine.info.architecture})`);
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

/** Checks the body against its schema: 422 naming the field, 413 for a list over --max-client-batch-size. */
export function checkBody(ctx: RouteContext, ex: Exchange, name: BodyName, body: Record<string, unknown>): boolean {
  const invalid = validateBody(ctx.config.maxClientBatchSize, name, body);
  if (!invalid) return true;
  ex.sendError(invalid.status, 'validation', invalid.message);
  return false;
}

/** A string or a list of strings (as validated) as a list. */
export function asList(v: string | string[]): string[] {
  return typeof v === 'string' ? [v] : v;
}

/** text-embeddings-inference's truncate / truncation_direction ("Right" | "Left", any case), validated. */
export function truncation(o: { truncate?: boolean | null; truncation_direction?: string | null }): { truncate?: boolean; truncationDirection?: 'right' | 'left' } {
  return { truncate: o.truncate ?? undefined, truncationDirection: (o.truncation_direction?.toLowerCase() ?? undefined) as 'right' | 'left' | undefined };
}

/** A validated {text, text_pair} object, [text, pair] tuple, or string, as a TextInput. */
export function asTextInput(v: string | [string, string] | { text: string; text_pair?: string }): TextInput {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return { text: v[0], text_pair: v[1] };
  return v.text_pair === undefined ? v.text : { text: v.text, text_pair: v.text_pair };
}
