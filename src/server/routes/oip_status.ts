// The Open Inference Protocol v2's (KServe v2, Triton, Seldon, MLServer) health and metadata routes:
//   GET /v2/health/live          200 whenever the process serves HTTP (as /health)
//   GET /v2/health/ready         200 once every served model is ready as /ready says (loaded and warmed,
//                                not draining, no batch stalled past the request timeout)
//   GET /v2/models/{name}/ready  the same for one model
//   GET /v2                      server metadata: {name, version, extensions}
//   GET /v2/models/{name}        model metadata: {name, versions, platform, inputs, outputs}
// The protocol says a probe's status is its answer (200 true, 4xx false; Triton answers 400): not
// ready is 400 here, not the 503 of /ready. The bodies are KServe's own server's ({"live": true},
// {"ready": true}), which KServe's client reads; clients that read the status alone (Triton's) are
// served too. The inference route is oip_infer.ts; docs/http.md#open-inference-protocol-v2.
import { packageVersion } from '../../config.js';
import type { Engine } from '../../engine.js';
import type { Task } from '../../tasks/task.js';
import * as A from '../api/responses.js';
import type { RouteContext } from '../context.js';
import type { Exchange } from '../exchange.js';
import type { StatusRoute } from './route.js';
import { notReady } from './ready.js';

/** The platform name Triton gives a TorchScript model. */
const PLATFORM = 'pytorch_libtorch';

const TENSOR = A.object({ name: A.string, datatype: A.string, shape: A.list(A.integer) });

/** A tensor's metadata: name, datatype and shape (-1: variable). */
export interface TensorMeta {
  name: string;
  datatype: 'FP32' | 'INT64' | 'BYTES';
  shape: number[];
}

/** The output tensors a model of `task` answers (oip_infer.ts writes them), with its engine's sizes. */
export function outputsOf(task: Task, engine: Pick<Engine, 'info'>): TensorMeta[] {
  switch (task) {
    case 'feature-extraction':
      return [{ name: 'embedding', datatype: 'FP32', shape: [-1, embeddingSize(engine)] }];
    case 'text-classification':
      return [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, (engine.info.taskInfo.labels ?? []).length] },
        { name: 'label', datatype: 'BYTES', shape: [-1] },
      ];
    case 'token-classification':
      return [{ name: 'entities', datatype: 'BYTES', shape: [-1] }];
    case 'fill-mask':
      return [{ name: 'predictions', datatype: 'BYTES', shape: [-1] }];
    case 'question-answering':
      // One element per pair (with top_k > 1: [n, top_k], oip_infer.ts).
      return [
        { name: 'answer', datatype: 'BYTES', shape: [-1] },
        { name: 'score', datatype: 'FP32', shape: [-1] },
        { name: 'start', datatype: 'INT64', shape: [-1] },
        { name: 'end', datatype: 'INT64', shape: [-1] },
      ];
  }
}

/** An embedding's length without `dimensions` (a sentence-transformers Dense module may change it). */
export function embeddingSize(engine: Pick<Engine, 'info'>): number {
  return engine.info.taskInfo.embedding_dimensions ?? engine.info.hiddenSize;
}

/** The input tensors a model of `task` takes: its texts, one per element; question answering's pairs as two inputs of the same shape. */
export function inputsOf(task: Task): TensorMeta[] {
  if (task === 'question-answering')
    return [
      { name: 'question', datatype: 'BYTES', shape: [-1] },
      { name: 'context', datatype: 'BYTES', shape: [-1] },
    ];
  return [{ name: 'text', datatype: 'BYTES', shape: [-1] }];
}

function status(
  path: string,
  summary: string,
  description: string,
  body: Record<string, unknown>,
  check: (ctx: RouteContext) => string | undefined,
  perModelName = false,
): StatusRoute {
  return {
    kind: 'status',
    method: 'GET',
    path,
    open: true,
    perModel: false,
    doc: { summary, description, tag: 'Open Inference Protocol v2' },
    content: {
      'application/json': A.object(
        Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v === 'boolean' ? A.boolean : A.string])),
      ),
    },
    handle(ctx: RouteContext, ex: Exchange) {
      const why = check(ctx);
      if (why !== undefined) return void ex.sendError(400, 'unhealthy', why);
      ex.sendJson(200, JSON.stringify(perModelName ? { name: ctx.modelName, ...body } : body));
    },
  };
}

/** Every model's readiness, as /ready and /models/{name}/ready decide it (a stalled batch included). */
const allReady = (ctx: RouteContext): string | undefined => {
  for (const name of ctx.models.names) {
    const why = notReady(ctx.models.get(name)!);
    if (why !== undefined) return ctx.models.names.length > 1 ? `the model "${name}": ${why}` : why;
  }
  return undefined;
};

export const oipLive = status(
  '/v2/health/live',
  'Liveness (Open Inference Protocol)',
  '200 whenever the process serves HTTP.',
  { live: true },
  () => undefined,
);
export const oipReady = status(
  '/v2/health/ready',
  'Readiness (Open Inference Protocol)',
  '200 once every served model is loaded and warmed, while not draining; 400 otherwise.',
  { ready: true },
  allReady,
);
export const oipModelReady = status(
  '/v2/models/{name}/ready',
  "A model's readiness (Open Inference Protocol)",
  '200 once the model is loaded and warmed, while not draining; 400 otherwise; 404 for a model not served.',
  { ready: true },
  notReady,
  true,
);

export const oipServer: StatusRoute = {
  kind: 'status',
  method: 'GET',
  path: '/v2',
  open: false,
  perModel: false,
  doc: {
    summary: 'Server metadata (Open Inference Protocol)',
    description: 'name, version, extensions.',
    tag: 'Open Inference Protocol v2',
  },
  content: { 'application/json': A.object({ name: A.string, version: A.string, extensions: A.list(A.string) }) },
  // model_repository: the repository routes (oip_repository.ts) load and unload models.
  handle: (ctx, ex) =>
    void ex.sendJson(
      200,
      JSON.stringify({ name: 'bert-serve', version: packageVersion(), extensions: ctx.models.control.enabled ? ['model_repository'] : [] }),
    ),
};

export const oipModel: StatusRoute = {
  kind: 'status',
  method: 'GET',
  path: '/v2/models/{name}',
  open: false,
  perModel: false,
  doc: {
    summary: 'Model metadata (Open Inference Protocol)',
    description: "The model's name, version (its x-model-version), platform, input and output tensors. 404 for a model not served.",
    tag: 'Open Inference Protocol v2',
  },
  content: {
    'application/json': A.object({
      name: A.string,
      versions: A.list(A.string),
      platform: A.string,
      inputs: A.list(TENSOR),
      outputs: A.list(TENSOR),
    }),
  },
  unavailable: 'The models are loading or the server is draining.',
  handle(ctx, ex) {
    const engine = ctx.engine;
    if (!engine) return void ex.sendError(503, 'unhealthy', 'the models are loading');
    ex.sendJson(
      200,
      JSON.stringify({
        name: ctx.modelName,
        versions: [engine.version],
        platform: PLATFORM,
        inputs: inputsOf(engine.task),
        outputs: outputsOf(engine.task, engine),
      }),
    );
  },
};
