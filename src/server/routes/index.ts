// Every route the server answers, as declared (route.ts), and what derives from the list: the
// route table (paths, methods, Allow), the open paths and the lookup by task. The validators
// (api/validate.ts) and /openapi.json (api/openapi.ts) read the same list.
import type { Task } from '../../tasks/task.js';
import { servesTask, type InferenceRoute, type Route } from './route.js';
import { rootFillMask } from './root_fill_mask.js';
import { rootFeatureExtraction } from './root_feature_extraction.js';
import { rootTextClassification } from './root_text_classification.js';
import { rootTokenClassification } from './root_token_classification.js';
import { rootQuestionAnswering } from './root_question_answering.js';
import { embed } from './embed.js';
import { embedAll } from './embed_all.js';
import { openaiEmbeddings } from './openai_embeddings.js';
import { openaiModels } from './openai_models.js';
import { predict } from './predict.js';
import { rerank } from './rerank.js';
import { tokenize } from './tokenize.js';
import { health } from './health.js';
import { ready } from './ready.js';
import { info } from './info.js';
import { metrics } from './metrics.js';
import { openapiJson } from './openapi_json.js';
import { docsPage } from './docs_page.js';
import { oipLive, oipModel, oipModelReady, oipReady, oipServer } from './oip_status.js';
import { oipInfer } from './oip_infer.js';
import { oipRepository } from './oip_repository.js';

/** POST / answers every task: a task without its declaration here fails to compile. */
const ROOT: Record<Task, InferenceRoute> = {
  'fill-mask': rootFillMask,
  'feature-extraction': rootFeatureExtraction,
  'text-classification': rootTextClassification,
  'token-classification': rootTokenClassification,
  'question-answering': rootQuestionAnswering,
};

export const ROUTES: readonly Route[] = [
  ...Object.values(ROOT),
  embed,
  embedAll,
  openaiEmbeddings,
  openaiModels,
  predict,
  rerank,
  tokenize,
  health,
  ready,
  info,
  metrics,
  openapiJson,
  ...docsPage,
  oipLive,
  oipReady,
  oipServer,
  oipModel,
  oipModelReady,
  ...oipInfer,
  ...oipRepository,
];

/** One path's routes by method (HEAD with GET), and its Allow header. */
export interface PathEntry {
  readonly methods: ReadonlyMap<string, readonly Route[]>;
  readonly allow: string;
}

/**
 * The table of `routes` by path, each under `prefix` (a per-model table: the perModel routes under
 * /models/{name}; see route.ts). Several declarations of one method and path differ by task (POST /).
 */
export function routeTable(routes: readonly Route[], prefix = ''): ReadonlyMap<string, PathEntry> {
  const byPath = new Map<string, Map<string, Route[]>>();
  for (const r of routes) {
    const path = prefix + r.path;
    const methods = byPath.get(path) ?? new Map<string, Route[]>();
    byPath.set(path, methods);
    for (const m of r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]) methods.set(m, [...(methods.get(m) ?? []), r]);
  }
  return new Map([...byPath].map(([path, methods]) => [path, { methods, allow: [...methods.keys()].join(', ') }]));
}

/** Paths answered without the API key. */
export function openPaths(routes: readonly Route[]): ReadonlySet<string> {
  return new Set(routes.filter((r) => r.open).map((r) => r.path));
}

/** Of the declarations for one method and path, the one for a model of `task` (else the first: the pipeline refuses it). */
export function pick(candidates: readonly Route[], task: Task | undefined): Route {
  return candidates.find((r) => r.kind === 'inference' && task !== undefined && servesTask(r, task)) ?? candidates[0];
}

/** The inference route of `method` and `path` for a model of `task`. */
export function routeFor(method: string, path: string, task: Task): InferenceRoute | undefined {
  return ROUTES.find((r): r is InferenceRoute => r.kind === 'inference' && r.method === method && r.path === path && servesTask(r, task));
}
