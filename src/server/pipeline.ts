// The way of an inference request through the HTTP layer, forward, each stage once:
//   admit     ready, memory budget, queue room, the served task (decided before the body is read,
//             refusals from pre-built bytes: refusals.ts)
//   read      media type, encoding, the body within --max-body-bytes (body.ts), UTF-8
//   parse     JSON (nesting bounded first: json_depth.ts) or, where the route takes it, raw text
//   validate  the route's schema (api/validate.ts): 422 naming the field, 413 for a long list
//   plan      the route turns the validated body into a Job (routes/route.ts)
//   run       the answer-size bounds, the gate (queue room, memory budget: gate.ts), the engine
//   write     the natively serialized answer as it is, with the timing headers
// A stage that refuses answers through the Exchange and the request stops there; every answer goes
// through the Exchange, so nothing is written to a client that has gone. The one place where an
// engine error becomes an HTTP answer is answerEngineError (through errors.ts HTTP_STATUS).
// The model is the one of the path (the router's `ctx`), except on a route that names it in the
// body (OpenAI's `model`) when several are served and the path has no /models/{name}: that route
// is admitted after validate, against the model its body names (404 for one not served).
// JS thread only.
import { HTTP_STATUS, toBertServeError } from '../errors.js';
import type { Engine } from '../engine.js';
import type { JsonAnswer } from '../answers.js';
import { taskArchitecture } from '../tasks/task.js';
import type { Exchange } from './exchange.js';
import { unknownModelMessage, type RouteContext } from './context.js';
import { servesTask, type Body, type InferenceRoute, type Job } from './routes/route.js';
import { modelFacts } from './routes/facts.js';
import { decodeUtf8, readBody } from './body.js';
import { DRAINING, LOADING, MEMORY_FULL, deadlineRefusal, queueFullRefusal, type Refusal } from './refusals.js';
import { answerTooLargeMessage, answerUpperBound } from './answer_size.js';
import { BUILD_COPIES } from './gate.js';
import { MAX_JSON_DEPTH, jsonDeeperThan } from './json_depth.js';
import { validateBody } from './api/validate.js';
import { hold } from './engine_holds.js';

export function refuse(ex: Exchange, r: Refusal): void {
  ex.send(r.status, r.body, r.headers, r.close);
}

/** Runs `route` for the request of `ex`, stage by stage; `prefixed`: the path named the model. */
export async function serveInference(ctx: RouteContext, ex: Exchange, route: InferenceRoute, prefixed = false): Promise<void> {
  // The model is named in the body: admitted once the body says which (below).
  const field = prefixed || ctx.models.names.length < 2 ? undefined : route.modelField;
  if (field !== undefined && ctx.draining) return void refuse(ex, DRAINING);
  let engine = field === undefined ? admit(ctx, ex, route) : undefined;
  if (field === undefined && !engine) return;
  const text = await read(ctx, ex, route);
  if (text === undefined) return;
  const body = parse(ex, route, text);
  if (!body || !validate(ctx, ex, route, body)) return;
  if (field !== undefined) {
    const name = body[field] as string | undefined;
    const chosen = name === undefined ? ctx : ctx.models.get(name);
    if (!chosen) return void ex.sendError(404, 'model_not_found', unknownModelMessage(String(name), ctx.models));
    ctx = chosen;
    engine = admit(ctx, ex, route);
  }
  if (!engine) return;
  let job: Job;
  try {
    job = route.plan(engine, body, ctx.modelName);
  } catch (e) {
    answerEngineError(ctx, ex, e, route.invalidStatus);
    return;
  }
  const answer = await run(ctx, ex, engine, route, job);
  if (answer) write(ctx, ex, answer);
}

/**
 * 503 unless the model is loaded and the server is not draining, and while the answers in flight
 * hold the memory budget; 429 when the engine's queue has no room for even one more text and no
 * request may wait for it (gate.ts; a list that does not fit whole is decided later, once its size
 * is known); 422 when the model's task is not one the route serves. Returns the engine when admitted,
 * held for this request (engine_holds.ts) until it has answered.
 */
function admit(ctx: RouteContext, ex: Exchange, route: InferenceRoute): Engine | undefined {
  const engine = ctx.engine;
  if (ctx.draining || !engine || ctx.gate.overBudget || (engine.pending >= engine.options.maxQueue && ctx.gate.waitingFull)) {
    refuse(ex, ctx.draining ? DRAINING : !engine ? LOADING : ctx.gate.overBudget ? MEMORY_FULL : queueFullRefusal(engine.options.maxQueue));
    return undefined;
  }
  if (!servesTask(route, engine.task)) {
    const wanted = route.tasks === 'any' ? engine.task : route.tasks[0];
    ex.sendError(
      422,
      'validation',
      `${route.method} ${route.path} needs a ${wanted} model (${taskArchitecture(wanted, engine.info.architecture)}); ` +
        `${ctx.models.names.length > 1 ? `the model "${ctx.modelName}"` : "this server's model"} serves ${engine.task} (${engine.info.architecture})`,
    );
    return undefined;
  }
  const why = route.refuses?.(modelFacts(engine));
  if (why !== undefined) {
    ex.sendError(422, 'validation', why);
    return undefined;
  }
  // A reload or unload closes this engine only once every request admitted on it is done.
  ex.releaseEngine = hold(engine);
  // From here every answer, an error included (a 422 from the tokenizer, a 413 answer, a 504), names
  // the weights the request was admitted on: a client comparing versions needs it on failures too.
  ex.extraHeaders = [...ex.extraHeaders, ['x-model-version', engine.version]];
  return engine;
}

