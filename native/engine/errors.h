// Errors that cross the engine boundary. Every failure the engine reports carries one of these codes;
// the addon turns it into a JS error with `code` = error_code_name(code), and the HTTP layer maps codes
// to statuses in one table (src/errors.ts). Messages are for users: they name the file or argument and
// what was expected, never internals (those go to the log).
#pragma once
#include <stdexcept>
#include <string>

namespace bert {

enum class ErrorCode {
  kInvalidArgument,     // a bad option or input value (wrong type, out of range)
  kModelNotFound,       // model directory or one of its files is missing
  kModelInvalid,        // model.pt not TorchScript, or its signature/output shape does not fit the task
  kConfigInvalid,       // config.json unreadable or missing a required field
  kTokenizerInvalid,    // vocab.txt / tokenizer.json / tokenizer_config.json unreadable or unsupported
  kVocabMismatch,       // the vocabulary size does not match the model's embedding/output size
  kDeviceUnavailable,   // cuda requested without CUDA, or a device index that does not exist
  kNoMaskToken,         // fill-mask input without a mask token
  kTooManyPredictions,  // fill-mask: masks x top_k (or masks) over the per-text limit
  kInputTooLong,        // more tokens than the limit (and truncation is off), or over the batch budget
  kQueueFull,           // admission refused: too many pending requests
  kDeadlineExceeded,    // the request's deadline passed before it reached the model
  kCancelled,           // the caller cancelled (e.g. the HTTP client went away)
  kInferenceFailed,     // the forward pass or post-processing threw
  kNonFiniteOutput,     // NaN or Inf in what a request's answer is made from (logits, scores, embeddings)
  kClosed,              // the engine is closing or closed
  kInternal,            // a bug: should never happen
};

inline const char* error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::kInvalidArgument: return "ERR_INVALID_ARGUMENT";
    case ErrorCode::kModelNotFound: return "ERR_MODEL_NOT_FOUND";
    case ErrorCode::kModelInvalid: return "ERR_MODEL_INVALID";
    case ErrorCode::kConfigInvalid: return "ERR_CONFIG_INVALID";
    case ErrorCode::kTokenizerInvalid: return "ERR_TOKENIZER_INVALID";
    case ErrorCode::kVocabMismatch: return "ERR_VOCAB_MISMATCH";
    case ErrorCode::kDeviceUnavailable: return "ERR_DEVICE_UNAVAILABLE";
    case ErrorCode::kNoMaskToken: return "ERR_NO_MASK_TOKEN";
    case ErrorCode::kTooManyPredictions: return "ERR_TOO_MANY_PREDICTIONS";
    case ErrorCode::kInputTooLong: return "ERR_INPUT_TOO_LONG";
    case ErrorCode::kQueueFull: return "ERR_QUEUE_FULL";
    case ErrorCode::kDeadlineExceeded: return "ERR_DEADLINE_EXCEEDED";
    case ErrorCode::kCancelled: return "ERR_CANCELLED";
    case ErrorCode::kInferenceFailed: return "ERR_INFERENCE_FAILED";
    case ErrorCode::kNonFiniteOutput: return "ERR_NON_FINITE_OUTPUT";
    case ErrorCode::kClosed: return "ERR_CLOSED";
    case ErrorCode::kInternal: return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

class EngineError : public std::runtime_error {
 public:
  EngineError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace bert
