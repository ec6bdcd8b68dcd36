// /openapi.json: an OpenAPI 3.1 document of the served model's routes, built from the route
// declarations (routes/*.ts): the request schemas the routes validate with, the answers they
// write, their documentation. It describes the routes that work for the served model only (POST /
// in its task's shape; /embed & co. for an embedding model, /predict for a classifier, /rerank for a
// one-label cross-encoder); the routes of other tasks answer 422 naming the served task, as
// info.description says. With several models served, each one's perModel routes are listed too,
// under /models/{name}/..., tagged with its name; a path that names its model (/v2/models/{name}/...)
// is listed once per served model. Built once (routes/openapi_json.ts).
import { NAME, servesTask, type InferenceRoute, type ModelFacts, type Route, type StatusRoute } from '../routes/route.js';
import type { Schema } from './schema.js';
import * as A from './responses.js';

/** One served model as the document describes it. */
export interface OpenApiModel extends ModelFacts {
  /** Its name, the {name} of /models/{name}/... */
  name: string;
  architecture: string;
}

export interface OpenApiFacts extends OpenApiModel {
  /** Every served model (the default one included), listed under /models/{name}/... when there are several. */
  models: readonly OpenApiModel[];
  version: string;
  maxClientBatchSize: number;
  /** --api-key is set: routes other than the open ones need `Authorization: Bearer`. */
  auth: boolean;
}

const json = (schema: Schema, example?: unknown) => ({ 'application/json': { schema, ...(example !== undefined ? { example } : {}) } });
const error = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });

const INFERENCE_ERRORS = {
  400: error('The body is not valid JSON or UTF-8, is empty, or its framing is ambiguous.'),
  413: error(
    'The body is over --max-body-bytes, a list is over --max-client-batch-size, a text is over the token limit, or the answer would be over --max-answer-bytes.',
  ),
  415: error('Content-Type is not application/json (raw text is accepted by POST / only), or the body is compressed or not UTF-8.'),
  422: error('The body does not match the schema (the message names the field), or the route does not fit the served model.'),
  429: error('--max-queue texts are already pending; retry after Retry-After seconds.'),
  503: error('The model is loading, or the server is draining.'),
  504: error("The request's deadline (--request-timeout-ms) passed before it reached the model."),
};

const operationId = (method: string, path: string) => `${method}${path.replace(/[^a-z0-9]+/gi, '_')}`;

function inferenceOperation(r: InferenceRoute, f: ModelFacts, limit: number, path: string, tag?: string): Record<string, unknown> {
  const content: Record<string, unknown> = json(r.request(limit), r.example(f));
  if (r.rawText)
    content['text/plain'] = {
      schema: { type: 'string' },
      example: f.task === 'fill-mask' ? `Paris is the ${f.maskToken} of France.` : 'hello world',
    };
  return {
    summary: r.doc?.summary,
    description: r.doc?.description,
    tags: [tag ?? r.doc?.tag ?? f.task],
    operationId: operationId('post', path),
    requestBody: { required: true, content },
    responses: { 200: { description: 'The answer.', content: json(r.answer) }, ...INFERENCE_ERRORS },
  };
}

function statusOperation(r: StatusRoute, path: string, tag?: string): Record<string, unknown> {
  const content = Object.fromEntries(Object.entries(r.content ?? {}).map(([type, schema]) => [type, { schema }]));
  return {
    summary: r.doc?.summary,
    description: r.doc?.description,
    tags: [tag ?? 'status'],
    operationId: operationId(r.method.toLowerCase(), path),
    ...(r.body ? { requestBody: { required: false, content: json(r.body) } } : {}),
    responses: { 200: { description: 'OK', content }, ...(r.unavailable ? { 503: error(r.unavailable) } : {}) },
  };
}

/** Whether `r` works for the served model (and so is in its document). */
function works(r: Route, f: ModelFacts): boolean {
  if (!r.doc) return false;
  return r.kind === 'status' || (servesTask(r, f.task) && r.refuses?.(f) === undefined);
}

export function buildOpenApi(routes: readonly Route[], f: OpenApiFacts): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  /** Each documented path's declaration path, for the open ones. */
  const declared = new Map<string, string>();
  const add = (r: Route, m: ModelFacts, path: string, tag?: string) => {
    paths[path] = {
      [r.method.toLowerCase()]:
        r.kind === 'inference' ? inferenceOperation(r, m, f.maxClientBatchSize, path, tag) : statusOperation(r, path, tag),
    };
    declared.set(path, r.path);
  };
  for (const r of routes) {
    if (!r.path.includes(NAME) || (r.kind === 'status' && r.anyModelName)) {
      if (works(r, f)) add(r, f, r.path);
      continue;
    }
    // A path that names its model (the Open Inference Protocol's): once per served model.
    for (const m of f.models) if (works(r, m)) add(r, m, r.path.replace(NAME, m.name), r.doc?.tag);
  }
  const several = f.models.length > 1;
  if (several) {
    for (const m of f.models) {
      for (const r of routes) {
        if (r.perModel && works(r, m)) add(r, m, `/models/${m.name}${r.path === '/' ? '' : r.path}`, `model ${m.name}`);
      }
    }
  }
  const others = routes.filter(
    (r): r is InferenceRoute => r.kind === 'inference' && r.path !== '/' && !r.path.includes(NAME) && !servesTask(r, f.task),
  );
  const doc: Record<string, unknown> = {
    openapi: '3.1.0',
    info: {
      title: 'bert-serve',
      version: f.version,
      description:
        (several
          ? `This server serves ${f.models.length} models: ${f.models.map((m) => `${m.name} (${m.task}, ${m.architecture})`).join(', ')}; ` +
            `each one's routes are under /models/{name}/... (POST /models/{name}: its task's Hugging Face shape), and the unprefixed routes serve ${f.name}. `
          : '') +
        `This server serves ${f.modelId}, a ${f.task} model (${f.architecture}), on the unprefixed routes. This document lists the routes that work for it; ` +
        `routes of other tasks (${others.map((r) => r.path).join(', ') || 'none'}) answer 422 naming the served task. Lists hold at most ${f.maxClientBatchSize} inputs (--max-client-batch-size). ` +
        'Errors are {"error", "error_type"}. See docs/http.md.',
    },
    paths,
    components: { schemas: { Error: A.ERROR } },
  };
  if (f.auth) {
    const open = new Set(routes.filter((r) => r.open).map((r) => r.path));
    (doc.components as Record<string, unknown>).securitySchemes = {
      bearer: { type: 'http', scheme: 'bearer', description: 'The --api-key.' },
    };
    doc.security = [{ bearer: [] }];
    for (const [path, ops] of Object.entries(paths)) {
      for (const op of Object.values(ops) as Array<Record<string, unknown>>) {
        if (open.has(declared.get(path) ?? path)) op.security = [];
        else (op.responses as Record<string, unknown>)[401] = error('No or a wrong API key (Authorization: Bearer KEY).');
      }
    }
  }
  return doc;
}
