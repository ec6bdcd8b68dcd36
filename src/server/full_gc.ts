// One full garbage collection, then malloc's free pages given back to the kernel, asked for after a
// model was unloaded or replaced (model_control.ts).
// V8 does not see the native memory its objects hold (a closed engine's tokenizer: its vocabulary's
// tables, megabytes), so without the collection it stays resident until V8 collects for its own
// reasons, which an idle server may not do for hours: 20 reloads of an embedding model kept +52 MiB
// of RSS that way, +5 MiB with a collection after each. Freed, that memory and the engine's is still
// malloc's: jemalloc (bin/bert-serve preloads it) returns pages only as it decays them, and decays
// only when something allocates; glibc keeps up to its 64 MiB trim threshold. So the release comes
// next, one turn later, after the finalizers the collection queued (Node runs N-API finalizers
// from setImmediate): after 20 demo reloads under load jemalloc held +1-3 MiB instead of +6-22 MiB
// (docs/benchmarks.md, "Reloads under load"; what RSS keeps now is V8's grown young generation).
// The collection pauses the JS thread for milliseconds, the purge for about as long; loads and
// unloads are rare. JS thread only.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadBinding } from '../native/binding.js';

let gc: (() => void) | undefined;

/** Collects now (V8's own gc(), exposed for this: the flag applies to contexts made after it is set), releases next turn. */
export function fullGc(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  setImmediate(() => loadBinding().releaseFreeMemory());
}
