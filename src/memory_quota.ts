// How much memory this process may use: the smaller of the machine's (os.totalmem()) and its
// cgroup's limit (v2 `memory.max`, v1 `memory.limit_in_bytes`; Kubernetes' limits.memory,
// `docker run --memory`). The default memory budget for answers in flight is derived from it
// (--max-inflight-answer-bytes, src/server/gate.ts).
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/** A cgroup memory limit file's bytes, or undefined for none ("max", v1's near-2^63 "unlimited"). */
export function parseMemoryLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = text.trim();
  if (!/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n > 0 && n < 2 ** 60 ? n : undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Bytes of memory this process may use. */
export function memoryLimit(): number {
  const cgroup =
    parseMemoryLimit(read('/sys/fs/cgroup/memory.max')) ?? parseMemoryLimit(read('/sys/fs/cgroup/memory/memory.limit_in_bytes'));
  return Math.min(totalmem(), cgroup ?? Infinity);
}

/** The share of that memory answers in flight may hold by default: the model and the engine need the rest. */
export const ANSWER_MEMORY_SHARE = 1 / 8;
