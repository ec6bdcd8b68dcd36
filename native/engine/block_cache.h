// The CPU tensor allocator: large tensor buffers (weights, activations) come from a cache of
// page-aligned mmap blocks instead of malloc.
//
// Why: a batch frees and reallocates the same large activation buffers every forward. Handed back to
// the kernel (glibc's defaults, jemalloc's decay), the next batch page-faults and zeroes them again:
// up to 60% of a BERT-base 32 x 128 batch. Kept in malloc's arenas (raised glibc thresholds), a
// different mix of batch shapes every second fragments the per-thread arenas and the RSS creeps
// without bound (+20% in a 30-minute soak). Here a freed block waits in a free list for its size
// class and is reused as is by the next request of that class: no faults, no fragmentation (blocks
// are never split or merged). A cached block unused for `idle_release` is unmapped, and the cached
// bytes never exceed the most ever in use, so memory follows the load instead of its history.
// docs/performance.md, "The allocator".
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace bert {

struct BlockCacheStats {
  uint64_t blocks_in_use = 0, bytes_in_use = 0;  // large blocks handed out and not yet freed
  uint64_t blocks_cached = 0, bytes_cached = 0;  // freed, waiting for reuse
  uint64_t peak_bytes_in_use = 0;                // the cap on bytes_cached
  uint64_t hits = 0, misses = 0, unmapped = 0;   // reuses, fresh mmaps, blocks given back
};

class BlockCache {
 public:
  using Clock = std::chrono::steady_clock;
  // Requests below `min_block` are not the cache's (the caller uses malloc): small buffers are
  // many and cheap, and a page-rounded block would waste most of its page.
  static constexpr size_t kMinBlock = 128 * 1024;

  explicit BlockCache(std::chrono::milliseconds idle_release = std::chrono::seconds(10),
                      std::function<Clock::time_point()> now = Clock::now);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;
  ~BlockCache();  // unmaps the cached blocks; blocks still in use are the caller's bug

  // The size class of a request of n >= kMinBlock bytes: n rounded up to 1/8 of its power of two
  // (at most 12.5% more), a multiple of the page size.
  static size_t block_size(size_t n);

  void* allocate(size_t n);  // n >= kMinBlock; throws c10::Error when mmap fails
  // Returns false when p is not a block of this cache (then it is the caller's to free).
  bool deallocate(void* p);
  void release_cached();  // unmaps every cached block now
  // Starts a thread that unmaps idle blocks even when nothing allocates (an idle server gives its
  // memory back too); it sleeps while nothing is cached and lives as long as the process, so only
  // a cache that is never destroyed may start it. Without it, idle blocks go at the next call.
  void start_trimmer();
  BlockCacheStats stats() const;

 private:
  struct Cached {
    void* p;
    Clock::time_point since;
  };
  // Under mu_: drops blocks idle too long and, while over the cap, the longest idle; returns them
  // for unmapping outside the lock (munmap can take milliseconds).
  void collect_locked(Clock::time_point now, std::vector<std::pair<void*, size_t>>& out);

  const std::chrono::milliseconds idle_release_;
  const std::function<Clock::time_point()> now_;
  mutable std::mutex mu_;
  std::condition_variable cached_cv_;                     // the trimmer waits on it for something to be cached
  std::unordered_map<size_t, std::vector<Cached>> free_;  // size class -> blocks, oldest first
  std::unordered_map<void*, size_t> in_use_;              // block -> its size class
  Clock::time_point last_sweep_{};
  BlockCacheStats stats_;
};

// Makes a process-wide BlockCache libtorch's CPU allocator (c10::SetCPUAllocator, above the
// default's priority). Idempotent and thread-safe; called before the first weights are loaded, so
// that they and every activation after them come from it. Returns a one-line description for /info.
const std::string& install_block_cache();

// The process-wide cache's figures; all zero before install_block_cache.
BlockCacheStats block_cache_stats();
// Unmaps the process-wide cache's free blocks, e.g. after loading, when the load's temporaries
// (float32 weights replaced by bf16 or int8 ones) are free.
void release_cached_blocks();

}  // namespace bert
