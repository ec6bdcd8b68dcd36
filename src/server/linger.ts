// Lingering close: before answering a request whose body was not read (413 on Content-Length, an
// early 415/503/429, a chunked body that overflowed), read the rest of the body and throw it away,
// as nginx's lingering close does. Closing a socket with unread bytes makes the kernel send a
// reset: Node fetch (undici) and Python's http.client are still writing the body then, report
// EPIPE / ECONNRESET and never read the answer. Bounded so that it costs little: at most
// LINGER_MAX_BYTES more bytes, LINGER_MAX_MS in all and LINGER_IDLE_MS without a byte; past a
// bound the answer is written anyway and the connection closed. Bytes are counted, never copied.
// The bounds are enforced by one shared sweep (every SWEEP_MS while anything lingers), not a timer
// per request: a refusal under overload is on this path, and two timers each cost more than the
// rest of the refusal.
import { performance } from 'node:perf_hooks';
import type { Exchange } from './exchange.js';

export const LINGER_MAX_BYTES = 32 * 1024 * 1024;
export const LINGER_MAX_MS = 5000;
export const LINGER_IDLE_MS = 1000;
const SWEEP_MS = 100;

interface Lingering {
  deadline: number;
  idleUntil: number;
  finish(complete: boolean): void;
}

const lingering = new Set<Lingering>();
let sweeper: NodeJS.Timeout | undefined;

function sweep(): void {
  const now = performance.now();
  for (const l of lingering) if (now >= l.deadline || now >= l.idleUntil) l.finish(false);
  if (lingering.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/**
 * Discards the rest of the body, then calls `then(complete)`: complete is true when the whole body
 * arrived (the connection may be reused), false when a bound stopped it (close the connection).
 * `then` is not called if the client goes away meanwhile.
 */
export function discardBody(ex: Exchange, then: (complete: boolean) => void): void {
  if (ex.contentLength !== undefined && ex.contentLength > LINGER_MAX_BYTES) {
    then(false); // more than we would ever read: answer now and close
    return;
  }
  let received = 0;
  const now = performance.now();
  const entry: Lingering = {
    deadline: now + LINGER_MAX_MS,
    idleUntil: now + LINGER_IDLE_MS,
    finish(complete) {
      if (!lingering.delete(entry)) return;
      if (!ex.aborted) then(complete);
    },
  };
  lingering.add(entry);
  sweeper ??= setInterval(sweep, SWEEP_MS);
  ex.onGone(() => entry.finish(false));
  ex.onBody((chunk, last) => {
    received += chunk.byteLength;
    if (last) entry.finish(true);
    else if (received > LINGER_MAX_BYTES) entry.finish(false);
    else entry.idleUntil = performance.now() + LINGER_IDLE_MS;
  });
}
