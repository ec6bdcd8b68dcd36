// BatchPicker (the pure batch-selection rule) and RingQueue (the scheduler's queue storage), without
// threads or clocks.
#include <algorithm>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "check.h"
#include "engine/sched/batch_picker.h"
#include "engine/sched/ring_queue.h"

using bert::BatchLimits;
using bert::BatchPick;
using bert::BatchPicker;

namespace {

// Overhead 64 (the scheduler's when it is not measured) unless a test says otherwise: a batch costs 64 + longest x count.
BatchLimits limits(size_t max_requests, size_t max_tokens, bool sorted, size_t window = 256, size_t overhead = 64) {
  BatchLimits l;
  l.batch_overhead_tokens = overhead;
  l.max_requests = max_requests;
  l.max_tokens = max_tokens;
  l.sort_by_length = sorted;
  l.sort_window = window;
  return l;
}

std::vector<size_t> pick(BatchPicker& p, const std::vector<size_t>& lengths, BatchPick* out = nullptr) {
  std::vector<size_t> chosen;
  BatchPick r = p.pick(lengths, chosen);
  if (out) *out = r;
  return chosen;
}

using V = std::vector<size_t>;

}  // namespace

TEST_CASE(empty_window_picks_nothing) {
  BatchPicker p(limits(8, 100, true));
  BatchPick r;
  CHECK(pick(p, {}, &r).empty());
  CHECK_EQ(r.count, size_t(0));
}

TEST_CASE(fifo_bounded_by_count) {
  BatchPicker p(limits(3, 1000, false));
  BatchPick r;
  CHECK(pick(p, {5, 9, 1, 7, 3}, &r) == V({0, 1, 2}));
  CHECK_EQ(r.count, size_t(3));
  CHECK_EQ(r.max_len, size_t(9));
  CHECK_EQ(r.real_tokens, uint64_t(15));
  CHECK_EQ(r.padded_tokens(), uint64_t(27));
  CHECK(r.full);
}

TEST_CASE(fifo_bounded_by_padded_budget_without_overtaking) {
  // 10 + 30 would pad to 60 > 40: the batch ends at the 30 even though the 5 after it would fit.
  BatchPicker p(limits(8, 40, false));
  BatchPick r;
  CHECK(pick(p, {10, 30, 5}, &r) == V({0}));
  CHECK(r.full);
  // Padded, not real, tokens count: 4 x 10 = 40 fits, a fifth request does not.
  CHECK(pick(p, {10, 1, 1, 1, 1, 1}, &r) == V({0, 1, 2, 3}));
  CHECK_EQ(r.padded_tokens(), uint64_t(40));
  CHECK(r.full);
}

TEST_CASE(fifo_window_is_max_requests) {
  BatchPicker p(limits(4, 100, false, 256));
  CHECK_EQ(p.window(), size_t(4));
}

TEST_CASE(not_full_while_the_batch_could_grow) {
  BatchPicker p(limits(8, 100, true));
  BatchPick r;
  CHECK(pick(p, {5, 5}, &r) == V({0, 1}));
  CHECK(!r.full);
  // 50 x 3 = 150 > 120: not even an equally long request could join.
  BatchPicker q(limits(8, 120, true));
  pick(q, {50, 50}, &r);
  CHECK_EQ(r.count, size_t(2));
  CHECK(r.full);
}

TEST_CASE(sorted_groups_similar_lengths) {
  BatchPicker p(limits(3, 10000, true));
  const V lengths = {10, 50, 12, 48, 11, 52};
  BatchPick r;
  // Sorted 10 11 12 | 48 50 52: two batches of three cost 2 x 64 + 36 + 156, less than any other split.
  CHECK(pick(p, lengths, &r) == V({0, 2, 4}));  // 10, 12, 11
  CHECK_EQ(r.padded_tokens(), uint64_t(36));
  CHECK(r.full);  // the other three were left for the next batch
  // What is left, 50 48 52, is one batch: 64 + 156 beats 2 x 64 + 48 + 104.
  CHECK(pick(p, {50, 48, 52}, &r) == V({0, 1, 2}));
  // FIFO for comparison: 10,50,12 and 48,11,52 pad to 150 + 156.
  BatchPicker f(limits(3, 10000, false));
  BatchPick a, b;
  pick(f, {10, 50, 12, 48, 11, 52}, &a);
  pick(f, {48, 11, 52}, &b);
  CHECK(a.padded_tokens() + b.padded_tokens() > 36 + 156);
}

