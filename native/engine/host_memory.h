// Host memory policy: keep freed activation memory in the process instead of handing it back to
// the kernel after every batch.
//
// Why: with glibc's defaults, a batch's activations (tens of MB at 32 x 128 on BERT-base) are above
// malloc's mmap/trim thresholds; freeing them returns the pages to the kernel, and the next batch
// page-faults (and the kernel zeroes) them again. Measured on BERT-base 32 x 128, one thread: up to
// 60% of a batch was spent in those faults (docs/performance.md, "The allocator").
#pragma once

#include <string>

namespace bert {

// Raises glibc's thresholds once per process (mallopt: mmap threshold 32 MiB, the most glibc
// allows; trim threshold 1 GiB; top pad 256 MiB) so that freed activations are reused by the next
// batch. Left alone when the user set any MALLOC_*_ tuning variable (their choice wins) or
// BERT_SERVE_MALLOC=glibc, and when jemalloc is the process's malloc (`BERT_SERVE_MALLOC=jemalloc
// bin/bert-serve` preloads it; docs/performance.md, "The allocator"). Returns what is in effect,
// for /info and the startup log. Thread-safe.
const std::string& keep_freed_memory();

}  // namespace bert
