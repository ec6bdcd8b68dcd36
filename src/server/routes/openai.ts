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
  const single = typeof v === 'string' || typeof v[0] === 'number';
  const inputs: Input[] = single ? [v as Input] : v as Input[];
  const bad = outOfVocabulary(inputs, engine.info.vocabSize);
  if (bad) {
    const field = single ? `input[${bad.at}]` : `input[${bad.input}][${bad.at}]`;
    ex.sendError(422, 'validation', `token id ${bad.id} in "${field}" is not in the vocabulary (0..${engine.info.vocabSize - 1})`);
    return;
  }
  const model = JSON.stringify(body.model ?? engine.info.modelDir.split('/').pop());
  await runInference(ctx, ex, engine, inputs.length, async (o) => {
    const parts = await Promise.all(engine.embedParts(inputs, {
      ...o, dimensions: body.dimensions ?? undefined, encodingFormat: body.encoding_format ?? 'float', truncate: false,
    }));
    return wrap(parts, model);
  });
}

/** The first token id outside 0..vocabSize-1, with where it is; undefined when every id is in range. */
export function outOfVocabulary(inputs: readonly Input[], vocabSize: number): { input: number; at: number; id: number } | undefined {
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i];
    if (typeof x === 'string') continue;
    for (let j = 0; j < x.length; j++) if (x[j] < 0 || x[j] >= vocabSize) return { input: i, at: j, id: x[j] };
  }
  return undefined;
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
