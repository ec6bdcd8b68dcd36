// Graceful shutdown (PITFALLS 6). Closing the listen socket stops new connections only; keep-alive
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
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
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
  const abandoned = target.inFlight;
  if (outcome === 'timeout') {
    // Fail what is left quickly; the caller exits anyway.
    target.closeEngine(false).catch(() => {});
  }
  target.closeConnections();
  return { clean: outcome === 'done', abandoned: outcome === 'done' ? 0 : abandoned, ms: Date.now() - t0 };
}

export interface SignalOptions {
  logger: Logger;
  /** Starts the drain; resolves with its result. */
  shutdown: () => Promise<DrainResult>;
  /** Exit with this code (default: process.exit). */
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}

/**
 * SIGTERM/SIGINT: drain, then let the process end by itself with exit code 0, or exit 1 at once if
 * the drain gave up. A second signal exits 1 immediately. Returns a function removing the handlers.
 */
export function handleSignals(options: SignalOptions): () => void {
  const { logger } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let draining = false;
  const remove = () => { for (const s of signals) process.off(s, onSignal); };
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      logger.warn(`${signal} received again: exiting now without finishing in-flight requests`);
      exit(1);
      return;
    }
    draining = true;
    logger.info(`${signal} received: shutting down gracefully`);
    options.shutdown().then(
      (result) => {
        if (result.clean) {
          logger.info('stopped', { drainMs: result.ms });
          remove();
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