/**
 * The body as text: 415 unless application/json (or the route takes raw text), for compressed
 * bodies and charsets other than UTF-8; 413 over --max-body-bytes (body.ts); 400 when empty or not
 * UTF-8. Undefined when answered (or the client went away).
 */
async function read(ctx: RouteContext, ex: Exchange, route: InferenceRoute): Promise<string | undefined> {
  if (!route.rawText && ex.mediaType !== 'application/json') {
    ex.sendError(
      415,
      'unsupported_media_type',
      `Expected Content-Type application/json but received ${ex.mediaType === '' ? 'none' : ex.mediaType}`,
    );
    return undefined;
  }
  if (ex.contentEncoding !== '' && ex.contentEncoding !== 'identity') {
    ex.sendError(415, 'unsupported_media_type', `Content-Encoding ${ex.contentEncoding} is not supported; send the body uncompressed`);
    return undefined;
  }
  if (ex.charset !== '' && ex.charset !== 'utf-8' && ex.charset !== 'utf8' && ex.charset !== 'us-ascii') {
    ex.sendError(415, 'unsupported_media_type', `charset ${ex.charset} is not supported; send UTF-8`);
    return undefined;
  }
  const bytes = await readBody(ex, ctx.config.maxBodyBytes);
  if (bytes === undefined || ex.done) return undefined;
  if (bytes.length === 0) {
    ex.sendError(400, 'empty', 'the request body is empty');
    return undefined;
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) ex.sendError(400, 'malformed', 'the request body is not valid UTF-8');
  return text;
}

