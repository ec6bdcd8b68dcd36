// One inference request as it moves through the engine: submitted from the addon (JS thread), prepared
// (tokenized) on the engine's prep thread, batched by the Scheduler, run by a worker, completed through
// the CompletionSink. Ownership: shared_ptr, held by whoever currently has it; the only field written
// by more than one thread is `cancelled` (atomic). Everything else is written by one stage before the
// request is handed to the next (the hand-off is a mutex-protected queue, which orders the writes).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/errors.h"
#include "engine/text/tokenizer.h"

namespace bert {

using Clock = std::chrono::steady_clock;

enum class TaskKind { kFillMask, kTokenize };

struct FillMaskParams {
  int top_k = 5;
  std::vector<std::string> targets;   // as given by the caller
  std::vector<int64_t> target_ids;    // resolved at prepare time (deduplicated)
};

struct RequestTimings {
  double tokenize_us = 0;  // prep thread: tokenization + validation
  double queue_us = 0;     // from queued to batch start
  double inference_us = 0; // batch forward + post-processing (shared by the batch)
};

struct Request {
  uint64_t id = 0;
  TaskKind kind = TaskKind::kFillMask;
  std::string text;
  bool add_special_tokens = true;  // tokenize requests may ask for none
  FillMaskParams fill_mask;
  Clock::time_point submitted{};
  Clock::time_point deadline = Clock::time_point::max();
  std::atomic<bool> cancelled{false};

  // Set by preparation.
  Encoding encoding;
  std::vector<int64_t> mask_positions;  // fill-mask: token positions holding the mask token
  Clock::time_point queued{};

  // Set by whoever finishes the request (exactly once).
  std::optional<ErrorCode> error;
  std::string error_message;
  std::string json;  // the serialized answer when !error
  RequestTimings timings;

  size_t num_tokens() const { return encoding.ids.size(); }
  void fail(ErrorCode code, std::string message) {
    error = code;
    error_message = std::move(message);
    json.clear();
  }
};

using RequestPtr = std::shared_ptr<Request>;

// Receives finished requests (answered or failed), one call per batch or per group of requests that
// ended together. Called from engine threads; implementations must be thread-safe and must not throw.
class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  virtual void complete(std::vector<RequestPtr> done) noexcept = 0;
};

}  // namespace bert
