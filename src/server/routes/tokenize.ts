// POST /tokenize : text-embeddings-inference's /tokenize. {"inputs": str | [str],
// "add_special_tokens": bool (default true)} -> one list of {id, text, special, start, stop} per
// input. Tokenized on the engine's threads, serialized natively; application/json only (415).
import type { Exchange } from '../exchange.js';
import {
  admitWork, checkEncoding, checkInputs, describe, isJsonMediaType, parseJsonObject, readText, runInference, type RouteContext,
} from '../admission.js';

export async function tokenizeRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitWork(ctx, ex);
  if (!engine) return;
  if (!isJsonMediaType(ex)) {
    ex.sendError(415, 'unsupported_media_type', `Expected Content-Type application/json but received ${ex.mediaType === '' ? 'none' : ex.mediaType}`);
    return;
  }
  if (!checkEncoding(ex)) return;
  const text = await readText(ctx, ex);
  if (text === undefined) return;
  const body = parseJsonObject(ex, text);
  if (!body) return;
  const inputs = checkInputs(ctx, ex, body.inputs);
  if (inputs === undefined) return;
  const add = body.add_special_tokens ?? true;
  if (typeof add !== 'boolean') {
    ex.sendError(422, 'validation', `Expected a boolean for "add_special_tokens" but received ${describe(add)}`);
    return;
  }
  const count = typeof inputs === 'string' ? 1 : inputs.length;
  await runInference(ctx, ex, engine, count, (o) => engine.tokenizeJson(inputs, { addSpecialTokens: add, ...o }));
}
