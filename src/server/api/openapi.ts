// /openapi.json: an OpenAPI 3.1 document of the served model's routes, built from the schemas the
// routes validate with (requests.ts) and the answers they write (responses.ts). It describes the
// routes that work for the served task only (POST / in that task's shape; /embed & co. for an
// embedding model, /predict for a classifier, /rerank for a one-label cross-encoder); the routes of
// other tasks answer 422 naming the served task, as info.description says. Built once per engine.
import { TASKS, type Task } from '../../engine.js';
import { requestSchemas, type Schema } from './requests.js';
import * as A from './responses.js';

export interface OpenApiFacts {
  task: Task;
  architecture: string;
  modelId: string;
  version: string;
  /** Classification labels (rerank is there only with one). */
  labels: readonly string[];
  maskToken: string;
  maxClientBatchSize: number;
  /** --api-key is set: routes other than the open ones need `Authorization: Bearer`. */
  auth: boolean;
  /** Paths answered without the key (with --api-key). */
  openPaths: ReadonlySet<string>;
}

const json = (schema: Schema, example?: unknown) => ({ 'application/json': { schema, ...(example !== undefined ? { example } : {}) } });
const error = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });

const INFERENCE_ERRORS = {
  400: error('The body is not valid JSON or UTF-8, is empty, or its framing is ambiguous.'),
  413: error('The body is over --max-body-bytes, a list is over --max-client-batch-size, a text is over the token limit, or the answer would be over --max-answer-bytes.'),
  415: error('Content-Type is not application/json (raw text is accepted by POST / only), or the body is compressed or not UTF-8.'),
  422: error('The body does not match the schema (the message names the field), or the route does not fit the served model.'),
  429: error('--max-queue texts are already pending; retry after Retry-After seconds.'),
  503: error('The model is loading, or the server is draining.'),
  504: error('The request\'s deadline (--request-timeout-ms) passed before it reached the model.'),
};

