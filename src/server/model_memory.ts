// How much memory each served model holds, and --max-memory's check before a load.
//
// Measured: the native memory in use after the model loaded and warmed, less before its load began:
// the engine's large tensors in use (the block cache's bytes_in_use: weights and whatever else the
// model keeps) plus what the process's malloc has handed out and not had back (tokenizer, small
// tensors, threads' buffers). Both are process-wide counters (native/engine/block_cache.h,
// host_memory.h), read through a native engine object that loads nothing. Not RSS: a reload's new
// weights reuse the blocks the old version freed, which RSS does not see (a BERT-base reload
// measured 1.7 MiB of RSS growth). Activations freed after the warm-up are cached for the next
// batches of any model and not counted. Loads run one at a time (start-up loads one after the other;
// run-time loads are serialized by model_control.ts), so the difference is that model's; batches
// of other models running at either instant move it by their activations: it is a measurement,
// not an accounting.
//
// Estimated, for a model not loaded yet: its model.pt's bytes x FILE_FACTOR + BASE_BYTES, an upper
// fit of what loads measured here (docs/http.md#memory-per-model has the table): the test models
// (4 MiB files: 18-38 MiB), the demo model (17 MiB: 59 MiB), BERT-base float32 (418 MiB: 487 MiB)
// and int8 (173 MiB: 269 MiB; quantized weights keep float scales beside them).
// JS thread only.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadBinding } from '../native/binding.js';

/** Resident memory per byte of model.pt once loaded and warmed. */
export const FILE_FACTOR = 1.3;
/** What any model costs besides its weights: tokenizer, engine threads' buffers, packed kernels. */
export const BASE_BYTES = 48 * 1024 * 1024;

/** The native memory in use now, process-wide (see the header). */
export function nativeBytesInUse(): number {
  const probe = new (loadBinding().Engine)(
    () => undefined,
    () => undefined,
  );
  try {
    const s = probe.stats();
    return s.tensorBytesInUse + s.mallocBytesAllocated;
  } finally {
    void probe.close(false); // never loaded: closes at once
  }
}

/** The estimated resident memory of the model in `dir` (0 for model.pt missing: the load will say why). */
export function estimateModelBytes(dir: string): number {
  const size = statSync(join(dir, 'model.pt'), { throwIfNoEntry: false })?.size ?? 0;
  return size === 0 ? 0 : Math.round(size * FILE_FACTOR + BASE_BYTES);
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/**
 * undefined when a model estimated at `estimate` bytes fits beside `held` (name to measured bytes)
 * under `limit` (0: no limit); else why not, naming the sizes.
 */
export function overMemory(limit: number, name: string, estimate: number, held: ReadonlyMap<string, number>): string | undefined {
  if (limit === 0) return undefined;
  const total = [...held.values()].reduce((a, b) => a + b, 0);
  if (total + estimate <= limit) return undefined;
  const each = [...held].map(([n, b]) => `${n} ${mib(b)}`).join(', ');
  return (
    `loading "${name}" (estimated ${mib(estimate)} from its model.pt) would take the models' memory to ${mib(total + estimate)}, ` +
    `over --max-memory ${mib(limit)} (${limit} bytes); held now: ${each === '' ? 'nothing' : `${mib(total)} (${each})`}`
  );
}
