// Admission control shared by the inference routes: readiness and the queue bound (checked on
// arrival, before the body is read, and answered from pre-built bytes: refusals.ts), media types,
// body reading with the size limit, JSON parsing, input-count, answer-size and queue bounds,
// deadlines, and the one place where an engine error becomes an HTTP answer (through errors.ts
// HTTP_STATUS). Everything here answers through the Exchange, so nothing is written to a client
// that has gone. JS thread only.
import { BertServeError, HTTP_STATUS, toBertServeError } from '../errors.js';
import type { Engine, JsonAnswer, RequestOptions } from '../engine.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ServerConfig } from '../config.js';
import type { Exchange, Headers } from './exchange.js';
import { decodeUtf8, readBody } from './body.js';
import { DRAINING, LOADING, MEMORY_FULL, queueFullRefusal, type Refusal } from './refusals.js';
import { answerTooLargeMessage, answerUpperBound } from './answer_size.js';
import { BUILD_COPIES, type Gate } from './gate.js';
import { MAX_JSON_DEPTH, jsonDeeperThan } from './json_depth.js';

/** What routes need from the server. */
export interface RouteContext {
  readonly config: Readonly<ServerConfig>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The engine once loaded, else undefined. */
  readonly engine: Engine | undefined;
  readonly draining: boolean;
  /** /info body, built once after load. */
  readonly infoJson: string | undefined;
  /** --api-key is set (documented in /openapi.json). */
  readonly apiKeyRequired: boolean;
  /** Queue room and the memory budget for answers (gate.ts). */
  readonly gate: Gate;
}

export function refuse(ex: Exchange, r: Refusal): void {
  ex.send(r.status, r.body, r.headers, r.close);
}

/**
 * 503 unless the model is loaded and the server is not draining, and while the answers in flight
 * hold the memory budget; 429 when the engine's queue has no room for even one more text and no
 * request may wait for it (gate.ts; a list that does not fit whole is decided later, once its size
 * is known). Decided before the body is read, from pre-built bytes. Returns the engine when admitted.
 */
export function admitWork(ctx: RouteContext, ex: Exchange): Engine | undefined {
  if (ctx.draining) {
    refuse(ex, DRAINING);
    return undefined;
  }
  const engine = ctx.engine;
  if (!engine) {
    refuse(ex, LOADING);
    return undefined;
  }
  if (ctx.gate.overBudget) {
    refuse(ex, MEMORY_FULL);
    return undefined;
  }
  if (engine.pending >= engine.options.maxQueue && ctx.gate.waitingFull) {
    refuse(ex, queueFullRefusal(engine.options.maxQueue));
    return undefined;
  }
  return engine;
}

/**
 * 413 when an answer's estimated size (a lower bound, see answer_size.ts) is over
 * --max-answer-bytes: refused before the engine does the work. Returns true when within it.
 */
export function checkAnswerEstimate(ctx: RouteContext, ex: Exchange, estimatedBytes: number): boolean {
  const limit = ctx.config.maxAnswerBytes;
  if (estimatedBytes <= limit) return true;
  ex.sendError(413, 'validation', answerTooLargeMessage(estimatedBytes, limit, true));
  return false;
}

/** 415 for compressed bodies and charsets other than UTF-8 (the only encoding accepted). */
export function checkEncoding(ex: Exchange): boolean {
  if (ex.contentEncoding !== '' && ex.contentEncoding !== 'identity') {
    ex.sendError(415, 'unsupported_media_type', `Content-Encoding ${ex.contentEncoding} is not supported; send the body uncompressed`);
    return false;
  }
  if (ex.charset !== '' && ex.charset !== 'utf-8' && ex.charset !== 'utf8' && ex.charset !== 'us-ascii') {
    ex.sendError(415, 'unsupported_media_type', `charset ${ex.charset} is not supported; send UTF-8`);
    return false;
  }
  return true;
}

