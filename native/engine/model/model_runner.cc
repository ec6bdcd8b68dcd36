#include "engine/model/model_runner.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "engine/log.h"

#if BERT_SERVE_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace bert {

struct ModelRunner::Streams {
#if BERT_SERVE_CUDA
  std::vector<c10::optional<c10::cuda::CUDAStream>> per_worker;
#endif
};

ModelRunner::ModelRunner(Model& model, const TaskHead& head, int64_t pad_id, RunnerOptions options)
    : model_(model), head_(head), pad_id_(pad_id), options_(options), streams_(std::make_unique<Streams>()) {
#if BERT_SERVE_CUDA
  streams_->per_worker.resize(options_.workers);
#endif
  if (options_.budget) flow_ = options_.budget->join();
}

ModelRunner::~ModelRunner() {
  if (options_.budget) options_.budget->leave(flow_);
}

size_t ModelRunner::batch_token_cap() const {
  if (!options_.budget || model_.spec().device.is_cuda()) return 0;
  if (!options_.budget->others_active(flow_, ThreadBudget::Clock::now())) return 0;
  return options_.fair_batch_tokens ? options_.fair_batch_tokens : 4 * std::max<size_t>(batch_overhead_tokens_, 1);
}

namespace {
// The calling thread's intra-op thread count (OpenMP's is per thread), changed only when it differs.
thread_local int t_threads = 0;
void use_threads(int n) {
  if (n == t_threads) return;
  at::set_num_threads(n);
  t_threads = n;
}

// The lease of the batch this worker thread runs now, for the safe points (null between batches).
thread_local ThreadLease* t_lease = nullptr;

// The lease split's safe point (thread_budget.h): before each operator a worker thread starts, the
// lease gives up the threads another batch asked for, or takes free ones back, and the thread's
// OpenMP team size follows. Between operators no team is running, and the next parallel region
// (ATen's at::parallel_for, the packed GEMM, OpenBLAS) sizes its team from the calling thread's
// setting when it starts. Inside a parallel region (an operator called by a team) nothing changes.
std::unique_ptr<at::ObserverContext> at_operator_start(const at::RecordFunction&) {
  if (t_lease && !at::in_parallel_region()) use_threads(t_lease->checkpoint());
  return nullptr;
}

// Sets t_lease for one scope.
struct CurrentLease {
  explicit CurrentLease(ThreadLease& lease) { t_lease = &lease; }
  ~CurrentLease() { t_lease = nullptr; }
};
}  // namespace

int ModelRunner::threads_for(size_t padded_tokens) const {
  const int all = std::max(1, options_.intra_op_threads);
  return padded_tokens <= single_thread_max_tokens_ ? 1 : all;
}

void ModelRunner::configure_thread() const {
  use_threads(std::max(1, options_.intra_op_threads));
  torch::jit::setGraphExecutorOptimize(options_.jit_optimize);
}

void ModelRunner::on_worker_start(size_t worker_index) {
  configure_thread();
  // The safe points of the lease split, on this worker thread only (a thread-local callback; the
  // thread's end removes it). Without the split no callback runs: operators skip RecordFunction.
  if (options_.budget && options_.budget->split() && !model_.spec().device.is_cuda()) {
    at::addThreadLocalCallback(at::RecordFunctionCallback(&at_operator_start).scopes({at::RecordScope::FUNCTION}));
  }
#if BERT_SERVE_CUDA
  if (model_.spec().device.is_cuda()) {
    // Never the default stream: each worker overlaps its copies and kernels with the others'.
    streams_->per_worker[worker_index] = c10::cuda::getStreamFromPool(false, model_.spec().device.index());
  }
#endif
}

void ModelRunner::run(size_t worker_index, std::vector<RequestPtr>& batch) {
#if BERT_SERVE_CUDA
  if (model_.spec().device.is_cuda() && streams_->per_worker[worker_index]) {
    c10::cuda::CUDAStreamGuard guard(*streams_->per_worker[worker_index]);
    run_on_stream(batch, options_.budget.get());
    return;
  }
#endif
  run_on_stream(batch, options_.budget.get());
}

void ModelRunner::run_on_stream(std::vector<RequestPtr>& batch, ThreadBudget* budget) {
  c10::InferenceMode inference;
  size_t longest = 0;
  for (const auto& r : batch) longest = std::max(longest, r->num_tokens());
  // Held for the whole batch, the retries in halves included (they run on the same threads).
  // The lease's tokens of work: what the batch costs by the cost model (overhead + padded tokens).
  const size_t padded = longest * batch.size();
  ThreadBudget* const leasing = model_.spec().device.is_cuda() ? nullptr : budget;
  const auto asked = Clock::now();
  ThreadLease lease(leasing, flow_, threads_for(padded), batch_overhead_tokens_ + padded);
  const CurrentLease current(lease);
  // Told apart from the forward (Scheduler::run_batch subtracts it from the inference time): "this
  // model waited behind another model's batch" and "this model's batch ran slower" have other causes.
  if (leasing) {
    const double waited = std::chrono::duration<double, std::micro>(Clock::now() - asked).count();
    for (auto& r : batch) r->timings.thread_wait_us = waited;
  }
  try {
    PaddedBatch padded = pad(batch);
    use_threads(lease.granted());
    head_.run(model_, padded, batch);
    settle_non_finite(batch);
  } catch (const std::exception& e) {
    if (batch.size() == 1) throw;  // the scheduler fails it
    // A model that throws on some inputs fails only the requests that cause it: the batch is run
    // again in halves until the poison requests are alone (log2(n) extra runs per poison request).
    log_event(LogLevel::kWarn, "a batch failed; retrying in halves to isolate the cause",
              {{"requests", batch.size()}, {"error", e.what()}});
    for (auto& r : batch) {
      r->json.clear();
      r->error.reset();
      r->error_message.clear();
    }
    run_isolating(batch);
    settle_non_finite(batch);
  }
}

