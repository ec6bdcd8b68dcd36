// OpenAI's embeddings API, for feature-extraction models: POST /v1/embeddings
// {input: str | [str] | [int] | [[int]], model, encoding_format: "float" | "base64", dimensions, user}
// -> {object: "list", data: [{object: "embedding", index, embedding}], model, usage: {prompt_tokens,
// total_tokens}}. Token-id inputs are this model's vocabulary ids without [CLS]/[SEP] (added here,
// as for text). base64 is the little-endian float32 bytes, which OpenAI's clients decode (their
// Python client asks for base64 by default). Embeddings are normalized, as OpenAI's are.
import type { JsonAnswer } from '../../engine.js';
import type { Exchange } from '../exchange.js';
import { runInference, type RouteContext } from '../admission.js';
import { admitTask, checkCount, fail, optPositiveInt, readJsonObject } from '../json_request.js';

type Input = string | number[];

function readInput(v: unknown): Input[] | undefined {
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((n) => Number.isInteger(n));
  if (typeof v === 'string') return [v];
  if (isIds(v)) return [v];
  if (Array.isArray(v) && v.length > 0 && (v.every((x) => typeof x === 'string') || v.every(isIds))) return v as Input[];
  return undefined;
}

export async function openaiEmbeddingsRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitTask(ctx, ex, 'feature-extraction', 'POST /v1/embeddings');
  if (!engine) return;
  const body = await readJsonObject(ctx, ex);
  if (!body) return;
  const inputs = readInput(body.input);
  if (!inputs) return void fail(ex, 'input', 'a string, a list of strings, a list of token ids or a list of lists of token ids', body.input);
  if (!checkCount(ctx, ex, inputs.length)) return;
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') return void fail(ex, 'encoding_format', '"float" or "base64"', format);
  const dimensions = optPositiveInt(ex, body, 'dimensions');
  if (dimensions === null) return;
  if (body.model !== undefined && typeof body.model !== 'string') return void fail(ex, 'model', 'a string', body.model);
  const model = JSON.stringify(typeof body.model === 'string' ? body.model : engine.info.modelDir.split('/').pop());
  await runInference(ctx, ex, engine, inputs.length, async (o) => {
    const parts = await Promise.all(engine.embedParts(inputs, { ...o, dimensions, encodingFormat: format, truncate: false }));
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
