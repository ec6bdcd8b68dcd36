// Which engines requests are using: a request holds its model's engine from admission until the
// engine has answered it (or the request ended otherwise), so that a reload or an unload
// (model_control.ts) can close the engine it replaced once the last request admitted on it is done,
// and never before: nothing admitted on the old engine fails because it was closed under it.
// Counted per engine; JS thread only.
import type { Engine } from '../engine.js';

const counts = new WeakMap<Engine, number>();
const waiters = new WeakMap<Engine, Array<() => void>>();

/** Holds `engine` for one request; the returned function lets go of it (once; later calls do nothing). */
export function hold(engine: Engine): () => void {
  counts.set(engine, (counts.get(engine) ?? 0) + 1);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    const left = counts.get(engine)! - 1;
    counts.set(engine, left);
    if (left > 0) return;
    const wake = waiters.get(engine) ?? [];
    waiters.delete(engine);
    for (const w of wake) w();
  };
}

/** Requests holding `engine` now. */
export function holders(engine: Engine): number {
  return counts.get(engine) ?? 0;
}

/** Resolves once no request holds `engine` (at once when none does). */
export function whenUnheld(engine: Engine): Promise<void> {
  if (holders(engine) === 0) return Promise.resolve();
  return new Promise((resolve) => waiters.set(engine, [...(waiters.get(engine) ?? []), resolve]));
}
