#include "engine/sched/thread_budget.h"

#include <algorithm>

#include "engine/errors.h"

namespace bert {

ThreadBudget::ThreadBudget(int threads, bool split) : threads_(threads), split_(split) {
  if (threads < 1) throw EngineError(ErrorCode::kInvalidArgument, "a thread budget needs at least 1 thread");
}

int ThreadBudget::join() {
  std::lock_guard<std::mutex> lock(mu_);
  const int id = next_flow_++;
  flows_[id].finish = vtime_;
  return id;
}

void ThreadBudget::leave(int flow) {
  std::lock_guard<std::mutex> lock(mu_);
  flows_.erase(flow);
}

ThreadBudget::Flow& ThreadBudget::flow_locked(int flow) {
  const auto it = flows_.find(flow);
  if (it == flows_.end()) throw EngineError(ErrorCode::kInvalidArgument, "thread budget: unknown flow " + std::to_string(flow));
  return it->second;
}

template <class Fits>
void ThreadBudget::wait_turn_locked(std::unique_lock<std::mutex>& lock, Flow& f, uint64_t cost, int need, Fits fits) {
  const uint64_t start = std::max(vtime_, f.finish);
  f.finish = start + std::max<uint64_t>(cost, 1);
  const std::pair<uint64_t, uint64_t> tag{start, next_seq_++};
  waiting_.insert(tag);
  bool waited = false;
  while (!(*waiting_.begin() == tag && fits())) {
    // Only the head asks: it is the next to be granted whatever frees threads.
    if (*waiting_.begin() == tag) ask_locked(need);
    if (!waited) {
      waited = true;
      ++waited_;
      ++f.waiting;
    }
    cv_.wait(lock);
  }
  if (waited) --f.waiting;
  waiting_.erase(waiting_.begin());
  vtime_ = std::max(vtime_, start);
}

void ThreadBudget::granted_locked(Flow& f, int n) {
  in_use_ += n;
  peak_ = std::max(peak_, in_use_);
  ++leases_;
  ++f.holding;
  f.last_grant = Clock::now();
  // The next in order may fit beside this lease: wake the waiters to check.
  if (!waiting_.empty()) cv_.notify_all();
}

void ThreadBudget::ask_locked(int need) {
  int short_by = need - (threads_ - in_use_);
  for (const Share* s : shares_) short_by -= s->give.load(std::memory_order_relaxed);
  while (short_by > 0) {
    Share* most = nullptr;
    int spare = 0;
    for (Share* s : shares_) {
      const int left = s->granted - 1 - s->give.load(std::memory_order_relaxed);
      if (left > spare) most = s, spare = left;
    }
    if (!most) return;  // every running lease is down to one thread: wait for one to end
    most->give.fetch_add(1, std::memory_order_relaxed);
    --short_by;
  }
}

int ThreadBudget::acquire(int flow, int want, uint64_t cost) {
  const int n = std::clamp(want, 1, threads_);
  std::unique_lock<std::mutex> lock(mu_);
  Flow& f = flow_locked(flow);
  wait_turn_locked(lock, f, cost, n, [&] { return in_use_ + n <= threads_; });
  granted_locked(f, n);
  return n;
}

void ThreadBudget::acquire_share(Share& share, int flow, int want, uint64_t cost) {
  share.flow = flow;
  share.want = std::clamp(want, 1, threads_);
  share.give.store(0, std::memory_order_relaxed);
  std::unique_lock<std::mutex> lock(mu_);
  Flow& f = flow_locked(flow);
  wait_turn_locked(lock, f, cost, 1, [&] { return in_use_ < threads_; });
  share.granted = std::min(share.want, threads_ - in_use_);
  shares_.push_back(&share);
  granted_locked(f, share.granted);
}

int ThreadBudget::checkpoint_slow(Share& share) {
  std::lock_guard<std::mutex> lock(mu_);
  const int give = std::min(share.give.exchange(0, std::memory_order_relaxed), share.granted - 1);
  if (give > 0) {
    share.granted -= give;
    in_use_ -= give;
    given_up_ += static_cast<uint64_t>(give);
    cv_.notify_all();
  } else if (share.granted < share.want && waiting_.empty() && in_use_ < threads_) {
    const int take = std::min(share.want - share.granted, threads_ - in_use_);
    share.granted += take;
    in_use_ += take;
    peak_ = std::max(peak_, in_use_);
  }
  return share.granted;
}

void ThreadBudget::release(int flow, int granted) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_ -= granted;
    const auto it = flows_.find(flow);
    if (it != flows_.end()) --it->second.holding;
    if (waiting_.empty()) return;
  }
  cv_.notify_all();
}

void ThreadBudget::release_share(Share& share) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shares_.erase(std::find(shares_.begin(), shares_.end(), &share));
  }
  release(share.flow, share.granted);
}

bool ThreadBudget::others_active(int flow, Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, f] : flows_) {
    if (id == flow) continue;
    if (f.holding > 0 || f.waiting > 0 || (f.last_grant != Clock::time_point{} && now - f.last_grant < kActiveWindow)) return true;
  }
  return false;
}

ThreadBudget::Stats ThreadBudget::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {threads_, in_use_, peak_, leases_, waited_, static_cast<int>(waiting_.size()), static_cast<int>(flows_.size()), given_up_};
}

}  // namespace bert
