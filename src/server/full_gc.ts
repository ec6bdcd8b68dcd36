// One full garbage collection, then malloc's free pages given back to the kernel, asked for after a
// model was unloaded or replaced (model_control.ts); and one more collection once the server has
// been idle a while.
// V8 does not see the native memory its objects hold (a closed engine's tokenizer: its vocabulary's
// tables, megabytes), so without the collection it stays resident until V8 collects for its own
// reasons, which an idle server may not do for hours: 20 reloads of an embedding model kept +52 MiB
// of RSS that way, +5 MiB with a collection after each. Freed, that memory and the engine's is still
// malloc's: jemalloc (bin/bert-serve preloads it) returns pages only as it decays them, and decays
// only when something allocates; glibc keeps up to its 64 MiB trim threshold. So the release comes
// next, one turn later, after the finalizers the collection queued (Node runs N-API finalizers
// from setImmediate): after 20 demo reloads under load jemalloc held +1-3 MiB instead of +6-22 MiB
// (docs/benchmarks.md, "Reloads under load").
// The later collection is for V8's young generation: traffic grows it to its largest semi-spaces
// (2 x 16 MiB on 64-bit Node 20), and V8 shrinks it only at a collection that finds the JS thread's
// allocation rate low (under about 1 MB/s over its last seconds), which the first collection, right
// after the traffic that came with the reload, does not, and which an idle server never runs by
// itself. IDLE_COLLECTION_MS later (one pending at a time), a server that went idle gets its young
// generation back to its starting size; one still serving keeps the size its traffic needs.
// Each collection pauses the JS thread for milliseconds, the purge for about as long; loads and
// unloads are rare. JS thread only.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadBinding } from '../native/binding.js';

/** How long after an unload the second collection runs: past V8's window for the allocation rate (5 s). */
export const IDLE_COLLECTION_MS = 10_000;

let gc: (() => void) | undefined;
let idle: NodeJS.Timeout | undefined;

/** V8's own gc(), exposed for this (the flag applies to contexts made after it is set). */
function collect(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Collects now, releases next turn, and collects again `idleMs` later (the timer does not hold the process). */
export function fullGc(idleMs = IDLE_COLLECTION_MS): void {
  collect();
  setImmediate(() => loadBinding().releaseFreeMemory());
  clearTimeout(idle);
  idle = setTimeout(() => {
    idle = undefined;
    collect();
  }, idleMs).unref();
}
