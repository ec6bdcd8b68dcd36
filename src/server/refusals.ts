// Refusals written from bytes built once. Under overload most answers are 429/503/504, so each must
// cost the JS thread microseconds: no JSON building, no string formatting, no engine call. The
// bodies carry no per-request numbers for that reason (the limits they name are fixed per server).
import type { Headers } from './exchange.js';

export interface Refusal {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: Headers;
  /** Close the connection after it (draining). */
  readonly close: boolean;
}

const RETRY: Headers = [
  ['Content-Type', 'application/json'],
  ['Retry-After', '1'],
];
const PLAIN: Headers = [['Content-Type', 'application/json']];

function refusal(status: number, type: string, message: string, headers: Headers, close = false): Refusal {
  return Object.freeze({ status, body: Buffer.from(JSON.stringify({ error: message, error_type: type })), headers, close });
}

export const LOADING = refusal(503, 'unhealthy', 'the model is loading', RETRY);
export const DRAINING = refusal(503, 'unhealthy', 'the server is shutting down', PLAIN, true);
/** The answers in flight hold the memory budget (gate.ts): refused before the body is read. */
export const MEMORY_FULL = refusal(
  503,
  'overloaded',
  'the server is busy: the answers in flight hold its memory budget (--max-inflight-answer-bytes); retry later',
  RETRY,
);

const queueFull = new Map<number, Refusal>();
/** 429 for a server whose --max-queue is `maxQueue` (built once per value). */
export function queueFullRefusal(maxQueue: number): Refusal {
  let r = queueFull.get(maxQueue);
  if (!r) {
    r = refusal(429, 'overloaded', `the server is busy (--max-queue ${maxQueue} texts pending); retry later`, RETRY);
    queueFull.set(maxQueue, r);
  }
  return r;
}

const deadline = new Map<string, Refusal>();
/**
 * 504 for a request whose deadline (--request-timeout-ms `ms`) passed: while it waited for room
 * (`beforeInference`), or in the engine. Under an overload these are hundreds a second.
 */
export function deadlineRefusal(ms: number, beforeInference: boolean): Refusal {
  const key = `${ms}:${beforeInference}`;
  let r = deadline.get(key);
  if (!r) {
    const message = beforeInference
      ? `the request deadline of ${ms} ms passed before inference`
      : `the request deadline of ${ms} ms (--request-timeout-ms) passed`;
    r = refusal(504, 'timeout', message, PLAIN);
    deadline.set(key, r);
  }
  return r;
}
