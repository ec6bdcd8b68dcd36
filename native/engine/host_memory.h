// Host memory policy: where tensors and other buffers get their memory, set once per process before
// the first weights are loaded.
//
// Tensors of 128 KiB and more come from the block cache (block_cache.h: reused per size class, no
// page faults between batches, no fragmentation). What is left goes to the process's malloc:
// jemalloc when bin/bert-serve preloaded it (its default), else glibc with fixed thresholds (mmap
// 1 MiB, trim 64 MiB), mostly for OpenBLAS's per-GEMM job tables. Why, and the measurements:
// docs/performance.md, "The allocator".
#pragma once

#include <string>

namespace bert {

// Applies the policy once per process and returns what is in effect, for /info and the startup
// log. BERT_SERVE_MALLOC=untuned turns all of it off (libtorch's own allocator, glibc's defaults:
// the baseline to compare with); a MALLOC_* or GLIBC_TUNABLES variable keeps glibc as the user
// tuned it; with jemalloc preloaded (bin/bert-serve does by default) glibc's thresholds are moot.
// The block cache is on in every case but the first. Thread-safe.
const std::string& apply_memory_policy();

}  // namespace bert
