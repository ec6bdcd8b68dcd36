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
import type { Engine, TextInput } from '../../engine.js';
import type { Exchange } from '../exchange.js';
import { admitWork, checkEncoding, isJsonMediaType, parseJsonObject, readText, runInference, type RouteContext } from '../admission.js';
import { asTextInput, checkCount, fail, readTexts, readTruncation } from '../json_request.js';
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

type Handler = (ctx: RouteContext, ex: Exchange, engine: Engine, inputs: unknown, params: Record<string, unknown>) => Promise<void>;

async function withBody(ctx: RouteContext, ex: Exchange, engine: Engine, handler: Handler): Promise<void> {
  if (!checkEncoding(ex)) return;
  const json = isJsonMediaType(ex);
  const text = await readText(ctx, ex);
  if (text === undefined) return;
  if (!json) return handler(ctx, ex, engine, text, {});
  const body = parseJsonObject(ex, text);
  if (!body) return;
  const params = body.parameters ?? {};
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return void fail(ex, 'parameters', 'an object', params);
  return handler(ctx, ex, engine, body.inputs, params as Record<string, unknown>);
}

const featureExtraction: Handler = async (ctx, ex, engine, inputs, params) => {
  const truncation = readTruncation(ex, params);
  if (!truncation) return;
  const normalize = params.normalize ?? engine.info.taskInfo.normalize_module ?? false;
  if (typeof normalize !== 'boolean') return void fail(ex, 'parameters.normalize', 'a boolean', normalize);
  const promptName = params.prompt_name ?? undefined;
  if (promptName !== undefined && typeof promptName !== 'string') return void fail(ex, 'parameters.prompt_name', 'a string', promptName);
  const options = { ...truncation, normalize, promptName };
  if (inputs !== null && typeof inputs === 'object' && !Array.isArray(inputs)) {
    const { source_sentence: source, sentences } = inputs as Record<string, unknown>;
    if (typeof source !== 'string') return void fail(ex, 'inputs.source_sentence', 'a string', source);
    const list = readTexts(ctx, ex, sentences, 'inputs.sentences');
    if (!list) return;
    if (!checkCount(ctx, ex, list.length + 1)) return;
    await runInference(ctx, ex, engine, list.length + 1, async (o) => {
      const vectors = await engine.embed([source, ...list], { ...options, normalize: true, ...o });
      const scores = vectors.slice(1).map((v) => dot(vectors[0], v));
      return { body: Buffer.from(JSON.stringify(scores)), timings: { tokenizeUs: 0, queueUs: 0, inferenceUs: 0 }, tokens: 0 };
    });
    return;
  }
  const texts = readTexts(ctx, ex, inputs);
  if (!texts) return;
  await runInference(ctx, ex, engine, texts.length, (o) =>
    typeof inputs === 'string' ? engine.embedParts(texts, { ...options, ...o })[0] : engine.embedJson(texts, { ...options, ...o }));
};

const textClassification: Handler = async (ctx, ex, engine, inputs, params) => {
  const truncation = readTruncation(ex, params);
  if (!truncation) return;
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const items: TextInput[] = [];
  for (const x of list) {
    const t = typeof x === 'string' || (x !== null && typeof x === 'object' && !Array.isArray(x)) ? asTextInput(x) : undefined;
    if (t === undefined) return void fail(ex, 'inputs', 'a string, {text, text_pair}, or a non-empty list of them', inputs);
    items.push(t);
  }
  if (items.length === 0) return void fail(ex, 'inputs', 'a string, {text, text_pair}, or a non-empty list of them', inputs);
  if (!checkCount(ctx, ex, items.length)) return;
  const topK = params.top_k === null ? null : params.top_k ?? 1;
  if (topK !== null && (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1)) return void fail(ex, 'parameters.top_k', 'a positive integer or null', topK);
  const fn = params.function_to_apply ?? undefined;
  if (fn !== undefined && !['softmax', 'sigmoid', 'none'].includes(fn as string)) return void fail(ex, 'parameters.function_to_apply', '"softmax", "sigmoid" or "none"', fn);
  const options = { ...truncation, topK, functionToApply: fn as 'softmax' | 'sigmoid' | 'none' | undefined };
  await runInference(ctx, ex, engine, items.length, (o) => engine.classifyJson(items, { ...options, ...o }));
};

const tokenClassification: Handler = async (ctx, ex, engine, inputs, params) => {
  const texts = readTexts(ctx, ex, inputs);
  if (!texts) return;
  const truncation = readTruncation(ex, params);
  if (!truncation) return;
  const strategy = params.aggregation_strategy ?? 'simple';
  if (!['none', 'simple', 'first', 'average', 'max'].includes(strategy as string)) {
    return void fail(ex, 'parameters.aggregation_strategy', '"none", "simple", "first", "average" or "max"', strategy);
  }
  const ignore = params.ignore_labels ?? undefined;
  if (ignore !== undefined && (!Array.isArray(ignore) || !ignore.every((l) => typeof l === 'string'))) return void fail(ex, 'parameters.ignore_labels', 'a list of strings', ignore);
  const options = { ...truncation, aggregationStrategy: strategy as 'simple', ignoreLabels: ignore as string[] | undefined };
  await runInference(ctx, ex, engine, texts.length, (o) => engine.tokenClassifyJson(typeof inputs === 'string' ? texts[0] : texts, { ...options, ...o }));
};

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