void ModelRunner::settle_non_finite(std::vector<RequestPtr>& batch) {
  auto non_finite = [](const RequestPtr& r) { return r->error && *r->error == ErrorCode::kNonFiniteOutput; };
  const size_t failed = static_cast<size_t>(std::count_if(batch.begin(), batch.end(), non_finite));
  if (failed == 0) return;
  if (failed > 1 && batch.size() > 1) {
    for (auto& r : batch) {
      if (!non_finite(r)) continue;
      r->error.reset();
      r->error_message.clear();
      std::vector<RequestPtr> one{r};
      try {
        head_.run(model_, pad(one), one);
      } catch (const std::exception& e) {
        log_event(LogLevel::kError, "a request fails the model", {{"request", r->id}, {"error", e.what()}});
        r->fail(ErrorCode::kInferenceFailed, "inference failed");
      }
    }
  }
  for (const auto& r : batch) {
    if (!non_finite(r)) continue;
    non_finite_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(log_mu_);
    const auto now = Clock::now();
    if (last_log_ != Clock::time_point{} && now - last_log_ < std::chrono::seconds(10)) {
      ++unlogged_;
      continue;
    }
    // "unlogged": the requests that failed the same way since the last such record (at most one per 10 s).
    log_event(LogLevel::kWarn, "a request's output is not finite",
              {{"request", r->id}, {"error", r->error_message}, {"unlogged", unlogged_}});
    last_log_ = now;
    unlogged_ = 0;
  }
}

void ModelRunner::run_isolating(std::vector<RequestPtr>& batch) {
  if (batch.size() == 1) {
    try {
      PaddedBatch padded = pad(batch);
      head_.run(model_, padded, batch);
    } catch (const std::exception& e) {
      log_event(LogLevel::kError, "a request fails the model", {{"request", batch[0]->id}, {"error", e.what()}});
      batch[0]->fail(ErrorCode::kInferenceFailed, "inference failed");
    }
    return;
  }
  const auto mid = batch.begin() + static_cast<std::ptrdiff_t>(batch.size() / 2);
  std::vector<RequestPtr> left(batch.begin(), mid), right(mid, batch.end());
  for (auto* half : {&left, &right}) {
    try {
      PaddedBatch padded = pad(*half);
      head_.run(model_, padded, *half);
    } catch (const std::exception&) {
      for (auto& r : *half) {
        r->json.clear();
        r->error.reset();
        r->error_message.clear();
      }
      run_isolating(*half);
    }
  }
}

PaddedBatch ModelRunner::pad(const std::vector<RequestPtr>& batch) const {
  const int64_t n = static_cast<int64_t>(batch.size());
  int64_t seq = 0;
  for (const auto& r : batch) seq = std::max<int64_t>(seq, static_cast<int64_t>(r->num_tokens()));
  const bool cuda = model_.spec().device.is_cuda();
  const bool token_types = model_.config().token_types;
  // Pinned host memory lets the copy to the GPU run asynchronously on the worker's stream.
  auto host = torch::TensorOptions().dtype(torch::kLong).pinned_memory(cuda);
  torch::Tensor ids = torch::empty({n, seq}, host);
  torch::Tensor mask = torch::empty({n, seq}, host);
  torch::Tensor types = torch::zeros({n, seq}, host);
  int64_t* ip = ids.data_ptr<int64_t>();
  int64_t* mp = mask.data_ptr<int64_t>();
  int64_t* tp = types.data_ptr<int64_t>();
  for (int64_t b = 0; b < n; ++b) {
    const Request& r = *batch[b];
    const auto& v = r.encoding.ids;
    const int64_t len = static_cast<int64_t>(v.size());
    std::memcpy(ip + b * seq, v.data(), len * sizeof(int64_t));
    std::fill(ip + b * seq + len, ip + (b + 1) * seq, pad_id_);
    std::fill(mp + b * seq, mp + b * seq + len, int64_t{1});
    std::fill(mp + b * seq + len, mp + (b + 1) * seq, int64_t{0});
    // The post-processor's type ids (BERT: 1 on a pair's second text; RoBERTa: all 0), for the models
    // that have a second type; a RoBERTa has one type embedding (type 1 would index past it) and
    // DistilBERT and MPNet none: all zero for them. Padding 0.
    if (token_types) {
      const auto& types_in = r.encoding.type_ids;
      for (int64_t i = 0; i < len && static_cast<size_t>(i) < types_in.size(); ++i) tp[b * seq + i] = types_in[static_cast<size_t>(i)];
    }
  }
  PaddedBatch out;
  out.seq_len = seq;
  if (cuda) {
    out.input_ids = ids.to(model_.spec().device, /*non_blocking=*/true);
    out.attention_mask = mask.to(model_.spec().device, /*non_blocking=*/true);
    out.token_type_ids = types.to(model_.spec().device, /*non_blocking=*/true);
  } else {
    out.input_ids = ids;
    out.attention_mask = mask;
    out.token_type_ids = types;
  }
  return out;
}

}  // namespace bert
