// Graceful shutdown (docs/traps.md#6). Closing the listen socket stops new connections only; keep-alive
// connections stay open, so while draining every answer carries Connection: close and inference
// routes answer 503. The drain then waits for every HTTP request in flight, closes the engine with
// drain=true (native threads joined), and finally closes the connections left idle, so the process
// holds no handle of ours and exits by itself. All of it within one time limit.
import type { Logger } from '../logger.js';

/** What a drain needs from the server (implemented by Server). */
export interface Drainable {
  /** Close the listen socket and enter the draining state (new requests: 503 + close). */
  stopAccepting(): void;
  /** HTTP requests in flight now. */
  readonly inFlight: number;
  /** Resolves when no HTTP request is in flight. */
  whenIdle(): Promise<void>;
  /** Waits for a model load in progress, then closes the engine (drain: finish accepted work). */
  closeEngine(drain: boolean): Promise<void>;
  /** Answers every request still in flight with 503 (when a drain gives up). */
  abandonInFlight(): void;
  /** Force-close every remaining connection (idle keep-alive ones after a clean drain). */
  closeConnections(): void;
}

export interface DrainResult {
  /** True when everything in flight was answered and the engine closed within the time limit. */
  clean: boolean;
  /** HTTP requests still in flight when the drain gave up (0 when clean). */
  abandoned: number;
  ms: number;
}

/**
 * How long a forced stop waits for the engine's threads to stop before the caller exits anyway.
 * Exiting while native threads still run a batch can crash the process in libc's exit (seen as
 * SIGSEGV), so a forced stop gives them this long first.
 */
export const FORCED_STOP_GRACE_MS = 2000;

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

export async function drain(target: Drainable, timeoutMs: number, logger: Logger): Promise<DrainResult> {
  const t0 = Date.now();
  target.stopAccepting();
  logger.info('draining: stopped accepting connections', { inFlight: target.inFlight, timeoutMs });
  const work = (async () => {
    await target.whenIdle();
    logger.debug('draining: all HTTP requests answered; closing the engine');
    await target.closeEngine(true);
  })();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  let outcome: 'done' | 'timeout';
  try {
    outcome = await Promise.race([work.then(() => 'done' as const), timedOut]);
  } catch (e) {
    logger.error('draining: closing the engine failed', { error: (e as Error).message });
    outcome = 'timeout';
  } finally {
    clearTimeout(timer);
  }
  // A late failure of the abandoned work must not become an unhandled rejection.
  work.catch(() => {});
  if (outcome === 'done') {
    target.closeConnections();
    return { clean: true, abandoned: 0, ms: Date.now() - t0 };
  }
  const abandoned = target.inFlight;
  await forceStop(target, FORCED_STOP_GRACE_MS);
  return { clean: false, abandoned, ms: Date.now() - t0 };
}

/**
 * Stops without finishing: answers what is in flight with 503 (rather than resetting its
 * connections), fails the engine's queued work and waits up to graceMs for its threads to stop,
 * then closes every connection. Used when a drain gives up and on a second signal.
 */
export async function forceStop(target: Drainable, graceMs: number): Promise<void> {
  target.stopAccepting();
  target.abandonInFlight();
  const stopped = target.closeEngine(false).catch(() => {});
  await Promise.race([stopped, sleep(graceMs)]);
  await sleep(50); // let the 503 answers flush before the sockets close
  target.closeConnections();
}

export interface SignalOptions {
  logger: Logger;
  /** Starts the drain; resolves with its result. */
  shutdown: () => Promise<DrainResult>;
  /** Stops without finishing (second signal); resolves when the process may exit. */
  forceStop?: () => Promise<void>;
  /** Exit with this code (default: process.exit). */
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}

/**
 * SIGTERM/SIGINT: drain, then let the process end by itself with exit code 0, or exit 1 if the
 * drain gave up. A second signal during the drain stops at once (forceStop) and exits 1; signals
 * after a clean drain are ignored (the process is about to end). Returns a function removing the
 * handlers (signal handlers never keep the process alive).
 */
export function handleSignals(options: SignalOptions): () => void {
  const { logger } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let state: 'serving' | 'draining' | 'forcing' | 'done' = 'serving';
  const remove = () => {
    for (const s of signals) process.off(s, onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state === 'done' || state === 'forcing') {
      logger.debug(`${signal} received while stopping: ignored`);
      return;
    }
    if (state === 'draining') {
      state = 'forcing';
      logger.warn(`${signal} received again: stopping now without finishing in-flight requests`);
      const stop = options.forceStop?.() ?? Promise.resolve();
      stop.catch(() => {}).finally(() => exit(1));
      return;
    }
    state = 'draining';
    logger.info(`${signal} received: shutting down gracefully`);
    options.shutdown().then(
      (result) => {
        if (state === 'forcing') return; // the second signal decides the exit
        if (result.clean) {
          state = 'done';
          logger.info('stopped', { drainMs: result.ms });
          process.exitCode = 0;
          // Nothing of ours is left to keep the loop alive. If something still does, say what and
          // give up after a grace period rather than hang (unref'd: it never delays a clean exit).
          setTimeout(() => {
            logger.error('the process did not exit after the drain; active resources: ' + process.getActiveResourcesInfo().join(', '));
            exit(1);
          }, 5000).unref();
        } else {
          logger.error(`drain gave up: ${result.abandoned} request(s) still in flight after ${result.ms} ms; exiting 1`);
          exit(1);
        }
      },
      (e) => {
        logger.error('shutdown failed', { error: (e as Error).message });
        exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, onSignal);
  return remove;
}