/** A JSON object body (400 when not JSON or nested too deep, 422 when not an object), or the body a raw text stands for. */
function parse(ex: Exchange, route: InferenceRoute, text: string): Body | undefined {
  if (ex.mediaType !== 'application/json' && route.rawText) return route.rawText(text);
  if (jsonDeeperThan(text)) {
    ex.sendError(400, 'malformed', `the request body nests objects or lists more than ${MAX_JSON_DEPTH} levels deep`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    ex.sendError(400, 'malformed', `the request body is not valid JSON: ${(e as Error).message}`);
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    ex.sendError(route.invalidStatus ?? 422, 'validation', 'Expected a JSON object with "inputs" for the request body');
    return undefined;
  }
  return value as Body;
}

/** The route's schema: 422 (the route's invalidStatus) naming the field, 413 for a list over --max-client-batch-size. */
function validate(ctx: RouteContext, ex: Exchange, route: InferenceRoute, body: Body): boolean {
  const invalid = validateBody(ctx.config.maxClientBatchSize, route, body);
  if (invalid) ex.sendError(invalid.status === 422 ? (route.invalidStatus ?? 422) : invalid.status, 'validation', invalid.message);
  return invalid === undefined;
}

/**
 * 413 when an answer's estimated size (a lower bound, see answer_size.ts) is over
 * --max-answer-bytes: refused before the engine does the work. Returns true when within it.
 */
export function checkAnswerEstimate(ctx: RouteContext, ex: Exchange, estimatedBytes: number, hint?: string): boolean {
  const limit = ctx.config.maxAnswerBytes;
  if (estimatedBytes <= limit) return true;
  ex.sendError(413, 'validation', answerTooLargeMessage(estimatedBytes, limit, true, hint));
  return false;
}

/**
 * Hands the job to the engine with the client's abort signal and the remaining deadline. First the
 * gate (gate.ts): room in the queue for all its texts (a request is never half-accepted) and in the
 * memory budget for an upper bound of its answer, else it waits or is refused (429 queue, 503
 * memory). Answers 504 when its deadline passed while the body was being read or while it waited,
 * and 413 when the answer is estimated (before the work) or turns out (after it) to be over
 * --max-answer-bytes. Returns the answer, or undefined when the request was answered otherwise.
 */
async function run(ctx: RouteContext, ex: Exchange, engine: Engine, route: InferenceRoute, job: Job): Promise<JsonAnswer | undefined> {
  if (!checkAnswerEstimate(ctx, ex, job.minAnswerBytes ?? 0, job.tooLargeHint)) return undefined;
  const deadline = ctx.config.requestTimeoutMs;
  const remaining = () => (deadline > 0 ? deadline - ex.elapsedMs() : Infinity);
  const expired = () => refuse(ex, deadlineRefusal(deadline, true));
  if (remaining() <= 0) return void expired();
  const upper = answerUpperBound({
    kind: route.answerKind,
    texts: job.texts,
    bodyBytes: ex.bodyBytes,
    predictions: job.predictions,
    hiddenSize: engine.info.hiddenSize,
    labels: engine.info.taskInfo.labels ?? [],
    maxTokens: engine.options.maxTokens || engine.info.maxPositionEmbeddings,
  });
  const reserve = Math.min(upper, ctx.config.maxAnswerBytes) * BUILD_COPIES;
  ex.stage = 'engine';
  let admission = ctx.gate.admit(engine, job.texts, reserve, remaining(), (fn) => ex.onAbort(fn));
  if (typeof admission !== 'string') admission = await admission;
  switch (admission) {
    case 'gone':
      return undefined;
    case 'queue-full':
      return void refuse(ex, queueFullRefusal(engine.options.maxQueue));
    case 'memory-full':
      return void refuse(ex, MEMORY_FULL);
    case 'timeout':
      return void expired();
    case 'go':
      break;
  }
  ex.reservedBytes = reserve; // given back when the exchange ends (Server.exchangeEnded)
  ex.reservedBy = ctx.gate;
  let answer: JsonAnswer;
  try {
    const left = remaining();
    let pending: Promise<JsonAnswer>;
    try {
      pending = job.run({ signal: ex.signal(), timeoutMs: Number.isFinite(left) ? Math.max(1, left) : undefined });
    } finally {
      ctx.gate.submitted(job.texts);
    }
    answer = await pending;
  } catch (e) {
    ex.releaseEngine?.();
    ctx.gate.answered();
    if (ex.done) return undefined;
    // The engine counts from the hand-over; the client knows the server's deadline, from arrival.
    if ((e as { code?: string }).code === 'ERR_DEADLINE_EXCEEDED') refuse(ex, deadlineRefusal(ctx.config.requestTimeoutMs, false));
    else answerEngineError(ctx, ex, e, route.invalidStatus);
    return undefined;
  }
  ex.releaseEngine?.();
  ctx.gate.answered();
  if (ex.done) return undefined; // the client went away after the model ran: nothing to write to
  // A list's answer was concatenated from one part per input, which stay in memory until V8's next
  // collection: counted twice until it is written.
  const held = answer.body.length * (job.texts > 1 ? 2 : 1);
  ctx.gate.resize(ex.reservedBytes, held);
  ex.reservedBytes = held;
  if (answer.body.length > ctx.config.maxAnswerBytes) {
    // The estimate is a lower bound; this is the exact size. The Buffer is dropped unwritten.
    ex.sendError(413, 'validation', answerTooLargeMessage(answer.body.length, ctx.config.maxAnswerBytes, false, job.tooLargeHint));
    return undefined;
  }
  return answer;
}

/** The natively serialized answer as it is, with the timing headers (ms); x-model-version was added at admission. */
function write(ctx: RouteContext, ex: Exchange, answer: JsonAnswer): void {
  ctx.metrics.observeTimings(ex.route, answer.timings);
  const t = answer.timings;
  ex.send(200, answer.body, [
    ['Content-Type', 'application/json'],
    ['x-tokenization-time', ms(t.tokenizeUs / 1000)],
    ['x-queue-time', ms(t.queueUs / 1000)],
    ['x-thread-wait-time', ms(t.threadWaitUs / 1000)],
    ['x-inference-time', ms(t.inferenceUs / 1000)],
    ['x-total-time', ms(ex.elapsedMs())],
  ]);
}

function ms(v: number): string {
  return v.toFixed(3);
}

/**
 * Answers an engine (or unexpected) error through HTTP_STATUS (a 422 as the route's invalidStatus). 4xx messages are for users and
 * shown as they are; 5xx other than 503/504 are logged with their details and answered with a
 * generic message (details only with --log-level debug), except a non-finite output, whose message
 * says what the model produced (the engine logs those, rate-limited).
 */
export function answerEngineError(ctx: RouteContext, ex: Exchange, e: unknown, invalidStatus?: 400): void {
  const err = toBertServeError(e);
  const mapped = HTTP_STATUS[err.code] ?? HTTP_STATUS.ERR_INTERNAL;
  const { type } = mapped;
  const status = mapped.status === 422 && invalidStatus !== undefined ? invalidStatus : mapped.status;
  if (status === 429) {
    refuse(ex, queueFullRefusal(ctx.engine?.options.maxQueue ?? 0));
    return;
  }
  let message = err.message;
  if (status >= 500 && status !== 503 && status !== 504 && err.code !== 'ERR_NON_FINITE_OUTPUT') {
    ctx.logger.error('request failed', { route: ex.route, request_id: ex.requestId, code: err.code, error: err.message, stack: err.stack });
    const generic = err.code === 'ERR_INFERENCE_FAILED' ? 'inference failed' : 'internal server error';
    message = ctx.logger.enabled('debug') ? `${generic}: [${err.code}] ${err.message}` : generic;
  }
  ex.sendError(status, type, message, undefined, status === 503);
}
