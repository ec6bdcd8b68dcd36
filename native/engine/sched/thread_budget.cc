#include "engine/sched/thread_budget.h"

#include <algorithm>

#include "engine/errors.h"

namespace bert {

ThreadBudget::ThreadBudget(int threads) : threads_(threads) {
  if (threads < 1) throw EngineError(ErrorCode::kInvalidArgument, "a thread budget needs at least 1 thread");
}

int ThreadBudget::acquire(int want) {
  const int n = std::clamp(want, 1, threads_);
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t ticket = next_ticket_++;
  const bool wait = ticket != serving_ || in_use_ + n > threads_;
  if (wait) {
    ++waited_;
    cv_.wait(lock, [&] { return ticket == serving_ && in_use_ + n <= threads_; });
  }
  ++serving_;
  in_use_ += n;
  peak_ = std::max(peak_, in_use_);
  ++leases_;
  // The next ticket may fit beside this lease: wake the waiters to check.
  cv_.notify_all();
  return n;
}

void ThreadBudget::release(int granted) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_use_ -= granted;
  }
  cv_.notify_all();
}

ThreadBudget::Stats ThreadBudget::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {threads_, in_use_, peak_, leases_, waited_};
}

}  // namespace bert
