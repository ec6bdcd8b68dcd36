// The parts of a Hugging Face config.json the engine needs. Immutable after parse.
#pragma once
#include <cstdint>
#include <string>

namespace bert {

enum class Task { kFillMask };

struct ModelConfig {
  std::string architecture;           // e.g. "BertForMaskedLM"
  Task task = Task::kFillMask;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;

  // Reads `path` (config.json). Throws EngineError: kModelNotFound when missing, kConfigInvalid when
  // unreadable or missing a field, kModelInvalid for an architecture this engine does not serve.
  static ModelConfig load(const std::string& path);
};

const char* task_name(Task t);

}  // namespace bert