export function isJsonMediaType(ex: Exchange): boolean {
  return ex.mediaType === 'application/json';
}

/** Reads the body (limit from config) and decodes it as UTF-8. 400 for empty or invalid bodies. */
export async function readText(ctx: RouteContext, ex: Exchange): Promise<string | undefined> {
  const bytes = await readBody(ex, ctx.config.maxBodyBytes);
  if (bytes === undefined || ex.done) return undefined;
  if (bytes.length === 0) {
    ex.sendError(400, 'empty', 'the request body is empty');
    return undefined;
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    ex.sendError(400, 'malformed', 'the request body is not valid UTF-8');
    return undefined;
  }
  return text;
}

/** Parses a JSON object body: 400 when it is not JSON or nests too deep (json_depth.ts), 422 when it is not an object. */
export function parseJsonObject(ex: Exchange, text: string): Record<string, unknown> | undefined {
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
    ex.sendError(422, 'validation', 'Expected a JSON object with "inputs" for the request body');
    return undefined;
  }
  return value as Record<string, unknown>;
}

/** How many nested lists a validation message names before it says "..." (the rest is not read). */
export const DESCRIBE_MAX_DEPTH = 3;

/**
 * A value as a validation message names it ("a list containing the string \"x\""). A loop with a
 * fixed bound, never recursion: the value is the user's, and a list nested to the body limit
 * (500,000 levels in 1 MiB) overflowed the stack of the recursive version. The cost is one
 * pass over at most DESCRIBE_MAX_DEPTH lists.
 */
export function describe(v: unknown): string {
  let out = '';
  for (let depth = 0; ; depth++) {
    if (!Array.isArray(v)) return out + describeScalar(v);
    if (v.length === 0) return `${out}an empty list`;
    if (depth === DESCRIBE_MAX_DEPTH) return `${out}a list containing ...`;
    out += 'a list containing ';
    // The first element that is not a string says most (a list of strings is usually what was expected).
    const list: unknown[] = v;
    v = list.find((x) => typeof x !== 'string') ?? list[0];
  }
}

