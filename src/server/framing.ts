// Request framing: where the body ends, decided from EVERY header line, not from the first one
// uWS's getHeader returns. uWS frames a body by the first Content-Length line and decodes
// `Transfer-Encoding: gzip, chunked` as plain chunked; a proxy in front of us may pick another
// line or coding, and then the two disagree on where the next request starts (request
// smuggling). So anything ambiguous is refused with 400 and the connection closed, never guessed.
// Pure functions over the header lines: unit-tested without a socket.

export interface Framing {
  /** Declared Content-Length; undefined when absent. */
  contentLength: number | undefined;
  chunked: boolean;
  /** Why the framing is refused (400), or undefined when it is unambiguous. */
  error: string | undefined;
}

const DIGITS = /^\d{1,15}$/;

/**
 * Framing from the request's header lines (names lower case, as each transport's Wire gives them).
 * Several identical Content-Length lines count as one (RFC 9112 6.3 allows a recipient to);
 * different values, a non-numeric value, a Transfer-Encoding other than exactly `chunked`, or
 * both headers together are errors.
 */
export function parseFraming(lines: ReadonlyArray<readonly [string, string]>): Framing {
  let cl: string | undefined;
  let te: string[] | undefined;
  for (const [name, value] of lines) {
    if (name === 'content-length') {
      // One line may also carry a list ("5, 5"); each element must agree.
      for (const part of value.split(',')) {
        const v = part.trim();
        if (!DIGITS.test(v)) return refused(`invalid Content-Length header ${JSON.stringify(value.slice(0, 40))}`);
        if (cl !== undefined && Number(cl) !== Number(v)) return refused('two different Content-Length headers');
        cl = v;
      }
    } else if (name === 'transfer-encoding') {
      (te ??= []).push(...value.split(',').map((x) => x.trim().toLowerCase()));
    }
  }
  if (te !== undefined) {
    if (te.length !== 1 || te[0] !== 'chunked') {
      return refused(`Transfer-Encoding ${JSON.stringify(te.join(', ').slice(0, 60))} is not supported; only "chunked" is`);
    }
    if (cl !== undefined) return refused('both Content-Length and Transfer-Encoding headers');
    return { contentLength: undefined, chunked: true, error: undefined };
  }
  return { contentLength: cl === undefined ? undefined : Number(cl), chunked: false, error: undefined };
}

function refused(error: string): Framing {
  return { contentLength: undefined, chunked: false, error };
}
