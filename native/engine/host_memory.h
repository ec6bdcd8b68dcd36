// Host memory policy: where tensors and other buffers get their memory, set once per process before
// the first weights are loaded.
//
// Tensors of 128 KiB and more come from the block cache (block_cache.h: reused per size class, no
// page faults between batches, no fragmentation). What is left goes to the process's malloc:
// jemalloc when bin/bert-serve preloaded it (its default), else glibc with fixed thresholds (mmap
// 1 MiB, trim 64 MiB), mostly for OpenBLAS's per-GEMM job tables. oneDNN keeps at most 256
// JIT-compiled kernels (one per input shape; its own default of 1024 kept RSS creeping under a
// dynamic batcher). Why, and the measurements: docs/performance.md, "The allocator" and "oneDNN's
// kernel cache".
#pragma once

#include <string>

namespace bert {

// Applies the policy once per process and returns what is in effect, for /info and the startup
// log. BERT_SERVE_MALLOC=untuned turns all of it off (libtorch's own allocator, glibc's defaults:
// the baseline to compare with); a MALLOC_* or GLIBC_TUNABLES variable keeps glibc as the user
// tuned it; with jemalloc preloaded (bin/bert-serve does by default) glibc's thresholds are moot.
// The block cache and the kernel bound are on in every case but the first (a user's
// ONEDNN_PRIMITIVE_CACHE_CAPACITY wins over the bound). Thread-safe.
const std::string& apply_memory_policy();

// What the process's malloc holds, for /metrics: with the tensors in the block cache, this is where
// the rest of the native memory lives (tokenizer, answers, uWS buffers, OpenBLAS job tables, small
// tensors). jemalloc: stats.allocated and stats.resident (fresh each call: the stats epoch is
// advanced). glibc: mallinfo2's bytes in use, and its heap plus mmapped chunks as held (glibc cannot
// tell which of its free pages are resident). Both 0 for another C library. Thread-safe.
struct MallocStats {
  size_t allocated = 0;
  size_t resident = 0;
};
MallocStats malloc_stats();

// Gives malloc's free pages back to the kernel now, for after a model was unloaded or replaced
// (src/server/full_gc.ts): jemalloc purges every arena, glibc trims every arena. Neither would do it
// by itself on an idle server. Costs a few milliseconds on the calling thread, so not per batch.
// Returns what ran ("jemalloc purge", "malloc_trim"), "" when nothing could. Thread-safe.
std::string release_free_memory();

}  // namespace bert