function describeScalar(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/**
 * Hands the request to the engine with the client's abort signal and the remaining deadline, then
 * writes the natively serialized answer as-is with the timing headers. First the gate (gate.ts):
 * room in the queue for all `count` texts (a request is never half-accepted) and in the memory
 * budget for an upper bound of its answer, else it waits or is refused (429 queue, 503 memory).
 * Answers 504 when its deadline passed while the body was being read or while it waited, and 413
 * when the answer is estimated (`estimatedAnswerBytes`, a lower bound, before the work) or turns
 * out (after it) to be over --max-answer-bytes. `predictions`: fill-mask's, for the upper bound.
 */
export async function runInference(
  ctx: RouteContext,
  ex: Exchange,
  engine: Engine,
  count: number,
  call: (options: RequestOptions) => Promise<JsonAnswer>,
  estimatedAnswerBytes = 0,
  predictions?: number,
): Promise<void> {
  if (!checkAnswerEstimate(ctx, ex, estimatedAnswerBytes)) return;
  const deadline = ctx.config.requestTimeoutMs;
  const remaining = () => (deadline > 0 ? deadline - ex.elapsedMs() : Infinity);
  const expired = () => answerEngineError(ctx, ex, new BertServeError('ERR_DEADLINE_EXCEEDED', `the request deadline of ${deadline} ms passed before inference`));
  if (remaining() <= 0) return expired();
  const upper = answerUpperBound({
    task: engine.task, route: ex.route, texts: count, bodyBytes: ex.bodyBytes, predictions, hiddenSize: engine.info.hiddenSize,
    labels: engine.info.taskInfo.labels ?? [], maxTokens: engine.options.maxTokens || engine.info.maxPositionEmbeddings,
  });
  const reserve = Math.min(upper, ctx.config.maxAnswerBytes) * BUILD_COPIES;
  ex.stage = 'engine';
  let admission = ctx.gate.admit(engine, count, reserve, remaining(), (fn) => ex.onAbort(fn));
  if (typeof admission !== 'string') admission = await admission;
  switch (admission) {
    case 'gone': return;
    case 'queue-full': return refuse(ex, queueFullRefusal(engine.options.maxQueue));
    case 'memory-full': return refuse(ex, MEMORY_FULL);
    case 'timeout': return expired();
  }
  ex.reservedBytes = reserve; // given back when the exchange ends (Server.exchangeEnded)
  let answer: JsonAnswer;
  try {
    const left = remaining();
    let pending: Promise<JsonAnswer>;
    try {
      pending = call({ signal: ex.signal(), timeoutMs: Number.isFinite(left) ? Math.max(1, left) : undefined });
    } finally {
      ctx.gate.submitted(count);
    }
    answer = await pending;
  } catch (e) {
    ctx.gate.answered();
    if (ex.done) return;
    // The engine counts from the hand-over; the client knows the server's deadline, from arrival.
    if ((e as { code?: string }).code === 'ERR_DEADLINE_EXCEEDED') {
      e = new BertServeError('ERR_DEADLINE_EXCEEDED', `the request deadline of ${ctx.config.requestTimeoutMs} ms (--request-timeout-ms) passed`);
    }
    answerEngineError(ctx, ex, e);
    return;
  }
  ctx.gate.answered();
  if (ex.done) return; // the client went away after the model ran: nothing to write to
  // A list's answer was concatenated from one part per input, which stay in memory until V8's next
  // collection: counted twice until it is written.
  const held = answer.body.length * (count > 1 ? 2 : 1);
  ctx.gate.resize(ex.reservedBytes, held);
  ex.reservedBytes = held;
  if (answer.body.length > ctx.config.maxAnswerBytes) {
    // The estimate is a lower bound; this is the exact size. The Buffer is dropped unwritten.
    ex.sendError(413, 'validation', answerTooLargeMessage(answer.body.length, ctx.config.maxAnswerBytes, false));
    return;
  }
  ctx.metrics.observeTimings(ex.route, answer.timings);
  const t = answer.timings;
  ex.send(200, answer.body, [
    ['Content-Type', 'application/json'],
    ['x-tokenization-time', ms(t.tokenizeUs / 1000)],
    ['x-queue-time', ms(t.queueUs / 1000)],
    ['x-inference-time', ms(t.inferenceUs / 1000)],
    ['x-total-time', ms(ex.elapsedMs())],
  ]);
}

function ms(v: number): string {
  return v.toFixed(3);
}

/**
 * Answers an engine (or unexpected) error through HTTP_STATUS. 4xx messages are for users and
 * shown as they are; 5xx other than 503/504 are logged with their details and answered with a
 * generic message (details only with --log-level debug), except a non-finite output, whose message
 * says what the model produced (the engine logs those, rate-limited).
 */
export function answerEngineError(ctx: RouteContext, ex: Exchange, e: unknown): void {
  const err = toBertServeError(e);
  const mapped = HTTP_STATUS[err.code] ?? HTTP_STATUS.ERR_INTERNAL;
  const { status, type } = mapped;
  let message = err.message;
  if (status === 429) {
    refuse(ex, queueFullRefusal(ctx.engine?.options.maxQueue ?? 0));
    return;
  }
  let extra: Headers | undefined;
  if (status >= 500 && status !== 503 && status !== 504 && err.code !== 'ERR_NON_FINITE_OUTPUT') {
    ctx.logger.error('request failed', { route: ex.route, request_id: ex.requestId, code: err.code, error: err.message, stack: err.stack });
    const generic = err.code === 'ERR_INFERENCE_FAILED' ? 'inference failed' : 'internal server error';
    message = ctx.logger.enabled('debug') ? `${generic}: [${err.code}] ${err.message}` : generic;
  }
  ex.sendError(status, type, message, extra, status === 503);
}
