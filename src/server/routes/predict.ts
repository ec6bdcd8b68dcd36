// text-embeddings-inference's classification routes, for text-classification models
// (BertForSequenceClassification):
//   POST /predict {inputs, raw_scores = false, truncate, truncation_direction}: inputs is a text, a
//     pair [a, b], or a list of texts / pairs. As TEI: a two-string list is ONE pair; a list of one or
//     more than two strings is a batch. Every label, best first; a single input answers a flat list,
//     a batch a list of lists. raw_scores: the logits instead of softmax/sigmoid.
//   POST /rerank {query, texts, raw_scores = false, return_text = false, truncate,
//     truncation_direction}: one-label cross-encoders; [{index, score[, text]}] best first.
import { joinAnswers, rankScores, type TextInput } from '../../engine.js';
import type { Exchange } from '../exchange.js';
import { runInference, type RouteContext } from '../admission.js';
import { admitTask, asList, asTextInput, checkBody, readJsonObject, truncation } from '../json_request.js';

type Pair = [string, string];

interface PredictBody {
  inputs: string | Pair | Array<string | Pair>;
  raw_scores?: boolean | null;
  truncate?: boolean | null;
  truncation_direction?: string | null;
}

interface RerankBody {
  query: string;
  texts: string | string[];
  raw_scores?: boolean | null;
  return_text?: boolean | null;
  truncate?: boolean | null;
  truncation_direction?: string | null;
}

/** TEI's PredictInput (as validated): Single(text | [a, b]) | Batch([text | [a, b]]). */
function predictInputs(v: PredictBody['inputs']): { items: TextInput[]; single: boolean } {
  if (typeof v === 'string') return { items: [v], single: true };
  if (v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { items: [asTextInput(v as Pair)], single: true };
  return { items: v.map((x) => asTextInput(x)), single: false };
}

export async function predictRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitTask(ctx, ex, 'text-classification', 'POST /predict');
  if (!engine) return;
  const raw = await readJsonObject(ctx, ex);
  if (!raw || !checkBody(ctx, ex, 'predict', raw)) return;
  const body = raw as unknown as PredictBody;
  const parsed = predictInputs(body.inputs);
  const options = { ...truncation(body), topK: null, functionToApply: body.raw_scores ? 'none' as const : undefined };
  await runInference(ctx, ex, engine, parsed.items.length, async (o) =>
    parsed.single ? engine.classifyParts(parsed.items, { ...options, ...o })[0] : engine.classifyJson(parsed.items, { ...options, ...o }));
}

export async function rerankRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitTask(ctx, ex, 'text-classification', 'POST /rerank');
  if (!engine) return;
  const labels = engine.info.taskInfo.labels ?? [];
  if (labels.length !== 1) {
    ex.sendError(422, 'validation', `POST /rerank needs a cross-encoder with one label; this model classifies into ${labels.length} labels (use POST /predict)`);
    return;
  }
  const raw = await readJsonObject(ctx, ex);
  if (!raw || !checkBody(ctx, ex, 'rerank', raw)) return;
  const body = raw as unknown as RerankBody;
  const texts = asList(body.texts);
  const returnText = body.return_text ?? false;
  await runInference(ctx, ex, engine, texts.length, async (o) => {
    const parts = await Promise.all(engine.rerankParts(body.query, texts, { ...truncation(body), rawScores: body.raw_scores ?? false, ...o }));
    const joined = await joinAnswers(parts.map((p) => Promise.resolve(p)));
    const out = rankScores(parts).map((r) => (returnText ? { index: r.index, score: r.score, text: texts[r.index] } : r));
    return { ...joined, body: Buffer.from(JSON.stringify(out)) };
  });
}
