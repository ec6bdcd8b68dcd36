#include "engine/sched/batch_picker.h"

#include <algorithm>

namespace bert {

BatchPicker::BatchPicker(BatchLimits limits) : limits_(limits) {
  limits_.max_requests = std::max<size_t>(limits_.max_requests, 1);
  window_ = limits_.sort_by_length ? std::max(limits_.sort_window, limits_.max_requests) : limits_.max_requests;
  order_.reserve(window_);
}

BatchPick BatchPicker::pick(const std::vector<size_t>& lengths, std::vector<size_t>& chosen, size_t token_cap) {
  chosen.clear();
  const size_t n = std::min(lengths.size(), window_);
  if (n == 0) return {};
  const size_t max_tokens = token_cap > 0 ? std::min(token_cap, limits_.max_tokens) : limits_.max_tokens;
  BatchPick p = limits_.sort_by_length ? pick_sorted(lengths, n, max_tokens, chosen) : pick_fifo(lengths, n, max_tokens, chosen);
  // Nothing more can join when even a request no longer than the current longest would break the
  // budget.
  if (p.count >= limits_.max_requests || uint64_t(p.max_len) * (p.count + 1) > max_tokens) {
    p.full = true;
  }
  return p;
}

BatchPick BatchPicker::pick_fifo(const std::vector<size_t>& lengths, size_t n, size_t max_tokens, std::vector<size_t>& chosen) const {
  BatchPick p;
  for (size_t i = 0; i < n && p.count < limits_.max_requests; ++i) {
    const size_t m = std::max(p.max_len, lengths[i]);
    if (i > 0 && uint64_t(m) * (p.count + 1) > max_tokens) {
      p.full = true;  // a queued request does not fit: no overtaking, the batch ends here
      break;
    }
    chosen.push_back(i);
    p.max_len = m;
    p.real_tokens += lengths[i];
    ++p.count;
  }
  return p;
}

BatchPick BatchPicker::pick_sorted(const std::vector<size_t>& lengths, size_t n, size_t max_tokens, std::vector<size_t>& chosen) {
  order_.resize(n);
  for (size_t i = 0; i < n; ++i) order_[i] = static_cast<uint32_t>(i);
  // By length, the older first among equals: a run cut between equal lengths leaves the younger ones
  // for later, and the oldest request sorts first among its equals.
  std::sort(order_.begin(), order_.end(),
            [&](uint32_t a, uint32_t b) { return lengths[a] != lengths[b] ? lengths[a] < lengths[b] : a < b; });

  // best_[i] = least cost of running order_[i, n) as contiguous runs; cut_[i] = end of its first run.
  // A run [i, j) is padded to lengths[order_[j - 1]] (sorted ascending). Ties prefer the longer first
  // run: fewer batches, and among equal lengths the older requests go in the earlier, fuller run.
  const uint64_t overhead = limits_.batch_overhead_tokens;
  best_.assign(n + 1, 0);
  cut_.assign(n + 1, static_cast<uint32_t>(n));
  for (size_t i = n; i-- > 0;) {
    uint64_t best = UINT64_MAX;
    const size_t max_j = std::min(n, i + limits_.max_requests);
    for (size_t j = i + 1; j <= max_j; ++j) {
      const uint64_t padded = uint64_t(lengths[order_[j - 1]]) * (j - i);
      // A lone request is always allowed (the scheduler refuses over-budget ones at enqueue).
      if (j > i + 1 && padded > max_tokens) break;
      const uint64_t cost = overhead + padded + best_[j];
      if (cost <= best) {
        best = cost;
        cut_[i] = static_cast<uint32_t>(j);
      }
    }
    best_[i] = best;
  }

  // The run that holds the oldest request (index 0 of the window).
  const size_t pos = size_t(std::find(order_.begin(), order_.end(), 0u) - order_.begin());
  size_t begin = 0;
  while (cut_[begin] <= pos) begin = cut_[begin];
  const size_t end = cut_[begin];

  BatchPick p;
  for (size_t k = begin; k < end; ++k) {
    const uint32_t idx = order_[k];
    chosen.push_back(idx);
    p.real_tokens += lengths[idx];
    p.max_len = std::max(p.max_len, lengths[idx]);
  }
  p.count = end - begin;
  p.full = p.count < n;  // requests were left for other batches: waiting would not change this one
  std::sort(chosen.begin(), chosen.end());
  return p;
}

}  // namespace bert
