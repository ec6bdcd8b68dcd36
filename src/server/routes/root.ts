// POST / : the served task, in the Hugging Face Inference API shape of that task, so that the
// @huggingface/inference client pointed at this server works unchanged. A raw text body (any content
// type except application/json, the seed recipe's `curl -d "..."`) is one input with default
// parameters; JSON is {"inputs": ..., "parameters": {...}}.
//   fill-mask            see fill_mask.ts
//   feature-extraction   inputs str -> [float, ...]; [str] -> [[float, ...], ...];
//                        {source_sentence, sentences} -> [cosine, ...] (sentence similarity).
//                        parameters: normalize (default: the model's Normalize module, else false),
//                        prompt_name, truncate, truncation_direction
//   text-classification  inputs str | {text, text_pair} | a list of them -> one list per input of
//                        [{label, score}] best first. parameters: top_k (default 1; null: all),
//                        function_to_apply
//   token-classification inputs str -> [entity, ...]; [str] -> one list per input. parameters:
//                        aggregation_strategy (default "simple", as the Inference API), ignore_labels
import type { Engine, Task } from '../../engine.js';
import type { Exchange } from '../exchange.js';
import { admitWork, checkEncoding, isJsonMediaType, parseJsonObject, readText, runInference, type RouteContext } from '../admission.js';
import { asList, asTextInput, checkBody, truncation } from '../json_request.js';
import { fillMaskRoute } from './fill_mask.js';

export function rootRoute(ctx: RouteContext, ex: Exchange): Promise<void> | void {
  const engine = admitWork(ctx, ex);
  if (!engine) return;
  switch (engine.task) {
    case 'fill-mask': return fillMaskRoute(ctx, ex);
    case 'feature-extraction': return withBody(ctx, ex, engine, featureExtraction);
    case 'text-classification': return withBody(ctx, ex, engine, textClassification);
    case 'token-classification': return withBody(ctx, ex, engine, tokenClassification);
  }
}

/** The body's parameters, as validated against api/requests.ts (every field optional, null = absent). */
interface Params {
  truncate?: boolean | null;
  truncation_direction?: string | null;
  normalize?: boolean | null;
  prompt_name?: string | null;
  top_k?: number | null;
  function_to_apply?: 'softmax' | 'sigmoid' | 'none' | null;
  aggregation_strategy?: 'none' | 'simple' | 'first' | 'average' | 'max' | null;
  ignore_labels?: string[] | null;
}

// `inputs` is typed by each handler: the body was validated against the served task's schema.
type Handler = (ctx: RouteContext, ex: Exchange, engine: Engine, inputs: never, params: Params) => Promise<void>;

async function withBody(ctx: RouteContext, ex: Exchange, engine: Engine, handler: Handler): Promise<void> {
  if (!checkEncoding(ex)) return;
  const json = isJsonMediaType(ex);
  const text = await readText(ctx, ex);
  if (text === undefined) return;
  if (!json) return handler(ctx, ex, engine, text as never, {});
  const body = parseJsonObject(ex, text);
  if (!body || !checkBody(ctx, ex, `root:${engine.task as Task}`, body)) return;
  return handler(ctx, ex, engine, body.inputs as never, (body.parameters ?? {}) as Params);
}

type Similarity = { source_sentence: string; sentences: string | string[] };

const featureExtraction: Handler = async (ctx, ex, engine, inputs: string | string[] | Similarity, params) => {
  const options = {
    ...truncation(params), normalize: params.normalize ?? engine.info.taskInfo.normalize_module ?? false, promptName: params.prompt_name ?? undefined,
  };
  if (typeof inputs === 'object' && !Array.isArray(inputs)) {
    const source = inputs.source_sentence;
    const list = asList(inputs.sentences);
    await runInference(ctx, ex, engine, list.length + 1, async (o) => {
      const vectors = await engine.embed([source, ...list], { ...options, normalize: true, ...o });
      const scores = vectors.slice(1).map((v) => dot(vectors[0], v));
      return { body: Buffer.from(JSON.stringify(scores)), timings: { tokenizeUs: 0, queueUs: 0, inferenceUs: 0 }, tokens: 0 };
    });
    return;
  }
  const texts = asList(inputs);
  await runInference(ctx, ex, engine, texts.length, (o) =>
    typeof inputs === 'string' ? engine.embedParts(texts, { ...options, ...o })[0] : engine.embedJson(texts, { ...options, ...o }));
};

type TextOrPair = string | { text: string; text_pair?: string };

const textClassification: Handler = async (ctx, ex, engine, inputs: TextOrPair | TextOrPair[], params) => {
  const items = (Array.isArray(inputs) ? inputs : [inputs]).map((x) => asTextInput(x));
  const topK = params.top_k === null ? null : params.top_k ?? 1;
  const options = { ...truncation(params), topK, functionToApply: params.function_to_apply ?? undefined };
  await runInference(ctx, ex, engine, items.length, (o) => engine.classifyJson(items, { ...options, ...o }));
};

const tokenClassification: Handler = async (ctx, ex, engine, inputs: string | string[], params) => {
  const texts = asList(inputs);
  const options = { ...truncation(params), aggregationStrategy: params.aggregation_strategy ?? 'simple', ignoreLabels: params.ignore_labels ?? undefined };
  await runInference(ctx, ex, engine, texts.length, (o) => engine.tokenClassifyJson(typeof inputs === 'string' ? texts[0] : texts, { ...options, ...o }));
};

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
