// text-embeddings-inference's embedding routes, for feature-extraction models (BertModel):
//   POST /embed      {inputs: str | [str], normalize = true, truncate, truncation_direction,
//                     prompt_name, dimensions} -> [[float, ...], ...] (one list per input)
//   POST /embed_all  {inputs, truncate, truncation_direction, prompt_name} -> [[[float, ...] per token], ...]
// Bodies are checked against api/requests.ts. Pooled, normalized and serialized natively; written as-is.
import type { Exchange } from '../exchange.js';
import { runInference, type RouteContext } from '../admission.js';
import { admitTask, asList, checkBody, readJsonObject, truncation } from '../json_request.js';

interface EmbedBody {
  inputs: string | string[];
  normalize?: boolean | null;
  dimensions?: number | null;
  prompt_name?: string | null;
  truncate?: boolean | null;
  truncation_direction?: string | null;
}

async function embedRoute(ctx: RouteContext, ex: Exchange, all: boolean): Promise<void> {
  const engine = admitTask(ctx, ex, 'feature-extraction', all ? 'POST /embed_all' : 'POST /embed');
  if (!engine) return;
  const raw = await readJsonObject(ctx, ex);
  if (!raw || !checkBody(ctx, ex, all ? 'embedAll' : 'embed', raw)) return;
  const body = raw as unknown as EmbedBody;
  const texts = asList(body.inputs);
  const options = {
    ...truncation(body), normalize: body.normalize ?? undefined, dimensions: body.dimensions ?? undefined, promptName: body.prompt_name ?? undefined,
  };
  await runInference(ctx, ex, engine, texts.length, (o) =>
    all ? engine.embedAllJson(texts, { ...options, ...o }) : engine.embedJson(texts, { ...options, ...o }));
}

export const embedPooledRoute = (ctx: RouteContext, ex: Exchange) => embedRoute(ctx, ex, false);
export const embedAllRoute = (ctx: RouteContext, ex: Exchange) => embedRoute(ctx, ex, true);
