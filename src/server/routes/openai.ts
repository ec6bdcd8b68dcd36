// OpenAI's embeddings API, for feature-extraction models: POST /v1/embeddings
// {input: str | [str] | [int] | [[int]], model, encoding_format: "float" | "base64", dimensions, user}
// -> {object: "list", data: [{object: "embedding", index, embedding}], model, usage: {prompt_tokens,
// total_tokens}}. Token-id inputs are this model's vocabulary ids without [CLS]/[SEP] (added here,
// as for text). base64 is the little-endian float32 bytes, which OpenAI's clients decode (their
// Python client asks for base64 by default). Embeddings are normalized, as OpenAI's are.
import type { JsonAnswer } from '../../engine.js';
import type { Exchange } from '../exchange.js';
import { runInference, type RouteContext } from '../admission.js';
import { admitTask, checkBody, readJsonObject } from '../json_request.js';

type Input = string | number[];

interface OpenAiBody {
  input: Input | Input[];
  model?: string;
  encoding_format?: 'float' | 'base64';
  dimensions?: number | null;
}

export async function openaiEmbeddingsRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitTask(ctx, ex, 'feature-extraction', 'POST /v1/embeddings');
  if (!engine) return;
  const raw = await readJsonObject(ctx, ex);
  if (!raw || !checkBody(ctx, ex, 'openaiEmbeddings', raw)) return;
  const body = raw as unknown as OpenAiBody;
  // One input (a text or one list of ids) or a list of them (as validated).
  const v = body.input;
  const inputs: Input[] = typeof v === 'string' || typeof v[0] === 'number' ? [v as Input] : v as Input[];
  const model = JSON.stringify(body.model ?? engine.info.modelDir.split('/').pop());
  await runInference(ctx, ex, engine, inputs.length, async (o) => {
    const parts = await Promise.all(engine.embedParts(inputs, {
      ...o, dimensions: body.dimensions ?? undefined, encodingFormat: body.encoding_format ?? 'float', truncate: false,
    }));
    return wrap(parts, model);
  });
}

/** The OpenAI envelope around natively serialized embeddings (bytes concatenated, not re-encoded). */
function wrap(parts: JsonAnswer[], model: string): JsonAnswer {
  const bufs: Buffer[] = [Buffer.from('{"object":"list","data":[')];
  let tokens = 0;
  const timings = { tokenizeUs: 0, queueUs: 0, inferenceUs: 0 };
  parts.forEach((p, i) => {
    bufs.push(Buffer.from(`${i ? ',' : ''}{"object":"embedding","index":${i},"embedding":`), p.body, Buffer.from('}'));
    tokens += p.tokens;
    timings.tokenizeUs = Math.max(timings.tokenizeUs, p.timings.tokenizeUs);
    timings.queueUs = Math.max(timings.queueUs, p.timings.queueUs);
    timings.inferenceUs = Math.max(timings.inferenceUs, p.timings.inferenceUs);
  });
  bufs.push(Buffer.from(`],"model":${model},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`));
  return { body: Buffer.concat(bufs), timings, tokens };
}
