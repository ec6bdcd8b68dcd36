// ModelRunner: the BatchRunner that pads a batch, runs the model and hands the rows to the task head.
//
// Threading: one instance serves every worker thread; run() is called concurrently with distinct
// worker indices. Per-thread state (inference mode, intra-op threads, JIT settings, CUDA stream) is
// set in on_worker_start / inside run on the calling thread, because libtorch keeps it per thread
// (docs/traps.md#14, #16).
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/model/model.h"
#include "engine/model/task_head.h"
#include "engine/sched/scheduler.h"
#include "engine/sched/thread_budget.h"

namespace bert {

struct RunnerOptions {
  int intra_op_threads = 1;
  size_t workers = 1;
  // TorchScript's optimizing executor re-specializes per new input shape (seconds each); with
  // optimization off every shape runs the same plan. See docs/performance.md for the measurement.
  bool jit_optimize = false;
  // Shared with other engines (thread_budget.h): each batch a worker runs leases its intra-op
  // threads from it first, as this engine's flow. Null: none (this engine's threads are its own).
  std::shared_ptr<ThreadBudget> budget;
  // Padded tokens a batch may hold while another engine on the budget is active (0: 4 x the batch
  // overhead in tokens; see batch_token_cap()).
  size_t fair_batch_tokens = 0;
};

class ModelRunner : public BatchRunner {
 public:
  ModelRunner(Model& model, const TaskHead& head, int64_t pad_id, RunnerOptions options);
  ~ModelRunner() override;
  // Applies the per-thread settings to the calling thread (also used by the loading thread for warm-up).
  void configure_thread() const;
  void on_worker_start(size_t worker_index) override;
  void run(size_t worker_index, std::vector<RequestPtr>& batch) override;
  // Runs a batch on the calling thread without the scheduler (warm-up, benchmarks).
  // Warm-up runs before the engine serves and leases nothing.
  void run_direct(std::vector<RequestPtr>& batch) { run_on_stream(batch, nullptr); }
  // Batches of at most `tokens` padded tokens run on one intra-op thread (0: never). Below some size
  // an OpenMP team costs more than it saves: every operator wakes the other threads and waits for
  // them, and a lone request finds them asleep (Engine::calibrate_threads measures where). Set before
  // the workers start.
  void set_single_thread_max_tokens(size_t tokens) { single_thread_max_tokens_ = tokens; }
  size_t single_thread_max_tokens() const { return single_thread_max_tokens_; }
  // The intra-op threads a batch of `padded_tokens` gets; applied to the calling thread per batch.
  int threads_for(size_t padded_tokens) const;
  // The batch's fixed cost in padded-token equivalents (Engine::measure_batch_overhead): part of a
  // lease's tokens of work, and the unit of the default fair batch cap. Set before the workers start.
  void set_batch_overhead_tokens(size_t tokens) { batch_overhead_tokens_ = tokens; }
  // While another engine on the thread budget is active (ThreadBudget::others_active), the padded
  // tokens this engine's next batch may hold; 0 otherwise (no cap beyond max_batch_tokens). Why:
  // a batch holds its threads until it ends, so the batch a busy model is running is what another
  // model's request waits for; the cap bounds that wait. Its default, 4 x the batch overhead, keeps
  // a capped batch's cost per token within 1.25x of an unbounded one's by the cost model
  // (overhead + tokens), so the busy model keeps about 0.8 of its throughput.
  size_t batch_token_cap() const override;
  // Requests failed with kNonFiniteOutput since start (for /metrics).
  uint64_t non_finite_outputs() const { return non_finite_.load(std::memory_order_relaxed); }

 private:
  void run_on_stream(std::vector<RequestPtr>& batch, ThreadBudget* budget);
  void run_isolating(std::vector<RequestPtr>& batch);
  // After a batch: requests whose answers held NaN or Inf are run again alone when several failed
  // (an op that mixes rows, as int8 dynamic quantization's per-batch scale, spreads one row's NaN to
  // its batch-mates), then counted and logged (at most one line per 10 s).
  void settle_non_finite(std::vector<RequestPtr>& batch);
  PaddedBatch pad(const std::vector<RequestPtr>& batch) const;

  Model& model_;
  const TaskHead& head_;
  int64_t pad_id_;
  RunnerOptions options_;
  int flow_ = -1;  // this engine's flow on options_.budget (joined at construction, left at destruction)
  size_t single_thread_max_tokens_ = 0;
  size_t batch_overhead_tokens_ = 0;
  std::atomic<uint64_t> non_finite_{0};
  std::mutex log_mu_;
  Clock::time_point last_log_{};
  uint64_t unlogged_ = 0;
  struct Streams;
  std::unique_ptr<Streams> streams_;  // CUDA: one stream per worker
};

}  // namespace bert