TEST_CASE(sorted_overhead_weighs_padding_against_batches) {
  // Sorted 3 7 7 7 9, at most 3 per batch. A cheap batch (overhead 1): 3 | 7 7 7 | 9 pads nothing.
  BatchPicker cheap(limits(3, 10000, true, 256, 1));
  CHECK(pick(cheap, {7, 3, 7, 9, 7}) == V({0, 2, 4}));
  // A costly batch (64): two batches, 3 7 7 | 7 9 (2 x 64 + 21 + 18) beat three (3 x 64 + 33).
  BatchPicker costly(limits(3, 10000, true, 256, 64));
  CHECK(pick(costly, {7, 3, 7, 9, 7}) == V({0, 1, 2}));
}

TEST_CASE(sorted_long_outlier_runs_alone) {
  // 20 20 20 200: padding three 20s to 200 costs 540 tokens, more than a batch of its own (64).
  BatchPicker p(limits(4, 10000, true));
  BatchPick r;
  CHECK(pick(p, {20, 20, 20, 200}, &r) == V({0, 1, 2}));
  CHECK_EQ(r.padded_tokens(), uint64_t(60));
  CHECK(r.full);
  CHECK(pick(p, {200, 20, 20, 20}, &r) == V({0}));  // the oldest is always taken, here alone
  // When a batch costs more than that padding, all four go together.
  BatchPicker costly(limits(8, 10000, true, 256, 1000));
  CHECK(pick(costly, {20, 20, 20, 200}, &r) == V({0, 1, 2, 3}));
  CHECK(!r.full);
}

TEST_CASE(sorted_equal_lengths_go_oldest_first) {
  // Five 10s, at most 2 per batch: the runs are cut in age order, the oldest pair first.
  BatchPicker p(limits(2, 10000, true));
  CHECK(pick(p, {10, 10, 10, 10, 10}) == V({0, 1}));
  CHECK(pick(p, {10, 5, 10, 5, 10}) == V({0, 2}));
}

TEST_CASE(sorted_longer_candidate_weighs_by_batch_size) {
  // 5 10 10 10 | 12 costs 2 x 64 + 40 + 12; 5 | 10 10 10 12 costs 2 x 64 + 5 + 48.
  BatchPicker p(limits(4, 10000, true));
  CHECK(pick(p, {10, 10, 10, 12, 5}) == V({0, 1, 2, 4}));
}

TEST_CASE(sorted_budget_bounds_each_batch) {
  // Budget 60: the 100 can only run alone; 15 and 20 pad to 40 together.
  BatchPicker p(limits(8, 60, true));
  BatchPick r;
  CHECK(pick(p, {20, 100, 15}, &r) == V({0, 2}));
  CHECK(r.full);
  CHECK_EQ(r.padded_tokens(), uint64_t(40));
  // Budget 100: at most three 30s per batch. 1 30 30 | 30 30 and 1 30 | 30 30 30 both cost
  // 2 x 64 + 150; the tie goes to the longer first run, which holds the two oldest 30s.
  BatchPicker q(limits(8, 100, true));
  CHECK(pick(q, {30, 30, 30, 30, 1}, &r) == V({0, 1, 4}));
  CHECK(r.full);
}

