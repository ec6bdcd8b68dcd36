// The per-task part of the engine: how a tokenized request is validated, and how a padded batch is
// run and turned into answers. The scheduler and the addon know nothing of tasks; a new task
// (embeddings, classification) is a new TaskHead.
//
// Threading: prepare() runs on the engine's prep thread, run() on worker threads (several at once);
// implementations are immutable after construction.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "engine/model/model.h"
#include "engine/sched/request.h"

namespace bert {

// A batch padded to its longest request, on the model's device.
struct PaddedBatch {
  torch::Tensor input_ids;       // int64 [n, seq]
  torch::Tensor attention_mask;  // int64 [n, seq]
  int64_t seq_len = 0;
};

class TaskHead {
 public:
  virtual ~TaskHead() = default;
  virtual const char* name() const = 0;
  // Throws EngineError (e.g. kNoMaskToken, kInvalidArgument) for a request the task cannot answer.
  virtual void prepare(Request& request) const = 0;
  // Fills request->json for every request of the batch (requests[i] is row i of `batch`).
  virtual void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const = 0;
};

}  // namespace bert
