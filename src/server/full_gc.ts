// One full garbage collection, asked for after a model was unloaded or replaced (model_control.ts).
// V8 does not see the native memory its objects hold (a closed engine's tokenizer: its vocabulary's
// tables, megabytes), so without this it stays resident until V8 collects for its own reasons,
// which an idle server may not do for hours: 20 reloads of an embedding model kept +52 MiB of RSS
// that way, +5 MiB with a collection after each (docs/benchmarks.md, "Reloads under load"). A full
// collection pauses the JS thread for milliseconds; loads and unloads are rare. JS thread only.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/** Collects now (V8's own gc(), exposed for this: the flag applies to contexts made after it is set). */
export function fullGc(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
