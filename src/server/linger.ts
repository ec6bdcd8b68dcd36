// Lingering close: before answering a request whose body was not read (413 on Content-Length, an
// early 415/503/429, a chunked body that overflowed), read the rest of the body and throw it away,
// as nginx's lingering close does. Closing a socket with unread bytes makes the kernel send a
// reset: Node fetch (undici) and Python's http.client are still writing the body then, report
// EPIPE / ECONNRESET and never read the answer. Bounded so that it costs little: at most
// LINGER_MAX_BYTES more bytes, LINGER_MAX_MS in all and LINGER_IDLE_MS without a byte; past a
// bound the answer is written anyway and the connection closed. Bytes are counted, never copied.
import type { Exchange } from './exchange.js';

export const LINGER_MAX_BYTES = 32 * 1024 * 1024;
export const LINGER_MAX_MS = 5000;
export const LINGER_IDLE_MS = 1000;

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
  let settled = false;
  const finish = (complete: boolean) => {
    if (settled) return;
    settled = true;
    clearTimeout(total);
    clearTimeout(idle);
    if (!ex.aborted) then(complete);
  };
  const total = setTimeout(() => finish(false), LINGER_MAX_MS);
  const idle = setTimeout(() => finish(false), LINGER_IDLE_MS);
  ex.onGone(() => finish(false));
  ex.onBody((chunk, last) => {
    received += chunk.byteLength;
    if (last) finish(true);
    else if (received > LINGER_MAX_BYTES) finish(false);
    else idle.refresh();
  });
}
