// POST / : fill-mask. A raw text body (any content type except application/json: the recipe's
// `curl -d "test [MASK]"`) or the Hugging Face inference API JSON form
// {"inputs": str | [str], "parameters": {"top_k": n, "targets": str | [str]}}. The answer is the
// engine's natively serialized JSON, written as-is (no JSON encoding on the JS thread).
import type { FillMaskOptions } from '../../engine.js';
import type { Exchange } from '../exchange.js';
import { estimateFillMaskAnswerBytes } from '../answer_size.js';
import {
  admitWork, checkEncoding, checkInputs, describe, isJsonMediaType, parseJsonObject, readText, runInference, type RouteContext,
} from '../admission.js';

export async function fillMaskRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitWork(ctx, ex);
  if (!engine || !checkEncoding(ex)) return;
  const json = isJsonMediaType(ex);
  const text = await readText(ctx, ex);
  if (text === undefined) return;

  let inputs: string | string[] | undefined = text;
  const options: Pick<FillMaskOptions, 'topK' | 'targets'> = {};
  if (json) {
    const body = parseJsonObject(ex, text);
    if (!body) return;
    inputs = checkInputs(ctx, ex, body.inputs);
    if (inputs === undefined) return;
    const params = body.parameters;
    if (params !== undefined && params !== null) {
      if (typeof params !== 'object' || Array.isArray(params)) {
        ex.sendError(422, 'validation', `Expected an object for "parameters" but received ${describe(params)}`);
        return;
      }
      const { top_k: topK, targets } = params as Record<string, unknown>;
      if (topK !== undefined && topK !== null) {
        if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > 1000) {
          ex.sendError(422, 'validation', `Expected an integer between 1 and 1000 for "parameters.top_k" but received ${describe(topK)}`);
          return;
        }
        options.topK = topK;
      }
      if (targets !== undefined && targets !== null) {
        const list = typeof targets === 'string' ? [targets] : targets;
        if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x.length > 0)) {
          ex.sendError(422, 'validation', `Expected a non-empty string or a non-empty list of non-empty strings for "parameters.targets" but received ${describe(targets)}`);
          return;
        }
        options.targets = list as string[];
      }
    }
  }
  const count = typeof inputs === 'string' ? 1 : inputs.length;
  const input = inputs;
  // Refused before inference when even the smallest possible answer is over --max-answer-bytes.
  const estimate = estimateFillMaskAnswerBytes(typeof input === 'string' ? [input] : input, options.topK ?? 5,
    engine.tokenizer.info.specialTokens.mask, options.targets?.length);
  await runInference(ctx, ex, engine, count, (o) => engine.fillMaskJson(input, { ...options, ...o }), estimate);
}
