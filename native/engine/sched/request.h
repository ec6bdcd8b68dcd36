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

// kModel: answered by the served model's task head (fill-mask, embeddings, ...); kTokenize: the
// tokenizer only, never batched.
enum class TaskKind { kModel, kTokenize };

// A task head's parsed per-request options (each head defines its own subclass and is the only one
// that creates or reads it).
struct HeadParams {
  virtual ~HeadParams() = default;
};

// Per-request truncation: the engine's default, or what the caller asked.
enum class Truncation { kDefault, kNone, kRight, kLeft };

struct RequestTimings {
  double tokenize_us = 0;  // prep thread: tokenization + validation
  double queue_us = 0;     // from queued to batch start
  // From batch start to its CPU threads leased from the thread budget that several models share
  // (thread_budget.h): the other models' batches it waited behind. 0 without a budget.
  double thread_wait_us = 0;
  double inference_us = 0;  // batch forward + post-processing, after the thread wait (shared by the batch)
};

struct Request {
  uint64_t id = 0;
  TaskKind kind = TaskKind::kModel;
  std::string text;
  std::string text_pair;  // the second sequence of a pair
  bool has_pair = false;
  // Pre-tokenized input (ids without [CLS]/[SEP]) instead of `text`, e.g. OpenAI token arrays.
  std::vector<int64_t> given_ids;
  bool has_given_ids = false;
  bool add_special_tokens = true;  // tokenize requests may ask for none
  Truncation truncation = Truncation::kDefault;
  std::string params_json;  // task options as JSON, parsed by the head in prepare()
  std::unique_ptr<HeadParams> params;
  Clock::time_point submitted{};
  Clock::time_point deadline = Clock::time_point::max();
  std::atomic<bool> cancelled{false};

  // Set by preparation.
  Encoding encoding;          // ids, type ids (the post-processor's), offsets
  std::vector<int64_t> rows;  // token positions the head reads (fill-mask: the mask positions)
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
