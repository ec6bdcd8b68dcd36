// text-embeddings-inference's embedding routes, for feature-extraction models (BertModel):
//   POST /embed      {inputs: str | [str], normalize = true, truncate, truncation_direction,
//                     prompt_name, dimensions} -> [[float, ...], ...] (one list per input)
//   POST /embed_all  {inputs, truncate, truncation_direction, prompt_name} -> [[[float, ...] per token], ...]
// Pooled, normalized and serialized natively; written as-is.
import type { Exchange } from '../exchange.js';
import { runInference, type RouteContext } from '../admission.js';
import { admitTask, fail, optBool, optPositiveInt, readJsonObject, readTexts, readTruncation } from '../json_request.js';

async function embedRoute(ctx: RouteContext, ex: Exchange, all: boolean): Promise<void> {
  const route = all ? 'POST /embed_all' : 'POST /embed';
  const engine = admitTask(ctx, ex, 'feature-extraction', route);
  if (!engine) return;
  const body = await readJsonObject(ctx, ex);
  if (!body) return;
  if (body.encoding_format !== undefined) {
    ex.sendError(422, 'validation', `${route} answers JSON numbers only; "encoding_format" (base64) is on POST /v1/embeddings`);
    return;
  }
  const texts = readTexts(ctx, ex, body.inputs);
  if (!texts) return;
  const truncation = readTruncation(ex, body);
  if (!truncation) return;
  const normalize = optBool(ex, body, 'normalize');
  if (normalize === null) return;
  const dimensions = optPositiveInt(ex, body, 'dimensions');
  if (dimensions === null) return;
  const promptName = body.prompt_name ?? undefined;
  if (promptName !== undefined && typeof promptName !== 'string') return void fail(ex, 'prompt_name', 'a string', promptName);
  const options = { ...truncation, normalize, dimensions, promptName };
  await runInference(ctx, ex, engine, texts.length, (o) =>
    all ? engine.embedAllJson(texts, { ...options, ...o }) : engine.embedJson(texts, { ...options, ...o }));
}

export const embedPooledRoute = (ctx: RouteContext, ex: Exchange) => embedRoute(ctx, ex, false);
export const embedAllRoute = (ctx: RouteContext, ex: Exchange) => embedRoute(ctx, ex, true);
