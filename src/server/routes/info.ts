// GET /info: the model, its family (model_type, token types, where positions start), task (labels,
// pooling, prompts), device, dtype, threads, libraries and limits. Built once, at the first request
// after the model loaded (the transport is known then), by Server.infoJson through buildInfo().
import { basename } from 'node:path';
import type { Engine } from '../../engine.js';
import type { ServerConfig } from '../../config.js';
import { packageVersion } from '../../config.js';
import { TOKENIZER_COMPONENTS } from '../../tokenizer_components.js';
import * as A from '../api/responses.js';
import type { RouteContext } from '../context.js';
import type { StatusRoute } from './route.js';

export const info: StatusRoute = {
  kind: 'status',
  method: 'GET',
  path: '/info',
  open: false,
  perModel: true,
  doc: { summary: 'Model, task, device and limits', description: '503 while the model loads.' },
  content: {
    'application/json': {
      ...A.object({
        model_id: A.string,
        model_name: A.string,
        model_version: A.string,
        memory_bytes: A.integer,
        models: A.list(
          A.object({ name: A.string, task: A.string, model_version: A.string, default: A.boolean, memory_bytes: A.integer }),
          'Every served model.',
        ),
        task: A.string,
        architecture: A.string,
        model_type: A.string,
        family: A.string,
        device: A.string,
        dtype: A.string,
        max_input_length: A.integer,
        max_client_batch_size: A.integer,
        version: A.string,
      }),
      description:
        'The model, its family (model_type, token types, where positions start), task (labels, pooling, prompts), device, dtype and limits.',
    },
  },
  unavailable: 'Not ready: the model is loading or the server is draining.',
  handle(ctx, ex) {
    if (ctx.infoJson === undefined) ex.sendError(503, 'unhealthy', 'the model is loading');
    else ex.sendJson(200, ctx.infoJson);
  },
};

/** What /info says besides the engine's own facts. */
export interface ServerFacts {
  config: Readonly<ServerConfig>;
  /** The memory budget for answers in force (gate.ts). */
  inflightAnswerBytes: number;
  transport: string | undefined;
  transportImplementation: string | undefined;
}

/** Every served model: name, task, version and which one the unprefixed routes serve. */
export function servedModelsList(
  ctx: Pick<RouteContext, 'models'>,
): Array<{ name: string; task: string | null; model_version: string | null; default: boolean; memory_bytes: number | null }> {
  return ctx.models.names.map((name) => {
    const engine = ctx.models.get(name)?.engine;
    return {
      name,
      task: engine?.task ?? null,
      model_version: engine?.version ?? null,
      default: name === ctx.models.defaultName,
      memory_bytes: ctx.models.memoryOf(name) ?? null,
    };
  });
}

export function buildInfo(engine: Engine, ctx: Pick<RouteContext, 'models' | 'modelName'>, s: ServerFacts): string {
  const i = engine.info;
  const c = s.config;
  return JSON.stringify({
    model_id: basename(i.modelDir),
    model_name: ctx.modelName,
    model_version: engine.version,
    // Resident memory its load added (src/server/model_memory.ts; docs/http.md#memory-per-model).
    memory_bytes: ctx.models.memoryOf(ctx.modelName) ?? null,
    models: servedModelsList(ctx),
    task: i.task,
    architecture: i.architecture,
    model_type: i.modelType,
    family: i.family,
    token_types: i.tokenTypes,
    position_ids: i.positionOffset > 0 ? `from padding_idx + 1 (${i.positionOffset})` : 'absolute',
    ...i.taskInfo,
    head: i.headPath,
    head_path_id: i.pathId,
    head_path_change: i.pathChange
      ? { from: i.pathChange.from, to: i.pathChange.to, since: i.pathChange.since, model_changed: i.pathChange.modelChanged }
      : null,
    forward_signature: i.forwardSignature,
    cpu_native_bf16: i.cpuNativeBf16,
    device: i.device,
    dtype: i.dtype,
    vocab_size: i.vocabSize,
    tokenizer: tokenizerInfo(engine),
    hidden_size: i.hiddenSize,
    max_position_embeddings: i.maxPositionEmbeddings,
    max_input_length: i.maxTokens,
    truncate: engine.options.truncate,
    max_batch_tokens: engine.options.maxBatchTokens,
    max_batch_requests: engine.options.maxBatchRequests,
    max_batch_delay_ms: engine.options.maxBatchDelayMs,
    max_concurrent_requests: engine.options.maxQueue,
    max_client_batch_size: c.maxClientBatchSize,
    max_body_bytes: c.maxBodyBytes,
    max_answer_bytes: c.maxAnswerBytes,
    max_inflight_answer_bytes: s.inflightAnswerBytes,
    max_waiting: c.maxWaiting,
    request_timeout_ms: c.requestTimeoutMs,
    workers: i.workers,
    intra_op_threads: i.intraOpThreads,
    thread_budget: i.threadBudget,
    batch_overhead_tokens: i.batchOverheadTokens,
    single_thread_max_tokens: i.singleThreadMaxTokens,
    fair_batch_tokens: i.fairBatchTokens,
    linear_kernel: i.linearKernel,
    precision: i.precision,
    blas: i.blas,
    malloc: i.malloc,
    torch_version: i.torchVersion,
    http_transport: s.transport,
    http_implementation: s.transportImplementation,
    version: packageVersion(),
  });
}

/** /info's tokenizer section: what the model directory's tokenizer is made of, and what is supported. */
function tokenizerInfo(engine: Engine): Record<string, unknown> {
  const t = engine.tokenizer.info;
  return {
    source: basename(t.source),
    model: t.model,
    normalizer: t.pipeline.normalizer,
    pre_tokenizer: t.pipeline.preTokenizer,
    post_processor: t.pipeline.postProcessor,
    decoder: t.pipeline.decoder,
    special_tokens: t.specialTokens,
    special_tokens_added: t.addedTokens,
    supported_components: TOKENIZER_COMPONENTS,
  };
}
