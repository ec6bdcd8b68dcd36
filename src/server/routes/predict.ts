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
import { admitTask, asTextInput, checkCount, fail, optBool, readJsonObject, readTexts, readTruncation } from '../json_request.js';

/** TEI's PredictInput: Single(text | [a, b]) | Batch([text | [a, b]]). */
function readPredictInputs(v: unknown): { items: TextInput[]; single: boolean } | undefined {
  if (typeof v === 'string') return { items: [v], single: true };
  if (!Array.isArray(v) || v.length === 0) return undefined;
  if (v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { items: [{ text: v[0], text_pair: v[1] }], single: true };
  const items: TextInput[] = [];
  for (const x of v) {
    const t = typeof x === 'string' ? x : Array.isArray(x) ? asTextInput(x) : undefined;
    if (t === undefined || (Array.isArray(x) && x.length !== 2)) return undefined;
    items.push(t);
  }
  return { items, single: false };
}

export async function predictRoute(ctx: RouteContext, ex: Exchange): Promise<void> {
  const engine = admitTask(ctx, ex, 'text-classification', 'POST /predict');
  if (!engine) return;
  const body = await readJsonObject(ctx, ex);
  if (!body) return;
  const parsed = readPredictInputs(body.inputs);
  if (!parsed) return void fail(ex, 'inputs', 'a string, a pair [a, b], or a list of strings and pairs', body.inputs);
  if (!checkCount(ctx, ex, parsed.items.length)) return;
  const raw = optBool(ex, body, 'raw_scores');
  if (raw === null) return;
  const truncation = readTruncation(ex, body);
  if (!truncation) return;
  const options = { ...truncation, topK: null, functionToApply: raw ? 'none' as const : undefined };
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
  const body = await readJsonObject(ctx, ex);
  if (!body) return;
  if (typeof body.query !== 'string') return void fail(ex, 'query', 'a string', body.query);
  const query = body.query;
  const texts = readTexts(ctx, ex, body.texts, 'texts');
  if (!texts) return;
  const raw = optBool(ex, body, 'raw_scores');
  const returnText = optBool(ex, body, 'return_text');
  if (raw === null || returnText === null) return;
  const truncation = readTruncation(ex, body);
  if (!truncation) return;
  await runInference(ctx, ex, engine, texts.length, async (o) => {
    const parts = await Promise.all(engine.rerankParts(query, texts, { ...truncation, rawScores: raw ?? false, ...o }));
    const joined = await joinAnswers(parts.map((p) => Promise.resolve(p)));
    const out = rankScores(parts).map((r) => (returnText ? { index: r.index, score: r.score, text: texts[r.index] } : r));
    return { ...joined, body: Buffer.from(JSON.stringify(out)) };
  });
}
