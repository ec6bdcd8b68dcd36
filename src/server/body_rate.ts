// The minimum upload rate. A request body is read for as long as it keeps arriving at at least
// MIN_BODY_BYTES_PER_S, measured over windows of BODY_WINDOW_MS (so one pause of a few seconds is
// fine); a window that brings less ends the request with 408 `timeout` and the connection closed.
// The same rule on both transports, in place of each library's own:
// - uWebSockets.js closes a connection, without an answer, 8-12 s after the last time it reset its
//   timer, and during a body it resets that timer only after each 160 KiB received (16 KiB/s over
//   its 10 s timeout), so any body slower than that was cut at ~10 s. Each window that passes the
//   rule here resets uWS's timer (Wire.refreshTimeout), well within its 8 s.
// - node:http's requestTimeout (the whole request within 300 s) is off; this rule bounds slow bodies.
// One shared sweep every SWEEP_MS checks every body being read (no timer per request).
import { performance } from 'node:perf_hooks';

/** The slowest body that is read to the end: 1 KiB/s (a 1 MiB body may take 17 minutes). */
export const MIN_BODY_BYTES_PER_S = 1024;
/** The rate is measured over windows this long: each must bring MIN_BODY_BYTES_PER_S x 5 s. */
export const BODY_WINDOW_MS = 5000;
const SWEEP_MS = 1000;

/** One body being read. */
export interface BodyWatch {
  /** Counts bytes as they arrive. */
  received(bytes: number): void;
  /** The body is complete (or abandoned): stop watching. */
  stop(): void;
}

interface Entry {
  windowStart: number;
  windowBytes: number;
  refresh: () => void;
  tooSlow: (bytesPerS: number) => void;
}

const watched = new Set<Entry>();
let sweeper: NodeJS.Timeout | undefined;

function sweep(): void {
  const now = performance.now();
  for (const e of watched) {
    const elapsed = now - e.windowStart;
    if (elapsed < BODY_WINDOW_MS) continue;
    const rate = (e.windowBytes * 1000) / elapsed;
    if (rate < MIN_BODY_BYTES_PER_S) {
      watched.delete(e);
      e.tooSlow(rate);
      continue;
    }
    e.windowStart = now;
    e.windowBytes = 0;
    e.refresh();
  }
  if (watched.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/**
 * Watches one body from now. `refresh` is called after every window that met the rule (the
 * transport resets its own timer there); `tooSlow` once, with the window's rate, when one did not.
 */
export function watchBody(refresh: () => void, tooSlow: (bytesPerS: number) => void): BodyWatch {
  const entry: Entry = { windowStart: performance.now(), windowBytes: 0, refresh, tooSlow };
  watched.add(entry);
  sweeper ??= setInterval(sweep, SWEEP_MS);
  sweeper.unref();
  return {
    received(bytes) {
      entry.windowBytes += bytes;
    },
    stop() {
      watched.delete(entry);
    },
  };
}

export function tooSlowMessage(bytesPerS: number): string {
  return (
    `the request body arrived at ${Math.round(bytesPerS)} bytes/s over ${BODY_WINDOW_MS / 1000} s, ` +
    `under the minimum of ${MIN_BODY_BYTES_PER_S} bytes/s`
  );
}
