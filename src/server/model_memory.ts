// How much memory each served model holds, and --max-memory's check before a load.
//
// Measured: the process's resident memory (RSS) after the model loaded and warmed, less before the
// load began. Loads run one at a time (start-up loads one after the other; run-time loads are
// serialized by model_control.ts), so the difference is that model's: its weights, its engine's
// threads and buffers, its tokenizer, and the activations its warm-up left in the block cache for
// the next batches (block_cache.h: unmapped after 10 s unused). Requests to other models while a
// load runs move the figure by what they allocate meanwhile: it is a measurement, not an accounting.
//
// Estimated, for a model not loaded yet: its model.pt's bytes x FILE_FACTOR + BASE_BYTES, fitted to
// the measured figure of the test models (4 MB files) and BERT-base (440 MB) on this engine
// (docs/http.md#memory-per-model has the figures). A bf16 or int8 model.pt is counted at its own size.
// JS thread only.
import { statSync } from 'node:fs';
import { join } from 'node:path';

/** Resident memory per byte of model.pt once loaded and warmed. */
export const FILE_FACTOR = 1.25;
/** What any model costs besides its weights: engine threads, tokenizer, warm-up buffers. */
export const BASE_BYTES = 24 * 1024 * 1024;

export const rssBytes = (): number => process.memoryUsage.rss();

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
