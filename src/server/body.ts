// Request body reading with a size limit (neither transport has one). The declared Content-Length
// is checked before a byte is read; bytes are counted as they arrive, so chunked bodies (no length)
// are bounded too. Over the limit the answer is 413 and the connection is closed, after the rest of
// the body has been discarded (linger.ts) so that the client can read the 413. Chunks are COPIED
// (uWS's memory is neutered when the data callback returns): into a buffer preallocated from
// Content-Length, or into copies for chunked bodies. A body that arrives slower than the minimum
// rate (body_rate.ts) is answered 408; a malformed chunked body 400 (node:http; uWS closes it).
import type { Exchange } from './exchange.js';
import { tooSlowMessage, watchBody } from './body_rate.js';

/**
 * Reads the whole body. Resolves with the bytes, or with undefined when there is nothing more to do:
 * the client went away, or the request was already answered (413). Never rejects. Call it
 * synchronously from the request handler (uWS drops body bytes nobody listens for).
 */
export function readBody(ex: Exchange, limit: number): Promise<Buffer | undefined> {
  const declared = ex.contentLength;
  if (declared !== undefined && declared > limit) {
    ex.sendError(
      413,
      'payload_too_large',
      `request body of ${declared} bytes is over the limit of ${limit} bytes (--max-body-bytes)`,
      undefined,
      true,
    );
    return Promise.resolve(undefined);
  }
  if (!ex.hasBody) {
    ex.bodyConsumed = true;
    return Promise.resolve(Buffer.alloc(0));
  }
  ex.stage = 'body';
  return new Promise<Buffer | undefined>((resolve) => {
    let settled = false;
    const settle = (b: Buffer | undefined) => {
      if (!settled) {
        settled = true;
        watch.stop();
        resolve(b);
      }
    };
    const watch = watchBody(
      () => ex.wire.refreshTimeout(),
      (rate) => {
        settle(undefined);
        // Restarted so that uWS's timer does not cut the connection while the answer lingers (linger.ts).
        ex.wire.refreshTimeout();
        ex.sendError(408, 'timeout', tooSlowMessage(rate), undefined, true);
      },
    );
    ex.onAbort(() => settle(undefined));
    ex.wire.onMalformedBody((reason) => {
      settle(undefined);
      ex.bodyConsumed = true; // nothing more can be read: answer at once, then close
      ex.sendError(400, 'malformed', reason, undefined, true);
    });
    const fixed = declared !== undefined ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    ex.onBody((chunk, isLast) => {
      if (settled || ex.done) return;
      const n = chunk.byteLength;
      watch.received(n);
      if (received + n > (fixed ? fixed.length : limit)) {
        // Only reachable for chunked bodies (the transport frames Content-Length bodies). sendError
        // swaps this handler for the discarding one, which gets the rest of the body.
        chunks.length = 0;
        settle(undefined);
        ex.sendError(413, 'payload_too_large', `request body is over the limit of ${limit} bytes (--max-body-bytes)`, undefined, true);
        return;
      }
      if (n > 0) {
        if (fixed) fixed.set(chunk, received);
        else chunks.push(Buffer.from(chunk));
        received += n;
      }
      if (isLast) {
        ex.bodyBytes = received;
        settle(fixed ? fixed.subarray(0, received) : Buffer.concat(chunks, received));
      }
    });
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 strictly (a leading BOM is dropped); undefined when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
