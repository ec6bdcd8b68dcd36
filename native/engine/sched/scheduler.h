// The dynamic batcher: the one owner of the request queue.
//
// Threading and ownership: enqueue()/stats()/close() may be called from any thread. The Scheduler owns
// `workers` std::threads; each loops: take a batch (under the queue mutex), run it through the
// BatchRunner outside the mutex, hand the batch to the CompletionSink. Requests dropped at dequeue
// (cancelled, past deadline) and requests refused at enqueue are also completed through the sink.
// No exception escapes a worker: a runner that throws fails the requests of that batch only.
// Every request given to enqueue() is completed through the sink exactly once. The sink must not call
// close() (close joins the workers, and the sink runs on them). Invalid options (zero workers,
// max_batch_requests or max_batch_tokens) throw EngineError(kInvalidArgument) from the constructor.
//
// Batching rules (see docs/batching.md):
//  - a batch holds at most max_batch_requests requests and at most max_batch_tokens PADDED tokens
//    (longest request in the batch x number of requests);
//  - a request longer than max_batch_tokens by itself is refused at enqueue (kInputTooLong);
//  - one deadline per batch: max_delay from the arrival of the oldest queued request. A free worker
//    starts at once when the batch is full, or when no other worker is busy (the model is idle: never
//    wait), or when that deadline has passed; otherwise it waits for more requests until the deadline;
//  - within a window of queued requests (the oldest first) requests are grouped by length
//    (sort_by_length) so requests of similar length share a batch and the estimated cost of the
//    window (batch overhead + padded tokens) is least; the oldest request is always in the next
//    batch, so nothing starves; the exact rule is in batch_picker.h;
//  - cancelled requests and requests whose own deadline has passed are dropped before they run and
//    completed with kCancelled / kDeadlineExceeded;
//  - the runner may cap the padded tokens of the next batch below max_batch_tokens
//    (BatchRunner::batch_token_cap: while other models share the thread budget); a capped batch
//    counts as full (it starts at once) and a request longer than the cap still runs, alone.
#pragma once
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/sched/batch_picker.h"
#include "engine/sched/request.h"
#include "engine/sched/ring_queue.h"

namespace bert {

// What users choose has no default here: it is set by the caller (the addon passes every option,
// whose defaults live in src/config.ts; C++ tests and benches set their own). Zero values are
// refused (workers, max_batch_requests, max_batch_tokens) or mean "none" (max_delay).
struct SchedulerOptions {
  size_t workers = 0;
  size_t max_batch_requests = 0;
  size_t max_batch_tokens = 0;  // padded tokens per batch
  std::chrono::microseconds max_delay{0};
  bool sort_by_length = false;
  size_t sort_window = 256;  // how many of the oldest queued requests are considered for one batch
  // Fixed cost of one batch in padded-token equivalents: how the length-sorted picker weighs one
  // more batch against padding (batch_picker.h). The Engine measures it for its model at warm-up.
  size_t batch_overhead_tokens = 64;
};

// Runs one batch on a worker thread. Implementations fill each request's json (or fail() it).
// Throwing fails every request of the batch that is not yet finished with kInferenceFailed.
class BatchRunner {
 public:
  virtual ~BatchRunner() = default;
  // Called once on each worker thread before its first batch (per-thread settings: inference mode,
  // intra-op threads, CUDA stream).
  virtual void on_worker_start(size_t /*worker_index*/) {}
  virtual void run(size_t worker_index, std::vector<RequestPtr>& batch) = 0;
  // The padded tokens the next batch may hold now, below max_batch_tokens (0: no cap). Asked each
  // time a batch is picked, under the scheduler's mutex (so it must not call into the scheduler).
  virtual size_t batch_token_cap() const { return 0; }
};

struct SchedulerStats {
  size_t queue_depth = 0;
  size_t in_flight = 0;  // requests inside batches being run now
  uint64_t batches_run = 0;
  uint64_t requests_run = 0;   // requests that reached the runner
  uint64_t real_tokens = 0;    // sum of request lengths over all batches run
  uint64_t padded_tokens = 0;  // sum of (batch max length x batch size)
  uint64_t dropped_cancelled = 0;
  uint64_t dropped_expired = 0;
  uint64_t refused_too_long = 0;
  // How long the longest-running batch has been running now (0 when every worker is idle): a model
  // that hangs shows here while its requests time out (the server's /ready reads it).
  double running_batch_ms = 0;
  // Per-batch histograms for /metrics: counts per bucket (not cumulative), the last one past the
  // largest bound. Sums are requests_run and padded_tokens.
  static constexpr std::array<size_t, 11> kBatchSizeBounds{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  static constexpr std::array<size_t, 11> kBatchTokenBounds{16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072};
  std::array<uint64_t, kBatchSizeBounds.size() + 1> batch_size_counts{};
  std::array<uint64_t, kBatchTokenBounds.size() + 1> batch_token_counts{};  // padded tokens per batch
  double mean_batch_size() const { return batches_run ? double(requests_run) / batches_run : 0.0; }
};

class Scheduler {
 public:
  Scheduler(SchedulerOptions options, BatchRunner& runner, CompletionSink& sink);
  ~Scheduler();  // close(false) if still open
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void start();  // spawns the workers
  // Requests must be prepared (encoding set). Sets `queued`. After close(), requests are failed with
  // kClosed through the sink.
  void enqueue(std::vector<RequestPtr> requests);
  // drain=true: run everything already queued, then stop. drain=false: fail queued requests with
  // kClosed. Either way, batches already running finish; all workers are joined before it returns.
  void close(bool drain);
  SchedulerStats stats() const;
  const SchedulerOptions& options() const { return options_; }

 private:
  void worker_loop(size_t index);
  // Under mu_: pick the next batch, dropping dead requests into `dropped`. Waits (on cv_) while there
  // is nothing to start. Returns false when the worker should exit (closing and nothing queued); may
  // return true with an empty batch so that `dropped` is completed before waiting.
  bool take_batch(size_t index, std::unique_lock<std::mutex>& lock, std::vector<RequestPtr>& batch, std::vector<RequestPtr>& dropped);
  // Under mu_: drops cancelled/expired requests from the front of the queue until the picker's window
  // holds live requests only; fills lengths_. Returns the number of live requests in the window.
  size_t scan_window(Clock::time_point now, std::vector<RequestPtr>& dropped);
  // Outside mu_: runs the batch, catching everything the runner throws; sets the timings.
  void run_batch(size_t index, std::vector<RequestPtr>& batch);
  // Marks worker `index` idle again after its batch of `n` requests ran.
  void finish_batch(size_t index, size_t n);

  const SchedulerOptions options_;
  BatchRunner& runner_;
  CompletionSink& sink_;

  mutable std::mutex mu_;  // guards everything below except threads_
  std::condition_variable cv_;
  RingQueue<RequestPtr> queue_;
  BatchPicker picker_;
  std::vector<size_t> lengths_;                   // scratch: window lengths, oldest first
  std::vector<size_t> chosen_;                    // scratch: window indices picked
  size_t busy_workers_ = 0;                       // workers between taking a batch and finishing it
  std::vector<Clock::time_point> batch_started_;  // per worker; time_point::max() when idle
  size_t waiting_workers_ = 0;                    // workers blocked on cv_ (notify only when > 0)
  bool started_ = false;
  bool closing_ = false;
  SchedulerStats stats_;

  std::mutex threads_mu_;  // serializes start() and the joining part of close()
  std::vector<std::thread> threads_;
};

}  // namespace bert