TEST_CASE(sorted_window_limits_the_candidates) {
  // Window max(2, 2) = 2: the 10 at index 4 is not seen; with a window of 5 it is the better partner.
  BatchPicker small(limits(2, 10000, true, 2));
  CHECK_EQ(small.window(), size_t(2));
  CHECK(pick(small, {10, 50, 50, 50, 10}) == V({0, 1}));
  BatchPicker wide(limits(2, 10000, true, 5));
  CHECK(pick(wide, {10, 50, 50, 50, 10}) == V({0, 4}));
  // A window smaller than max_batch_requests is raised to it.
  BatchPicker raised(limits(4, 10000, true, 1));
  CHECK_EQ(raised.window(), size_t(4));
}

// Draining a queue batch by batch costs no more (overhead x batches + padded tokens) than cutting the
// whole queue, sorted by length, into full batches: the split the engine limit benchmark uses.
TEST_CASE(sorted_draining_costs_no_more_than_sorted_chunks) {
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    const size_t max_requests = 1 + rng() % 32;
    const size_t overhead = rng() % 300;
    BatchPicker p(limits(max_requests, 1u << 30, true, 256, overhead));
    V queue(1 + rng() % 200);
    for (auto& l : queue) l = rng() % 3 ? 4 + rng() % 30 : 30 + rng() % 300;
    V sorted = queue;
    std::sort(sorted.begin(), sorted.end());
    uint64_t chunks = 0;
    for (size_t i = 0; i < sorted.size(); i += max_requests) {
      const size_t n = std::min(max_requests, sorted.size() - i);
      chunks += overhead + sorted[i + n - 1] * n;
    }
    uint64_t drained = 0;
    while (!queue.empty()) {
      BatchPick r;
      V chosen = pick(p, queue, &r);
      drained += overhead + r.padded_tokens();
      for (size_t k = chosen.size(); k-- > 0;) queue.erase(queue.begin() + chosen[k]);
    }
    CHECK(drained <= chunks);
  }
}

TEST_CASE(random_picks_respect_every_bound) {
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    const bool sorted = round % 2 == 0;
    const size_t max_requests = 1 + rng() % 16;
    const size_t max_tokens = 8 + rng() % 600;
    BatchPicker p(limits(max_requests, max_tokens, sorted, rng() % 40));
    V lengths(rng() % 50);
    for (auto& l : lengths) l = 1 + rng() % max_tokens;  // each fits alone, as the scheduler ensures
    BatchPick r;
    const V chosen = pick(p, lengths, &r);
    if (lengths.empty()) {
      CHECK(chosen.empty());
      continue;
    }
    CHECK_EQ(chosen.size(), r.count);
    CHECK(!chosen.empty() && chosen[0] == 0);
    CHECK(r.count <= max_requests);
    CHECK(r.padded_tokens() <= max_tokens);
    CHECK(std::is_sorted(chosen.begin(), chosen.end()));
    CHECK(std::adjacent_find(chosen.begin(), chosen.end()) == chosen.end());
    uint64_t real = 0;
    size_t longest = 0;
    for (size_t i : chosen) {
      CHECK(i < std::min(lengths.size(), p.window()));
      real += lengths[i];
      longest = std::max(longest, lengths[i]);
    }
    CHECK_EQ(r.real_tokens, real);
    CHECK_EQ(r.max_len, longest);
    // Not full means: every request of the window is in, and one more as long as the longest fits.
    if (!r.full) {
      CHECK_EQ(r.count, std::min(lengths.size(), p.window()));
      CHECK(uint64_t(longest) * (r.count + 1) <= max_tokens);
    }
    if (!sorted) {  // FIFO: a prefix
      for (size_t k = 0; k < chosen.size(); ++k) CHECK_EQ(chosen[k], k);
    }
  }
}

