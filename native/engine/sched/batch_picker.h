// BatchPicker: which of the queued requests form the next batch. Pure logic on lengths (no threads, no
// clock, no requests), so the rule is unit-tested on its own; the Scheduler feeds it the token counts
// of the oldest live queued requests (the window) and takes what it chooses.
//
// The rule (also in docs/batching.md):
//  - The window is the oldest W live queued requests, oldest first: W = max_batch_requests without
//    sort_by_length, W = max(sort_window, max_batch_requests) with it.
//  - The oldest request (index 0) is always taken, so nothing starves. A batch is bounded by
//    max_batch_requests and by the PADDED budget: longest length in the batch x count <= max_tokens.
//  - FIFO (sort_by_length off): then the next requests in queue order while both bounds hold; the
//    first request that does not fit ends the batch (no overtaking).
//  - Length-sorted: the window is ordered by (length, age) and split into contiguous runs of that
//    order (batches of similar length) so that the estimated cost of running the whole window is
//    least; the run holding the oldest request is the next batch. The cost of a batch is
//      batch_overhead_tokens + longest x count
//    (per-batch fixed cost expressed in tokens, plus padded tokens), a cost model that fits the
//    measured forward time of the models we serve (docs/batching.md); the engine measures
//    batch_overhead_tokens for its model at warm-up. An exact dynamic program over the sorted window
//    finds the split: O(window x max_batch_requests) steps, 8k for the defaults. A long outlier is
//    thus run alone when padding everyone to it would cost more than a batch of its own, and similar
//    requests share a batch even when a shorter queued one could also have joined.
//  - `full` tells the scheduler not to wait for more requests: the count bound is reached, or
//    queued requests were left for other batches (for the budget, or as another length group), or
//    not even a request as short as M would fit.
// Requests not chosen are left where they are by the caller (queue order kept: FIFO among them).
//
// Threading: none; one instance is used under the scheduler's mutex (it keeps scratch space so that
// picking a batch does not allocate once warm).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bert {

// Every field is set by whoever makes a picker (the scheduler's limits_of() from SchedulerOptions,
// whose user-facing values come from src/config.ts; tests and benches their own): no defaults here,
// so the 32 of --max-batch-requests and the 16384 of --max-batch-tokens are written only there.
struct BatchLimits {
  size_t max_requests = 0;
  size_t max_tokens = 0;  // padded tokens
  bool sort_by_length = false;
  size_t sort_window = 0;
  // Fixed cost of running a batch, in padded-token equivalents (see the rule above).
  size_t batch_overhead_tokens = 0;
};

struct BatchPick {
  size_t count = 0;
  size_t max_len = 0;
  uint64_t real_tokens = 0;
  bool full = false;
  uint64_t padded_tokens() const { return uint64_t(max_len) * count; }
};

class BatchPicker {
 public:
  explicit BatchPicker(BatchLimits limits);

  // How many of the oldest live queued requests pick() wants to see.
  size_t window() const { return window_; }
  const BatchLimits& limits() const { return limits_; }

  // `lengths`: token counts of the window, oldest first (only the first window() are looked at).
  // Writes the chosen indices into `chosen`, ascending (= queue order). The oldest is taken even if
  // it alone breaks the budget (the scheduler refuses such requests at enqueue). `token_cap`, when
  // non-zero and below max_tokens, is the padded budget of this pick instead (the oldest still runs,
  // alone if it is longer).
  BatchPick pick(const std::vector<size_t>& lengths, std::vector<size_t>& chosen, size_t token_cap = 0);

 private:
  BatchPick pick_fifo(const std::vector<size_t>& lengths, size_t n, size_t max_tokens, std::vector<size_t>& chosen) const;
  BatchPick pick_sorted(const std::vector<size_t>& lengths, size_t n, size_t max_tokens, std::vector<size_t>& chosen);

  BatchLimits limits_;
  size_t window_;
  // Scratch, so that picking does not allocate once warm.
  std::vector<uint32_t> order_;  // window indices sorted by (length, age)
  std::vector<uint64_t> best_;   // best_[i]: least cost of order_[i, n)
  std::vector<uint32_t> cut_;    // cut_[i]: where the first run of that best split ends
};

}  // namespace bert
