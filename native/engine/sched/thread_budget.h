// ThreadBudget: one count of CPU threads that several engines' workers share, so that models served
// by one process (or embedded in one program) never run more intra-op threads at once than the
// budget, however many models are busy.
//
// A worker leases the intra-op threads a batch will use before it runs it (ModelRunner::run) and
// gives them back after; a lease larger than the budget is cut to the budget. Leases are granted in
// the order they were asked for (a ticket queue), so a model that runs large batches back to back
// cannot keep a model that asks for fewer threads waiting forever: each waiting batch goes next in
// turn. Without a budget (the default: one model) nothing is leased and an engine uses its own
// --workers x --intra-op-threads.
//
// Threading: every method may be called from any thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace bert {

class ThreadBudget {
 public:
  // `threads` >= 1 (EngineError kInvalidArgument otherwise).
  explicit ThreadBudget(int threads);

  // Blocks until `want` threads (at least 1, at most threads()) are free and it is this caller's
  // turn; returns the count granted, to be given back with release().
  int acquire(int want);
  void release(int granted);

  struct Stats {
    int threads = 0;
    int in_use = 0;
    int peak_in_use = 0;  // most threads leased at once since construction
    uint64_t leases = 0;  // leases granted
    uint64_t waited = 0;  // leases that had to wait for threads or for their turn
  };
  Stats stats() const;
  int threads() const { return threads_; }

 private:
  const int threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int in_use_ = 0;
  int peak_ = 0;
  uint64_t next_ticket_ = 0;  // the next ticket to hand out
  uint64_t serving_ = 0;      // the ticket whose turn it is
  uint64_t leases_ = 0, waited_ = 0;
};

// A lease held for one scope (nothing leased when the budget is null).
class ThreadLease {
 public:
  ThreadLease(ThreadBudget* budget, int want) : budget_(budget), granted_(budget ? budget->acquire(want) : want) {}
  ~ThreadLease() {
    if (budget_) budget_->release(granted_);
  }
  ThreadLease(const ThreadLease&) = delete;
  ThreadLease& operator=(const ThreadLease&) = delete;
  int granted() const { return granted_; }

 private:
  ThreadBudget* budget_;
  int granted_;
};

}  // namespace bert
