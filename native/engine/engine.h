// Engine: the whole native inference engine behind one object (no Node headers).
//
// Threading and ownership: load() runs on any thread (it blocks: reads files, warms up). submit(),
// cancel(), stats() may be called from any thread (the addon calls them from the JS thread).
// The engine owns: one prep thread (tokenize + validate + route to the scheduler) and the
// scheduler's workers; they report through the log sink of the thread that called load() (log.h). Every request submitted is completed
// exactly once through the sink given to load(), from an engine thread. close() stops and joins every thread; the sink is not called after
// close() returns.
#pragma once
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/model/model.h"
#include "engine/model/model_runner.h"
#include "engine/model/task_head.h"
#include "engine/model/task_registry.h"
#include "engine/sched/scheduler.h"
#include "engine/sched/thread_budget.h"
#include "engine/text/tokenizer.h"

namespace bert {

// As SchedulerOptions: no user-facing defaults here (the addon passes every option, whose defaults
// live in src/config.ts); an empty device or dtype and zero workers are refused by load().
struct EngineOptions {
  std::string model_dir;
  std::string device;  // "cpu", "cuda", "cuda:N"
  std::string dtype;   // "float32", "float16", "bfloat16"
  size_t workers = 0;
  int intra_op_threads = 0;  // 0: cores / workers
  SchedulerOptions scheduler;
  size_t max_tokens = 0;  // per request, specials included; 0: the model's maximum
  bool truncate = false;
  bool warmup = false;
  bool jit_optimize = false;  // see RunnerOptions::jit_optimize
  std::string pooling;        // embeddings: "" = from the model directory (else cls)
  // Time the model at two batch shapes during warm-up and set scheduler.batch_overhead_tokens from
  // them (the fixed cost of a batch in padded-token equivalents); off: use the given value.
  bool measure_batch_overhead = true;
  // Shared with other engines: every batch leases its intra-op threads from it (thread_budget.h).
  std::shared_ptr<ThreadBudget> thread_budget;
  // With a thread budget: padded tokens per batch while another engine on it is active (0: 4 x the
  // batch overhead; RunnerOptions::fair_batch_tokens).
  size_t fair_batch_tokens = 0;
};

struct EngineInfo {
  std::string model_dir, task, architecture, device, dtype, blas, torch_version;
  // The model's family (config.json's model_type, and its name) and what it implies for inputs:
  // whether token_type_ids carry anything, and where positions start (0, or padding_idx + 1).
  std::string model_type, family;
  bool token_types = true;
  int64_t position_offset = 0;
  // What malloc does with freed activations (host_memory.h).
  std::string malloc_policy;
  int64_t vocab_size = 0, hidden_size = 0, max_position_embeddings = 0;
  size_t max_tokens = 0;
  bool masked_fast_path = false;  // the head runs on the rows it reads only (fill-mask: mask rows)
  std::string head_path;          // how the head runs, in words (startup log, /info)
  std::string path_id;            // the same as a stable identifier (TaskHead::path_id)
  std::string forward_signature;  // forward's parameters as the engine fills them (Model::signature)
  std::string linear_kernel;      // how the linear layers run, in words (model/graph_opt.h)
  std::string precision;          // what runs in which dtype, in words (model/mixed_precision.h for bf16)
  std::string head_info_json;     // task facts (labels, pooling, ...) as JSON object members
  bool cpu_native_bf16 = false;   // AVX512-BF16 or AMX: --dtype bfloat16 is allowed (and fast) on cpu
  int forward_inputs = 2;
  int intra_op_threads = 1;
  size_t workers = 1;
  int thread_budget = 0;  // the shared budget's threads; 0: none
  double load_ms = 0, warmup_ms = 0;
  size_t batch_overhead_tokens = 0;     // what the scheduler uses (measured or given)
  size_t single_thread_max_tokens = 0;  // batches up to this many padded tokens run on one thread
  size_t fair_batch_tokens = 0;         // the batch cap while other engines on the budget are active; 0: none
};

struct EngineStats {
  SchedulerStats scheduler;
  size_t preparing = 0;             // submitted, not yet tokenized
  uint64_t non_finite_outputs = 0;  // requests failed because their answer held NaN or Inf
};

class Engine {
 public:
  static std::unique_ptr<Engine> load(const EngineOptions& options, CompletionSink& sink);
  ~Engine();  // close(false) if still open

  void submit(std::vector<RequestPtr> requests);
  void cancel(uint64_t id);
  EngineStats stats() const;
  void close(bool drain);

  const EngineInfo& info() const { return info_; }
  std::shared_ptr<const Tokenizer> tokenizer() const { return tokenizer_; }

 private:
  class Sink;
  Engine(const EngineOptions& options, CompletionSink& sink);
  void prep_loop();
  // Tokenizes and validates; returns false when the request was finished here (error or tokenize task).
  bool prepare(Request& r) const;
  struct WarmupTimes {
    double one_16_ms = 0;   // 1 x 16 tokens (0: the model is shorter)
    double many_32_ms = 0;  // many x 32 tokens
    size_t many = 1;
  };
  WarmupTimes warmup();
  // Runs `count` warm-up requests of `len` tokens as one batch on the calling thread; returns ms.
  double time_batch(size_t count, size_t len);
  // Fixed cost of one batch in padded-token equivalents, from timed runs; 0 when it cannot tell.
  size_t measure_batch_overhead(const WarmupTimes& w);
  // Sets (and returns) the runner's single-thread bound: the largest batch-1 length at which one
  // intra-op thread beats the whole team for a lone request.
  size_t calibrate_threads();

  EngineOptions options_;
  EngineInfo info_;
  std::unique_ptr<Sink> sink_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<TaskHead> head_;
  std::unique_ptr<ModelRunner> runner_;
  std::unique_ptr<Scheduler> scheduler_;

  mutable std::mutex prep_mu_;
  std::condition_variable prep_cv_;
  std::deque<RequestPtr> prep_queue_;
  bool prep_stop_ = false;
  bool prep_drain_ = false;
  bool closed_ = false;
  std::thread prep_thread_;
};

// The BLAS library libtorch resolved to in this process (from /proc/self/maps), e.g.
// "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3".
std::string loaded_blas_library();

}  // namespace bert
