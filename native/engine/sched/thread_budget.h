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
// The lease split (`split`, --lease-split): a lease is not preempted, so without it a light model's
// batch waits for the whole batch that holds the threads when it asks (one capped batch of a flooded
// model: tens of ms on 2 CPUs). With it, leases are elastic (acquire_share): the head of the order
// is granted as soon as one thread is free, with min(want, free) threads; when none is free it asks
// the running lease holding the most threads to give one up, which that lease's holder does at its
// next safe point (checkpoint(): ModelRunner calls it before every operator the batch's thread
// runs, where the OpenMP team of the next operator can be smaller). So the light model's batch
// starts within one operator of the busy one's batch, on the thread it gave up, and the busy batch
// goes on with one thread fewer; at a later safe point, when no lease waits, it takes free threads
// back. The answers do not change: each operator gives the same bits on any team size (the packed
// GEMM sums each output in one order on any split; the other operators of a forward were checked
// on a whole one, one thread against two, in lease_split_test.cc), so a change between them cannot.
//
// Without a budget (the default: one model) nothing is leased and an engine uses its own
// --workers x --intra-op-threads.
//
// Threading: every method may be called from any thread, but a Share's checkpoint() only from the
// thread that holds it (the one that changes its `granted`).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace bert {

class ThreadBudget {
 public:
  using Clock = std::chrono::steady_clock;
  // How long after its last lease a flow still counts as active for others_active(): a model with
  // light traffic (a request every few hundred ms) is active the whole time, so the busy models run
  // short batches (ModelRunner::batch_token_cap) before its next request comes, not after.
  static constexpr std::chrono::milliseconds kActiveWindow{1000};

  // `threads` >= 1 (EngineError kInvalidArgument otherwise); `split`: ThreadLease leases are elastic
  // shares (the lease split, above).
  explicit ThreadBudget(int threads, bool split = false);
  bool split() const { return split_; }

  // A new flow (one per engine), and its end (its leases must be given back first).
  int join();
  void leave(int flow);

  // Blocks until `want` threads (at least 1, at most threads()) are free and no waiting lease is
  // before this one in the fair order; `cost`: the batch's tokens of work. Returns the count
  // granted, to be given back with release(). An unknown flow is refused (kInvalidArgument).
  int acquire(int flow, int want, uint64_t cost);
  void release(int flow, int granted);

  // An elastic lease (the lease split). `granted` changes only on its holder's thread, under the
  // budget's lock; `give` is what the budget asks it to give up at its next safe point.
  struct Share {
    int flow = -1;
    int want = 0;
    int granted = 0;
    std::atomic<int> give{0};
  };
  // Blocks until the share is the head of the fair order and at least one thread is free; holds
  // min(want, free) threads then. Same order, tags and refusals as acquire().
  void acquire_share(Share& share, int flow, int want, uint64_t cost);
  // At a safe point of the share's holder: gives up the threads asked for (keeping one), or, when no
  // lease waits, takes free threads back up to `want`. Returns the threads held from here on.
  int checkpoint(Share& share) {
    if (share.give.load(std::memory_order_relaxed) == 0 && share.granted >= share.want) return share.granted;
    return checkpoint_slow(share);
  }
  void release_share(Share& share);

  // Whether a flow other than `flow` holds or waits for a lease now, or was granted one within
  // kActiveWindow before `now`.
  bool others_active(int flow, Clock::time_point now) const;

  struct Stats {
    int threads = 0;
    int in_use = 0;
    int peak_in_use = 0;    // most threads leased at once since construction
    uint64_t leases = 0;    // leases granted
    uint64_t waited = 0;    // leases that had to wait for threads or for their turn
    int waiting = 0;        // leases waiting now
    int flows = 0;          // flows joined and not left
    uint64_t given_up = 0;  // threads that running leases gave up at a safe point (the lease split)
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
  // Enters the lease tagged for `flow` at `cost` in the fair order and waits until it is the head and
  // `fits()` holds; asks running shares for threads while it is the head (`need`: threads it lacks).
  template <class Fits>
  void wait_turn_locked(std::unique_lock<std::mutex>& lock, Flow& f, uint64_t cost, int need, Fits fits);
  void granted_locked(Flow& f, int n);
  // Asks running shares to give up threads until `need` would be free (counting what they were
  // asked already), the ones holding the most first; each keeps one.
  void ask_locked(int need);
  int checkpoint_slow(Share& share);

  const int threads_;
  const bool split_;
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
  uint64_t leases_ = 0, waited_ = 0, given_up_ = 0;
  std::vector<Share*> shares_;  // running shares
};

// A lease held for one scope (nothing leased when the budget is null); an elastic share when the
// budget splits leases, a fixed count otherwise.
class ThreadLease {
 public:
  ThreadLease(ThreadBudget* budget, int flow, int want, uint64_t cost) : budget_(budget), split_(budget && budget->split()) {
    if (split_) {
      budget->acquire_share(share_, flow, want, cost);
    } else {
      share_.flow = flow;
      share_.granted = budget ? budget->acquire(flow, want, cost) : want;
    }
  }
  ~ThreadLease() {
    if (split_) {
      budget_->release_share(share_);
    } else if (budget_) {
      budget_->release(share_.flow, share_.granted);
    }
  }
  ThreadLease(const ThreadLease&) = delete;
  ThreadLease& operator=(const ThreadLease&) = delete;
  // The threads held now.
  int granted() const { return share_.granted; }
  // At a safe point of the holder's thread (between operators): the threads to use from here on.
  int checkpoint() { return split_ ? budget_->checkpoint(share_) : share_.granted; }

 private:
  ThreadBudget* budget_;
  bool split_;
  ThreadBudget::Share share_;
};

}  // namespace bert
