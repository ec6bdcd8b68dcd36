// POST / : fill-mask. A raw text body (any content type except application/json: the recipe's
// `curl -d "test [MASK]"`) or the Hugging Face inference API JSON form
// {"inputs": str | [str], "parameters": {"top_k": n, "targets": str | [str], "truncate": bool,
// "truncation_direction": "Right" | "Left"}}. The answer is the
// engine's natively serialized JSON, written as-is (no JSON encoding on the JS thread).
import type { FillMaskOptions } from '../../engine.js';
import type { Exchange } from '../exchange.js';
import { countOccurrences, estimateFillMaskAnswerBytes } from '../answer_size.js';
import { admitWork, checkEncoding, isJsonMediaType, parseJsonObject, readText, runInference, type RouteContext } from '../admission.js';
import { checkBody, truncation } from '../json_request.js';

interface FillMaskBody {
  inputs: string | string[];
  parameters?: {
    top_k?: number | null; targets?: string | string[] | null; truncate?: boolean | null; truncation_direction?: string | null;
  } | null;
}

export async function fillMaskRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitWork(ctx, ex);
  if (!engine || !checkEncoding(ex)) return;
  const json = isJsonMediaType(ex);
  const text = await readText(ctx, ex);
  if (text === undefined) return;

  let inputs: string | string[] = text;
  let options: Pick<FillMaskOptions, 'topK' | 'targets' | 'truncate' | 'truncationDirection'> = {};
  if (json) {
    const raw = parseJsonObject(ex, text);
    if (!raw || !checkBody(ctx, ex, 'root:fill-mask', raw)) return;
    const body = raw as unknown as FillMaskBody;
    inputs = body.inputs;
    const params = body.parameters ?? {};
    options = truncation(params);
    if (params.top_k !== undefined && params.top_k !== null) options.topK = params.top_k;
    if (params.targets !== undefined && params.targets !== null) options.targets = typeof params.targets === 'string' ? [params.targets] : params.targets;
  }
  const count = typeof inputs === 'string' ? 1 : inputs.length;
  const input = inputs;
  // Refused before inference when even the smallest possible answer is over --max-answer-bytes.
  const list = typeof input === 'string' ? [input] : input;
  const mask = engine.tokenizer.info.specialTokens.mask ?? '[MASK]';
  const estimate = estimateFillMaskAnswerBytes(list, options.topK ?? 5, mask, options.targets?.length);
  // Predictions kept in the answer (top_k, at most the targets) at each mask: for the memory budget's upper bound.
  const k = options.targets ? Math.min(options.topK ?? 5, options.targets.length) : options.topK ?? 5;
  const predictions = list.reduce((n, text) => n + Math.max(1, countOccurrences(text, mask)) * k, 0);
  await runInference(ctx, ex, engine, count, (o) => engine.fillMaskJson(input, { ...options, ...o }), estimate, predictions);
}
