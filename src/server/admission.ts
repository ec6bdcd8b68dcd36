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
import { DRAINING, LOADING, queueFullRefusal, type Refusal } from './refusals.js';
import { answerTooLargeMessage } from './answer_size.js';

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
}

export function refuse(ex: Exchange, r: Refusal): void {
  ex.send(r.status, r.body, r.headers, r.close);
}

/**
 * 503 unless the model is loaded and the server is not draining; 429 when the engine's queue has
 * no room for even one more text (a list that does not fit whole is refused later, once its size
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
  if (engine.pending >= engine.options.maxQueue) {
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

/** Parses a JSON object body: 400 when it is not JSON, 422 when it is not an object. */
export function parseJsonObject(ex: Exchange, text: string): Record<string, unknown> | undefined {
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

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list containing ${describe(v.find((x) => typeof x !== 'string') ?? v[0])}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/**
 * Hands the request to the engine with the client's abort signal and the remaining deadline, then
 * writes the natively serialized answer as-is with the timing headers. Answers 429 when the queue
 * cannot take all `count` texts (checked here, synchronously with the enqueue, so a request is
 * never half-accepted), 504 when its deadline passed while the body was being read, and 413 when
 * the answer is estimated (`estimatedAnswerBytes`, before the work) or turns out (after it) to be
 * over --max-answer-bytes.
 */
export async function runInference(
  ctx: RouteContext,
  ex: Exchange,
  engine: Engine,
  count: number,
  call: (options: RequestOptions) => Promise<JsonAnswer>,
  estimatedAnswerBytes = 0,
): Promise<void> {
  if (engine.pending + count > engine.options.maxQueue) {
    refuse(ex, queueFullRefusal(engine.options.maxQueue));
    return;
  }
  if (!checkAnswerEstimate(ctx, ex, estimatedAnswerBytes)) return;
  let timeoutMs: number | undefined;
  if (ctx.config.requestTimeoutMs > 0) {
    timeoutMs = ctx.config.requestTimeoutMs - ex.elapsedMs();
    if (timeoutMs <= 0) {
      answerEngineError(ctx, ex, new BertServeError('ERR_DEADLINE_EXCEEDED', `the request deadline of ${ctx.config.requestTimeoutMs} ms passed before inference`));
      return;
    }
  }
  ex.stage = 'engine';
  let answer: JsonAnswer;
  try {
    answer = await call({ signal: ex.signal(), timeoutMs });
  } catch (e) {
    if (ex.done) return;
    // The engine counts from the hand-over; the client knows the server's deadline, from arrival.
    if ((e as { code?: string }).code === 'ERR_DEADLINE_EXCEEDED') {
      e = new BertServeError('ERR_DEADLINE_EXCEEDED', `the request deadline of ${ctx.config.requestTimeoutMs} ms (--request-timeout-ms) passed`);
    }
    answerEngineError(ctx, ex, e);
    return;
  }
  if (ex.done) return; // the client went away after the model ran: nothing to write to
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
 * generic message (details only with --log-level debug).
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
  if (status >= 500 && status !== 503 && status !== 504) {
    ctx.logger.error('request failed', { route: ex.route, request_id: ex.requestId, code: err.code, error: err.message, stack: err.stack });
    const generic = err.code === 'ERR_INFERENCE_FAILED' ? 'inference failed' : 'internal server error';
    message = ctx.logger.enabled('debug') ? `${generic}: [${err.code}] ${err.message}` : generic;
  }
  ex.sendError(status, type, message, extra, status === 503);
}
