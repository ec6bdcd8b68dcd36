// ThreadBudget: one count of CPU threads that several engines' workers share, so that models served
// by one process (or embedded in one program) never run more intra-op threads at once than the
// budget, however many models are busy; and shared fairly, by tokens of work, so that a flood on one
// model cannot starve another.
//
// Each engine joins the budget as one flow (join(); leave() when it closes). A worker leases the
// intra-op threads a batch will use before it runs it (ModelRunner::run) and gives them back after;
// a lease larger than the budget is cut to the budget.
//
// Order: start-time fair queueing (Goyal, Vin & Cheng, 1996) over the flows, with the batch's tokens
// of work (padded tokens + the model's per-batch overhead in tokens) as its size. A lease asked by
// flow f gets the start tag S = max(V, F_f), and f's finish tag becomes F_f = S + cost; V, the
// virtual time, is the start tag of the lease granted last. Waiting leases are granted in order of
// start tag (then of asking), each when its threads are free: a model that consumed more tokens
// waits behind one that consumed fewer, and a model idle for a while restarts at V, with no credit
// saved up. Nothing starves: a waiting lease's tag is fixed, and every grant to others moves their
// tags past it. The head of the order is never overtaken by a smaller lease that would fit beside
// the running ones (a large lease would wait for ever behind a stream of small ones).
//
// Without a budget (the default: one model) nothing is leased and an engine uses its own
// --workers x --intra-op-threads.
//
// Threading: every method may be called from any thread.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <utility>

namespace bert {

class ThreadBudget {
 public:
  using Clock = std::chrono::steady_clock;
  // How long after its last lease a flow still counts as active for others_active(): a model with
  // light traffic (a request every few hundred ms) is active the whole time, so the busy models run
  // short batches (ModelRunner::batch_token_cap) before its next request comes, not after.
  static constexpr std::chrono::milliseconds kActiveWindow{1000};

  // `threads` >= 1 (EngineError kInvalidArgument otherwise).
  explicit ThreadBudget(int threads);

  // A new flow (one per engine), and its end (its leases must be given back first).
  int join();
  void leave(int flow);

  // Blocks until `want` threads (at least 1, at most threads()) are free and no waiting lease is
  // before this one in the fair order; `cost`: the batch's tokens of work. Returns the count
  // granted, to be given back with release(). An unknown flow is refused (kInvalidArgument).
  int acquire(int flow, int want, uint64_t cost);
  void release(int flow, int granted);

  // Whether a flow other than `flow` holds or waits for a lease now, or was granted one within
  // kActiveWindow before `now`.
  bool others_active(int flow, Clock::time_point now) const;

  struct Stats {
    int threads = 0;
    int in_use = 0;
    int peak_in_use = 0;  // most threads leased at once since construction
    uint64_t leases = 0;  // leases granted
    uint64_t waited = 0;  // leases that had to wait for threads or for their turn
    int waiting = 0;      // leases waiting now
    int flows = 0;        // flows joined and not left
  };
  Stats stats() const;
  int threads() const { return threads_; }

 private:
  struct Flow {
    uint64_t finish = 0;  // finish tag of its last lease
    int holding = 0;      // leases held now
    int waiting = 0;      // leases waiting now
    Clock::time_point last_grant{};
  };
  Flow& flow_locked(int flow);

  const int threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, Flow> flows_;
  int next_flow_ = 0;
  // Waiting leases by (start tag, order of asking): begin() is the next to be granted.
  std::set<std::pair<uint64_t, uint64_t>> waiting_;
  uint64_t next_seq_ = 0;
  uint64_t vtime_ = 0;
  int in_use_ = 0;
  int peak_ = 0;
  uint64_t leases_ = 0, waited_ = 0;
};

// A lease held for one scope (nothing leased when the budget is null).
class ThreadLease {
 public:
  ThreadLease(ThreadBudget* budget, int flow, int want, uint64_t cost)
      : budget_(budget), flow_(flow), granted_(budget ? budget->acquire(flow, want, cost) : want) {}
  ~ThreadLease() {
    if (budget_) budget_->release(flow_, granted_);
  }
  ThreadLease(const ThreadLease&) = delete;
  ThreadLease& operator=(const ThreadLease&) = delete;
  int granted() const { return granted_; }

 private:
  ThreadBudget* budget_;
  int flow_;
  int granted_;
};

}  // namespace bert