export function buildOpenApi(f: OpenApiFacts): Record<string, unknown> {
  const s = requestSchemas(f.maxClientBatchSize);
  const mask = f.maskToken;
  const paths: Record<string, Record<string, unknown>> = {};
  const post = (path: string, summary: string, description: string, requestBody: unknown, answer: Schema, tag: string) => {
    paths[path] = {
      post: {
        summary, description, tags: [tag], operationId: `post${path.replace(/[^a-z0-9]+/gi, '_')}`, requestBody,
        responses: { 200: { description: 'The answer.', content: json(answer) }, ...INFERENCE_ERRORS },
      },
    };
  };
  const get = (path: string, summary: string, description: string, content: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    paths[path] = { get: { summary, description, tags: ['status'], operationId: `get${path.replace(/[^a-z0-9]+/gi, '_')}`, responses: { 200: { description: 'OK', content }, ...extra } } };
  };
  const body = (schema: Schema, example: unknown) => ({ required: true, content: json(schema, example) });

  const rootExample: Record<Task, unknown> = {
    'fill-mask': { inputs: `Paris is the ${mask} of France.`, parameters: { top_k: 3 } },
    'feature-extraction': { inputs: ['hello world', 'a second text'] },
    'text-classification': { inputs: 'I love it', parameters: { top_k: null } },
    'token-classification': { inputs: 'Angela Merkel visited Paris', parameters: { aggregation_strategy: 'simple' } },
  };
  post('/', `${f.task} (Hugging Face Inference API shape)`,
    `The served task, ${f.task}, in the Hugging Face Inference API's shape, so that its clients work unchanged. `
    + 'A body of any other Content-Type than application/json is one raw text with default parameters.',
    {
      required: true,
      content: {
        ...json(s.root[f.task], rootExample[f.task]),
        'text/plain': { schema: { type: 'string' }, example: f.task === 'fill-mask' ? `Paris is the ${mask} of France.` : 'hello world' },
      },
    }, A.ROOT_ANSWER[f.task], f.task);

  if (f.task === 'feature-extraction') {
    post('/embed', 'Embeddings (text-embeddings-inference)', 'Pooled embeddings, one per input; normalized unless normalize is false.',
      body(s.embed, { inputs: ['hello world'] }), A.EMBED_ANSWER, f.task);
    post('/embed_all', 'Every token\'s embedding (text-embeddings-inference)', 'Not pooled, not normalized.',
      body(s.embedAll, { inputs: ['hello world'] }), A.EMBED_ALL_ANSWER, f.task);
    post('/v1/embeddings', 'Embeddings (OpenAI)', 'OpenAI\'s embeddings API; normalized, as OpenAI\'s are.',
      body(s.openaiEmbeddings, { input: ['hello world'], model: f.modelId }), A.OPENAI_ANSWER, f.task);
  }
  if (f.task === 'text-classification') {
    post('/predict', 'Classification (text-embeddings-inference)', 'Every label, best first.',
      body(s.predict, { inputs: 'I love it' }), A.PREDICT_ANSWER, f.task);
    if (f.labels.length === 1) {
      post('/rerank', 'Reranking (text-embeddings-inference)', 'Scores each (query, text) pair with the cross-encoder; best first.',
        body(s.rerank, { query: 'what is paris', texts: ['paris is a city', 'bananas'] }), A.RERANK_ANSWER, f.task);
    }
  }
  post('/tokenize', 'Tokens with ids and offsets', 'text-embeddings-inference\'s /tokenize; works for every model.',
    body(s.tokenize, { inputs: `Hello ${mask} world!`, add_special_tokens: true }), A.TOKENIZE_ANSWER, 'tokenizer');

  const unhealthy = { 503: error('Not ready: the model is loading or the server is draining.') };
  get('/health', 'Liveness', '200 whenever the process serves HTTP.', json(A.HEALTH_ANSWER));
  get('/ready', 'Readiness', '200 once the model is loaded and warmed, while not draining.', json(A.READY_ANSWER), unhealthy);
  get('/info', 'Model, task, device and limits', '503 while the model loads.', json(A.INFO_ANSWER), unhealthy);
  get('/metrics', 'Prometheus metrics', 'Prometheus text exposition format.', { 'text/plain': { schema: { type: 'string' } } });
  get('/openapi.json', 'This document', 'OpenAPI 3.1, generated from the schemas requests are validated with.', { 'application/json': { schema: { type: 'object' } } }, unhealthy);
  get('/docs', 'API reference page', 'This document rendered by Swagger UI (served from the package, no CDN).', { 'text/html': { schema: { type: 'string' } } });

  const doc: Record<string, unknown> = {
    openapi: '3.1.0',
    info: {
      title: 'bert-serve',
      version: f.version,
      description: `This server serves ${f.modelId}, a ${f.task} model (${f.architecture}). This document lists the routes that work for it; `
        + `routes of other tasks (${otherRoutes(f.task)}) answer 422 naming the served task. Lists hold at most ${f.maxClientBatchSize} inputs (--max-client-batch-size). `
        + 'Errors are {"error", "error_type"}. See docs/http.md.',
    },
    paths,
    components: { schemas: { Error: A.ERROR } },
  };
  if (f.auth) {
    (doc.components as Record<string, unknown>).securitySchemes = { bearer: { type: 'http', scheme: 'bearer', description: 'The --api-key.' } };
    doc.security = [{ bearer: [] }];
    for (const [path, ops] of Object.entries(paths)) {
      for (const op of Object.values(ops) as Array<Record<string, unknown>>) {
        if (f.openPaths.has(path)) op.security = [];
        else (op.responses as Record<string, unknown>)[401] = error('No or a wrong API key (Authorization: Bearer KEY).');
      }
    }
  }
  return doc;
}

function otherRoutes(task: Task): string {
  const byTask: Record<Task, string[]> = {
    'fill-mask': [],
    'feature-extraction': ['/embed', '/embed_all', '/v1/embeddings'],
    'text-classification': ['/predict', '/rerank'],
    'token-classification': [],
  };
  return (Object.keys(TASKS) as Task[]).filter((t) => t !== task).flatMap((t) => byTask[t]).join(', ') || 'none';
}
