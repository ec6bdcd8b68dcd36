#include "engine/sched/thread_budget.h"

#include <algorithm>

#include "engine/errors.h"

namespace bert {

ThreadBudget::ThreadBudget(int threads) : threads_(threads) {
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

int ThreadBudget::acquire(int flow, int want, uint64_t cost) {
  const int n = std::clamp(want, 1, threads_);
  std::unique_lock<std::mutex> lock(mu_);
  Flow& f = flow_locked(flow);
  const uint64_t start = std::max(vtime_, f.finish);
  f.finish = start + std::max<uint64_t>(cost, 1);
  const std::pair<uint64_t, uint64_t> tag{start, next_seq_++};
  waiting_.insert(tag);
  const auto turn = [&] { return *waiting_.begin() == tag && in_use_ + n <= threads_; };
  if (!turn()) {
    ++waited_;
    ++f.waiting;
    cv_.wait(lock, turn);
    --f.waiting;
  }
  waiting_.erase(waiting_.begin());
  vtime_ = std::max(vtime_, start);
  in_use_ += n;
  peak_ = std::max(peak_, in_use_);
  ++leases_;
  ++f.holding;
  f.last_grant = Clock::now();
  // The next in order may fit beside this lease: wake the waiters to check.
  if (!waiting_.empty()) cv_.notify_all();
  return n;
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
  return {threads_, in_use_, peak_, leases_, waited_, static_cast<int>(waiting_.size()), static_cast<int>(flows_.size())};
}

}  // namespace bert
