// The per-task part of the engine: how a request's options are parsed and checked, how a padded
// batch is run and turned into answers, and what the task reports about itself. The scheduler, the
// addon and the admission layer know nothing of tasks; a new task is a new TaskHead registered in
// task_registry.cc.
//
// Threading: bind() runs once on the loading thread before anything else; after it the head is
// immutable: prepare() runs on the engine's prep thread, run() on worker threads (several at once).
#pragma once
#include <torch/script.h>  // not torch/torch.h: heads need tensors, not the nn API

#include <string>
#include <vector>

#include "engine/model/model.h"
#include "engine/sched/request.h"

namespace bert {

class TaskHead {
 public:
  virtual ~TaskHead() = default;
  // Checks on the load-time probe (probe.h) that the model's output fits the task and that its full
  // forward is consistent (throws EngineError kModelInvalid naming what was expected and what to
  // do), and picks the fastest way to run it that reproduces the full forward on the probe. Returns a
  // one-line description of that way, for the startup log and /info.
  virtual std::string bind(Model& model) = 0;
  // The way bind() picked, as a stable identifier ("full_forward", "fill_mask_logits", ...): what
  // the path history compares between loads.
  virtual std::string path_id() const { return "full_forward"; }
  // Parses request.params_json into request.params and checks the encoded request (e.g. a fill-mask
  // input needs a mask token). Throws EngineError (kInvalidArgument, kNoMaskToken, ...).
  virtual void prepare(Request& request) const = 0;
  // Fills request->json for every request of the batch (requests[i] is row i of `batch`), or fails a
  // request alone (Request::fail: kNonFiniteOutput when what its answer is made from is not finite).
  virtual void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const = 0;
  // A representative prepared request of `len` tokens for warm-up runs.
  virtual RequestPtr warmup_request(size_t len) const = 0;
  // Task facts for /info as the members of a JSON object, e.g. "labels":[...],"pooling":"mean".
  virtual std::string info_json() const { return ""; }
};

}  // namespace bert
