// POST /tokenize : text-embeddings-inference's /tokenize. {"inputs": str | [str],
// "add_special_tokens": bool (default true)} -> one list of {id, text, special, start, stop} per
// input. Checked against api/requests.ts; tokenized on the engine's threads, serialized natively;
// application/json only (415).
import type { Exchange } from '../exchange.js';
import { admitWork, runInference, type RouteContext } from '../admission.js';
import { checkBody, readJsonObject } from '../json_request.js';

export async function tokenizeRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitWork(ctx, ex);
  if (!engine) return;
  const raw = await readJsonObject(ctx, ex);
  if (!raw || !checkBody(ctx, ex, 'tokenize', raw)) return;
  const body = raw as { inputs: string | string[]; add_special_tokens?: boolean | null };
  const inputs = body.inputs;
  const count = typeof inputs === 'string' ? 1 : inputs.length;
  await runInference(ctx, ex, engine, count, (o) => engine.tokenizeJson(inputs, { addSpecialTokens: body.add_special_tokens ?? true, ...o }));
}
