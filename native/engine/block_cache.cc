#include "engine/block_cache.h"

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace bert {

namespace {

void unmap(const std::vector<std::pair<void*, size_t>>& blocks) {
  for (const auto& [p, size] : blocks) munmap(p, size);
}

}  // namespace

BlockCache::BlockCache(std::chrono::milliseconds idle_release, std::function<Clock::time_point()> now)
    : idle_release_(idle_release), now_(std::move(now)) {}

BlockCache::~BlockCache() { release_cached(); }

size_t BlockCache::block_size(size_t n) {
  size_t pow2 = kMinBlock;
  while (pow2 < n) pow2 <<= 1;
  const size_t step = std::max<size_t>(pow2 / 16, static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  // n is in (pow2/2, pow2]; eighths of that interval's start are sixteenths of pow2.
  return (n + step - 1) / step * step;
}

void* BlockCache::allocate(size_t n) {
  const size_t size = block_size(n);
  std::vector<std::pair<void*, size_t>> drop;
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collect_locked(now_(), drop);
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back().p;  // the most recently freed: likeliest still in the CPU caches
      it->second.pop_back();
      stats_.blocks_cached--;
      stats_.bytes_cached -= size;
      stats_.hits++;
    } else {
      stats_.misses++;
    }
    if (p) {
      in_use_.emplace(p, size);
      stats_.blocks_in_use++;
      stats_.bytes_in_use += size;
      stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
    }
  }
  unmap(drop);
  if (p) return p;
  p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  // The error libtorch's own allocator raises (c10::Error), so a failed batch reads the same.
  TORCH_CHECK(p != MAP_FAILED, "not enough memory: you tried to allocate ", size, " bytes (", std::strerror(errno), ")");
  std::lock_guard<std::mutex> lock(mu_);
  in_use_.emplace(p, size);
  stats_.blocks_in_use++;
  stats_.bytes_in_use += size;
  stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  return p;
}

bool BlockCache::deallocate(void* p) {
  std::vector<std::pair<void*, size_t>> drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_use_.find(p);
    if (it == in_use_.end()) return false;
    const size_t size = it->second;
    in_use_.erase(it);
    stats_.blocks_in_use--;
    stats_.bytes_in_use -= size;
    const auto now = now_();
    if (stats_.blocks_cached == 0) cached_cv_.notify_one();
    free_[size].push_back(Cached{p, now});
    stats_.blocks_cached++;
    stats_.bytes_cached += size;
    collect_locked(now, drop);
  }
  unmap(drop);
  return true;
}

void BlockCache::collect_locked(Clock::time_point now, std::vector<std::pair<void*, size_t>>& out) {
  auto drop_front = [&](std::vector<Cached>& blocks, size_t size, size_t count) {
    for (size_t i = 0; i < count; ++i) out.emplace_back(blocks[i].p, size);
    blocks.erase(blocks.begin(), blocks.begin() + static_cast<std::ptrdiff_t>(count));
    stats_.blocks_cached -= count;
    stats_.bytes_cached -= count * size;
    stats_.unmapped += count;
  };
  // Idle blocks: at most one sweep a second, so a steady load pays a clock read per call, not a scan.
  if (now - last_sweep_ >= std::chrono::seconds(1)) {
    last_sweep_ = now;
    for (auto& [size, blocks] : free_) {
      size_t idle = 0;
      while (idle < blocks.size() && now - blocks[idle].since >= idle_release_) ++idle;
      if (idle) drop_front(blocks, size, idle);
    }
  }
  // The cap: never more cached than was ever in use at once, so a burst of new shapes can at most
  // double the footprint of the busiest moment, and only until its blocks go idle.
  while (stats_.bytes_cached > stats_.peak_bytes_in_use) {
    std::vector<Cached>* oldest = nullptr;
    size_t oldest_size = 0;
    for (auto& [size, blocks] : free_) {
      if (!blocks.empty() && (!oldest || blocks.front().since < oldest->front().since)) {
        oldest = &blocks;
        oldest_size = size;
      }
    }
    drop_front(*oldest, oldest_size, 1);
  }
}

void BlockCache::release_cached() {
  std::vector<std::pair<void*, size_t>> drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [size, blocks] : free_) {
      for (const auto& b : blocks) drop.emplace_back(b.p, size);
      stats_.unmapped += blocks.size();
      blocks.clear();
    }
    stats_.blocks_cached = 0;
    stats_.bytes_cached = 0;
  }
  unmap(drop);
}

void BlockCache::start_trimmer() {
  std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cached_cv_.wait(lock, [this] { return stats_.blocks_cached > 0; });
      cached_cv_.wait_for(lock, std::chrono::seconds(1));  // a check a second while blocks wait
      std::vector<std::pair<void*, size_t>> drop;
      collect_locked(now_(), drop);
      lock.unlock();
      unmap(drop);
      lock.lock();
    }
  }).detach();
}

BlockCacheStats BlockCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

namespace {

// c10's default CPU allocator aligns to 64 bytes (AVX-512 loads); small buffers keep that.
constexpr size_t kAlignment = 64;

BlockCache* g_cache = nullptr;

void free_small(void* p) { std::free(p); }
void free_large(void* p) { g_cache->deallocate(p); }
// For raw_allocate/raw_deallocate users, which get one deleter for every size.
void free_any(void* p) {
  if (!g_cache->deallocate(p)) std::free(p);
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    if (n >= BlockCache::kMinBlock) {
      void* p = g_cache->allocate(n);
      return {p, p, &free_large, c10::Device(c10::DeviceType::CPU)};
    }
    void* p = nullptr;
    TORCH_CHECK(posix_memalign(&p, kAlignment, std::max<size_t>(n, 1)) == 0, "not enough memory: you tried to allocate ", n, " bytes");
    return {p, p, &free_small, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &free_any; }
};

}  // namespace

const std::string& install_block_cache() {
  static const std::string description = [] {
    // Never destroyed: tensors may outlive every static destructor (a Node addon unloads late).
    g_cache = new BlockCache();
    g_cache->start_trimmer();
    static CachingCpuAllocator allocator;
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
    return std::string("tensors >= 128 KiB from a block cache (reused per size class, unmapped after 10 s unused)");
  }();
  return description;
}

BlockCacheStats block_cache_stats() { return g_cache ? g_cache->stats() : BlockCacheStats{}; }

void release_cached_blocks() {
  if (g_cache) g_cache->release_cached();
}

}  // namespace bert
