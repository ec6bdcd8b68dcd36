#include "engine/model/model_runner.h"

#include <torch/csrc/jit/python/update_graph_executor_opt.h>

#include <algorithm>
#include <cstring>

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
}

ModelRunner::~ModelRunner() = default;

void ModelRunner::configure_thread() const {
  at::set_num_threads(std::max(1, options_.intra_op_threads));
  torch::jit::setGraphExecutorOptimize(options_.jit_optimize);
}

void ModelRunner::on_worker_start(size_t worker_index) {
  configure_thread();
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
    run_on_stream(batch);
    return;
  }
#endif
  run_on_stream(batch);
}

void ModelRunner::run_on_stream(std::vector<RequestPtr>& batch) {
  c10::InferenceMode inference;
  PaddedBatch padded = pad(batch);
  head_.run(model_, padded, batch);
}

PaddedBatch ModelRunner::pad(const std::vector<RequestPtr>& batch) const {
  const int64_t n = static_cast<int64_t>(batch.size());
  int64_t seq = 0;
  for (const auto& r : batch) seq = std::max<int64_t>(seq, static_cast<int64_t>(r->num_tokens()));
  const bool cuda = model_.spec().device.is_cuda();
  // Pinned host memory lets the copy to the GPU run asynchronously on the worker's stream.
  auto host = torch::TensorOptions().dtype(torch::kLong).pinned_memory(cuda);
  torch::Tensor ids = torch::empty({n, seq}, host);
  torch::Tensor mask = torch::empty({n, seq}, host);
  int64_t* ip = ids.data_ptr<int64_t>();
  int64_t* mp = mask.data_ptr<int64_t>();
  for (int64_t b = 0; b < n; ++b) {
    const auto& v = batch[b]->encoding.ids;
    const int64_t len = static_cast<int64_t>(v.size());
    std::memcpy(ip + b * seq, v.data(), len * sizeof(int64_t));
    std::fill(ip + b * seq + len, ip + (b + 1) * seq, pad_id_);
    std::fill(mp + b * seq, mp + b * seq + len, int64_t{1});
    std::fill(mp + b * seq + len, mp + (b + 1) * seq, int64_t{0});
  }
  PaddedBatch out;
  out.seq_len = seq;
  if (cuda) {
    out.input_ids = ids.to(model_.spec().device, /*non_blocking=*/true);
    out.attention_mask = mask.to(model_.spec().device, /*non_blocking=*/true);
  } else {
    out.input_ids = ids;
    out.attention_mask = mask;
  }
  return out;
}

}  // namespace bert
