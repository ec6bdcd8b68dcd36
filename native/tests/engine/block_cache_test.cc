// BlockCache (the CPU tensor allocator's cache) on a clock the test moves, and installed as
// libtorch's CPU allocator in this process.
#include "engine/block_cache.h"
#include "engine/host_memory.h"

#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "check.h"

using bert::BlockCache;
using Clock = BlockCache::Clock;
using std::chrono::milliseconds;

namespace {

struct FakeClock {
  Clock::time_point t{std::chrono::hours(1)};
  std::function<Clock::time_point()> fn() {
    return [this] { return t; };
  }
};

constexpr size_t kMiB = 1 << 20;

}  // namespace

TEST_CASE(size_classes_are_eighths_of_a_power_of_two_in_pages) {
  CHECK_EQ(BlockCache::block_size(BlockCache::kMinBlock), BlockCache::kMinBlock);
  CHECK_EQ(BlockCache::block_size(BlockCache::kMinBlock + 1), size_t{144 * 1024});
  CHECK_EQ(BlockCache::block_size(8 * kMiB), 8 * kMiB);
  CHECK_EQ(BlockCache::block_size(8 * kMiB + 1), 9 * kMiB);
  CHECK_EQ(BlockCache::block_size(15 * kMiB + 1), 16 * kMiB);
  for (size_t n = BlockCache::kMinBlock; n < 64 * kMiB; n = n * 9 / 8 + 4099) {
    const size_t b = BlockCache::block_size(n);
    CHECK(b >= n);
    CHECK(b <= n + n / 8 + 4096);
    CHECK_EQ(b % 4096, size_t{0});
  }
}

TEST_CASE(a_freed_block_is_reused_by_the_next_request_of_its_class) {
  FakeClock clock;
  BlockCache cache(milliseconds(10000), clock.fn());
  void* a = cache.allocate(3 * kMiB);
  std::memset(a, 1, 3 * kMiB);
  CHECK(cache.deallocate(a));
  void* b = cache.allocate(3 * kMiB - 100);  // same class
  CHECK(a == b);
  void* c = cache.allocate(5 * kMiB);  // another class: a fresh block
  CHECK(c != a);
  auto s = cache.stats();
  CHECK_EQ(s.hits, uint64_t{1});
  CHECK_EQ(s.misses, uint64_t{2});
  CHECK_EQ(s.blocks_in_use, uint64_t{2});
  CHECK_EQ(s.bytes_in_use, uint64_t{8 * kMiB});
  CHECK(cache.deallocate(b));
  CHECK(cache.deallocate(c));
  CHECK_EQ(cache.stats().bytes_cached, uint64_t{8 * kMiB});
}

TEST_CASE(pointers_it_did_not_hand_out_are_not_its_own) {
  BlockCache cache;
  int on_stack = 0;
  CHECK(!cache.deallocate(&on_stack));
  void* m = std::malloc(16);
  CHECK(!cache.deallocate(m));
  std::free(m);
}

TEST_CASE(blocks_unused_for_the_idle_time_are_unmapped_and_reused_ones_stay) {
  FakeClock clock;
  BlockCache cache(milliseconds(10000), clock.fn());
  void* idle = cache.allocate(2 * kMiB);
  void* busy = cache.allocate(4 * kMiB);
  CHECK(cache.deallocate(idle));
  CHECK(cache.deallocate(busy));
  for (int second = 1; second <= 15; ++second) {  // the busy class is taken and freed every second
    clock.t += std::chrono::seconds(1);
    void* p = cache.allocate(4 * kMiB);
    CHECK(p == busy);
    CHECK(cache.deallocate(p));
  }
  auto s = cache.stats();
  CHECK_EQ(s.unmapped, uint64_t{1});
  CHECK_EQ(s.blocks_cached, uint64_t{1});
  CHECK_EQ(s.bytes_cached, uint64_t{4 * kMiB});
  cache.release_cached();
  CHECK_EQ(cache.stats().bytes_cached, uint64_t{0});
  CHECK_EQ(cache.stats().unmapped, uint64_t{2});
}

TEST_CASE(cached_bytes_never_exceed_the_most_ever_in_use) {
  FakeClock clock;
  BlockCache cache(milliseconds(10000), clock.fn());
  // Peak in use: 4 MiB. Then blocks of ever new classes, one at a time: the cache keeps at most
  // 4 MiB of them, dropping the longest idle first.
  void* big = cache.allocate(4 * kMiB);
  CHECK(cache.deallocate(big));
  for (size_t i = 0; i < 12; ++i) {
    clock.t += milliseconds(10);
    void* p = cache.allocate(kMiB + (i + 1) * 64 * 1024);
    CHECK(cache.deallocate(p));
    auto s = cache.stats();
    CHECK(s.bytes_cached <= s.peak_bytes_in_use);
  }
  CHECK_EQ(cache.stats().peak_bytes_in_use, uint64_t{4 * kMiB});
  CHECK(cache.stats().unmapped >= 1);
}

TEST_CASE(the_trimmer_unmaps_idle_blocks_while_nothing_allocates) {
  // Never destroyed: the trimmer thread lives as long as the process.
  auto* cache = new BlockCache(milliseconds(50));
  cache->start_trimmer();
  void* p = cache->allocate(2 * kMiB);
  CHECK(cache->deallocate(p));
  // Polled with a bound: the trimmer checks once a second.
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  while (cache->stats().bytes_cached > 0 && Clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK_EQ(cache->stats().bytes_cached, uint64_t{0});
  CHECK_EQ(cache->stats().unmapped, uint64_t{1});
}

TEST_CASE(installed_it_serves_libtorch_tensors_and_small_ones_stay_with_malloc) {
  const std::string& policy = bert::apply_memory_policy();
  CHECK(policy.find("block cache") != std::string::npos);
  const auto before = bert::block_cache_stats();
  const void* first = nullptr;
  {
    auto t = torch::ones({1024, 1024});  // 4 MiB
    first = t.data_ptr();
    CHECK_EQ(bert::block_cache_stats().bytes_in_use, before.bytes_in_use + 4 * kMiB);
    auto small = torch::ones({16});
    CHECK_EQ(bert::block_cache_stats().blocks_in_use, before.blocks_in_use + 1);
    CHECK_EQ(reinterpret_cast<uintptr_t>(small.data_ptr()) % 64, uintptr_t{0});
  }
  auto again = torch::zeros({1024, 1000});  // same class: the same block, zeroed by the op
  CHECK(again.data_ptr() == first);
  CHECK_EQ(again.sum().item<float>(), 0.0f);
  auto mm = torch::mm(torch::ones({512, 512}), torch::ones({512, 512}));
  CHECK_EQ(mm[3][7].item<float>(), 512.0f);
  CHECK(bert::block_cache_stats().hits > before.hits);
}

TEST_MAIN()
