// POST / : fill-mask. A raw text body (any content type except application/json: the recipe's
// `curl -d "test [MASK]"`) or the Hugging Face inference API JSON form
// {"inputs": str | [str], "parameters": {"top_k": n, "targets": str | [str]}}. The answer is the
// engine's natively serialized JSON, written as-is (no JSON encoding on the JS thread).
import type { FillMaskOptions } from '../../engine.js';
import type { Exchange } from '../exchange.js';
import { estimateFillMaskAnswerBytes } from '../answer_size.js';
import { admitWork, checkEncoding, isJsonMediaType, parseJsonObject, readText, runInference, type RouteContext } from '../admission.js';
import { checkBody } from '../json_request.js';

interface FillMaskBody {
  inputs: string | string[];
  parameters?: { top_k?: number | null; targets?: string | string[] | null } | null;
}

export async function fillMaskRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitWork(ctx, ex);
  if (!engine || !checkEncoding(ex)) return;
  const json = isJsonMediaType(ex);
  const text = await readText(ctx, ex);
  if (text === undefined) return;

  let inputs: string | string[] = text;
  const options: Pick<FillMaskOptions, 'topK' | 'targets'> = {};
  if (json) {
    const raw = parseJsonObject(ex, text);
    if (!raw || !checkBody(ctx, ex, 'root:fill-mask', raw)) return;
    const body = raw as unknown as FillMaskBody;
    inputs = body.inputs;
    const params = body.parameters ?? {};
    if (params.top_k !== undefined && params.top_k !== null) options.topK = params.top_k;
    if (params.targets !== undefined && params.targets !== null) options.targets = typeof params.targets === 'string' ? [params.targets] : params.targets;
  }
  const count = typeof inputs === 'string' ? 1 : inputs.length;
  const input = inputs;
  // Refused before inference when even the smallest possible answer is over --max-answer-bytes.
  const estimate = estimateFillMaskAnswerBytes(typeof input === 'string' ? [input] : input, options.topK ?? 5,
    engine.tokenizer.info.specialTokens.mask, options.targets?.length);
  await runInference(ctx, ex, engine, count, (o) => engine.fillMaskJson(input, { ...options, ...o }), estimate);
}
