// Writing a large answer with backpressure. res.end(body) would copy the whole body into uWS's
// per-socket buffer, where it stays for as long as the client does not read: N clients that never
// read hold N answers in native memory nobody can free. tryEnd writes what the socket accepts now
// and keeps no copy; onWritable continues from the offset the client reached. So the only memory
// held per connection is the answer Buffer itself (at most --max-answer-bytes), and a client that
// accepts nothing for --send-timeout-ms is disconnected, which releases it.
import type { Exchange, Headers } from './exchange.js';

/** Answers up to this size are written with one end() (they fit the socket buffers anyway). */
export const STREAM_THRESHOLD_BYTES = 64 * 1024;

export function streamAnswer(ex: Exchange, statusLine: string, headers: Headers, body: Uint8Array): void {
  const res = ex.res;
  const total = body.byteLength;
  let held: Uint8Array | undefined = body;
  let base = 0;
  let done = false;
  res.cork(() => {
    res.writeStatus(statusLine);
    for (const [k, v] of headers) res.writeHeader(k, v);
    base = res.getWriteOffset();
    done = res.tryEnd(body, total)[1];
  });
  if (done) {
    ex.ended(ex.status);
    return;
  }
  const timer = setTimeout(() => {
    // No byte accepted for sendTimeoutMs: cut the client off. close() fires onAborted, which
    // runs the onGone cleanup below and reports the exchange ended.
    if (!ex.aborted && held) res.close();
  }, ex.host.sendTimeoutMs);
  const release = () => { held = undefined; clearTimeout(timer); };
  ex.onGone(release);
  let lastOffset = base;
  res.onWritable((offset) => {
    if (!held) return true;
    if (offset > lastOffset) { lastOffset = offset; timer.refresh(); }
    const [ok, finished] = res.tryEnd(held.subarray(offset - base), total);
    if (finished) {
      release();
      ex.ended(ex.status);
    }
    return ok;
  });
}