TEST_CASE(sorted_draining_pads_less_than_fifo_on_a_mixed_queue) {
  std::mt19937 rng(11);
  V lengths(400);
  for (auto& l : lengths) l = rng() % 2 ? 4 + rng() % 8 : 100 + rng() % 28;
  auto drain = [&](bool sorted) {
    BatchPicker p(limits(8, 100000, sorted));
    V queue = lengths;
    uint64_t padded = 0;
    while (!queue.empty()) {
      BatchPick r;
      V chosen = pick(p, queue, &r);
      padded += r.padded_tokens();
      for (size_t k = chosen.size(); k-- > 0;) queue.erase(queue.begin() + chosen[k]);
    }
    return padded;
  };
  const uint64_t fifo = drain(false), sorted = drain(true);
  const uint64_t real = std::accumulate(lengths.begin(), lengths.end(), uint64_t(0));
  std::printf("  mixed queue: real %llu, padded fifo %llu, sorted %llu\n", (unsigned long long)real, (unsigned long long)fifo,
              (unsigned long long)sorted);
  CHECK(sorted * 10 < fifo * 7);
}

// --- RingQueue ---

TEST_CASE(a_token_cap_bounds_this_pick_only_and_the_oldest_still_runs) {
  for (bool sorted : {false, true}) {
    BatchPicker p(limits(32, 1000, sorted));
    std::vector<size_t> chosen;
    const V eight(8, 10);
    BatchPick r = p.pick(eight, chosen, 40);  // the cap (another model is active): 4 x 10 tokens
    CHECK_EQ(r.count, size_t(4));
    CHECK(chosen == V({0, 1, 2, 3}));
    CHECK(r.full);                 // requests were left: start now
    r = p.pick(eight, chosen, 0);  // no cap: the whole window
    CHECK_EQ(r.count, size_t(8));
    r = p.pick(eight, chosen, 5000);  // a cap above max_tokens is max_tokens
    CHECK_EQ(r.count, size_t(8));
    r = p.pick({50, 10}, chosen, 40);  // the oldest is longer than the cap: it runs, alone
    CHECK(chosen == V({0}));
  }
}

TEST_CASE(ring_queue_is_fifo_across_growth_and_wraparound) {
  bert::RingQueue<std::shared_ptr<int>> q;
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int k = 0; k < 37; ++k) q.push_back(std::make_shared<int>(next_in++));
    for (int k = 0; k < 30; ++k) {
      CHECK_EQ(*q[0], next_out++);
      q.pop_front();
    }
  }
  CHECK_EQ(q.size(), size_t(next_in - next_out));
  for (size_t i = 0; i < q.size(); ++i) CHECK_EQ(*q[i], next_out + int(i));
}

TEST_CASE(ring_queue_does_not_grow_in_steady_state) {
  bert::RingQueue<std::shared_ptr<int>> q;
  for (int i = 0; i < 100; ++i) q.push_back(std::make_shared<int>(i));
  const size_t cap = q.capacity();
  for (int i = 0; i < 10000; ++i) {
    q.pop_front();
    q.push_back(std::make_shared<int>(i));
  }
  CHECK_EQ(q.capacity(), cap);
}

TEST_CASE(ring_queue_erase_empty_in_prefix_keeps_order) {
  bert::RingQueue<std::shared_ptr<int>> q;
  // Start off-centre so the prefix wraps around the buffer end.
  for (int i = 0; i < 60; ++i) q.push_back(std::make_shared<int>(-1));
  for (int i = 0; i < 60; ++i) q.pop_front();
  for (int i = 0; i < 20; ++i) q.push_back(std::make_shared<int>(i));
  std::set<int> taken = {0, 3, 4, 9, 11};
  std::vector<std::shared_ptr<int>> out;
  for (size_t i = 0; i < 12; ++i) {
    if (taken.count(*q[i])) out.push_back(std::move(q[i]));
  }
  q.erase_empty_in_prefix(12);
  CHECK_EQ(q.size(), size_t(15));
  std::vector<int> rest;
  for (size_t i = 0; i < q.size(); ++i) rest.push_back(*q[i]);
  CHECK(rest == std::vector<int>({1, 2, 5, 6, 7, 8, 10, 12, 13, 14, 15, 16, 17, 18, 19}));
  std::vector<std::shared_ptr<int>> all;
  q.drain_into(all);
  CHECK(q.empty());
  CHECK_EQ(all.size(), size_t(15));
  CHECK_EQ(*all.front(), 1);
}

TEST_MAIN()
