#include "engine/sched/batch_picker.h"

#include <algorithm>

namespace bert {

BatchPicker::BatchPicker(BatchLimits limits) : limits_(limits) {
  limits_.max_requests = std::max<size_t>(limits_.max_requests, 1);
  window_ = limits_.sort_by_length ? std::max(limits_.sort_window, limits_.max_requests)
                                   : limits_.max_requests;
  order_.reserve(window_);
}

BatchPick BatchPicker::pick(const std::vector<size_t>& lengths, std::vector<size_t>& chosen) {
  chosen.clear();
  const size_t n = std::min(lengths.size(), window_);
  if (n == 0) return {};
  BatchPick p =
      limits_.sort_by_length ? pick_sorted(lengths, n, chosen) : pick_fifo(lengths, n, chosen);
  // Nothing more can join when even a request no longer than the current longest would break the
  // budget.
  if (p.count >= limits_.max_requests || uint64_t(p.max_len) * (p.count + 1) > limits_.max_tokens) {
    p.full = true;
  }
  return p;
}

BatchPick BatchPicker::pick_fifo(const std::vector<size_t>& lengths, size_t n,
                                 std::vector<size_t>& chosen) const {
  BatchPick p;
  for (size_t i = 0; i < n && p.count < limits_.max_requests; ++i) {
    const size_t m = std::max(p.max_len, lengths[i]);
    if (i > 0 && uint64_t(m) * (p.count + 1) > limits_.max_tokens) {
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

BatchPick BatchPicker::pick_sorted(const std::vector<size_t>& lengths, size_t n,
                                   std::vector<size_t>& chosen) {
  order_.resize(n);
  for (size_t i = 0; i < n; ++i) order_[i] = static_cast<uint32_t>(i);
  // By length; equal lengths ordered so that walking outwards from the oldest meets the older one
  // first (descending age below the oldest's length, ascending from it on). The oldest (index 0)
  // thus sorts first among its equals: every shorter request is below it, every other one above.
  const size_t oldest_len = lengths[0];
  std::sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) {
    if (lengths[a] != lengths[b]) return lengths[a] < lengths[b];
    return lengths[a] < oldest_len ? a > b : a < b;
  });
  const size_t pos = size_t(std::find(order_.begin(), order_.end(), 0u) - order_.begin());

  BatchPick p;
  chosen.push_back(0);
  p.count = 1;
  p.max_len = lengths[0];
  p.real_tokens = lengths[0];
  const uint64_t budget = limits_.max_tokens;
  size_t lo = pos;      // next shorter candidate: order_[lo - 1]
  size_t hi = pos + 1;  // next longer candidate: order_[hi]
  bool longer_open = true;
  while (p.count < limits_.max_requests) {
    const bool has_shorter = lo > 0;
    bool has_longer = longer_open && hi < n;
    if (has_longer && uint64_t(lengths[order_[hi]]) * (p.count + 1) > budget) {
      longer_open = false;  // this one and every longer one break the budget
      has_longer = false;
      p.full = true;
    }
    if (has_shorter && uint64_t(p.max_len) * (p.count + 1) > budget) {
      p.full = true;  // no addition of any length fits
      break;
    }
    if (!has_shorter && !has_longer) break;

    bool take_shorter = has_shorter;
    if (has_shorter && has_longer) {
      const uint32_t s = order_[lo - 1];
      const uint32_t l = order_[hi];
      const uint64_t pad_shorter = p.max_len - lengths[s];
      const uint64_t pad_longer = uint64_t(lengths[l] - p.max_len) * p.count;
      take_shorter = pad_shorter < pad_longer || (pad_shorter == pad_longer && s < l);
    }
    const uint32_t idx = take_shorter ? order_[--lo] : order_[hi++];
    chosen.push_back(idx);
    ++p.count;
    p.real_tokens += lengths[idx];
    p.max_len = std::max(p.max_len, lengths[idx]);
  }
  std::sort(chosen.begin(), chosen.end());
  return p;
}

}  // namespace bert
