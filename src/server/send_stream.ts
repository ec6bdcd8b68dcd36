// Writing a large answer with backpressure. Handing the whole body to the transport at once would
// copy it into a per-socket buffer (uWS) or queue it unbounded, where it stays for as long as the
// client does not read: N clients that never read would hold N answers nobody can free. The Wire
// writes what the socket accepts and continues as the client reads (transport/*.ts), holding only
// the answer Buffer itself (at most --max-answer-bytes); this file cuts off a client that accepts
// nothing for --send-timeout-ms, which releases it.
import type { Exchange, Headers } from './exchange.js';

/** Answers up to this size are written at once (they fit the socket buffers anyway). */
export const STREAM_THRESHOLD_BYTES = 64 * 1024;

export function streamAnswer(ex: Exchange, status: number, headers: Headers, body: Uint8Array, close: boolean): void {
  let timer: NodeJS.Timeout | undefined;
  const done = ex.wire.stream(
    status,
    headers,
    body,
    close,
    () => timer?.refresh(),
    () => {
      clearTimeout(timer);
      ex.ended(ex.status);
    },
  );
  if (done) {
    ex.ended(ex.status);
    return;
  }
  timer = setTimeout(() => {
    // No byte accepted for sendTimeoutMs: cut the client off. close() fires the abort, which runs
    // the onGone cleanup below and reports the exchange ended.
    if (!ex.aborted) ex.wire.close();
  }, ex.host.sendTimeoutMs);
  ex.onGone(() => clearTimeout(timer));
}
