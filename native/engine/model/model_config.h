// The parts of a Hugging Face config.json the engine needs. Immutable after parse.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bert {

// What the served model answers; chosen by config.json's architecture (kArchitectures in
// model_config.cc); task_registry.cc maps it to its head.
enum class Task { kFillMask, kEmbeddings, kClassification, kTokenClassification };

struct ModelConfig {
  std::string architecture;           // e.g. "BertForMaskedLM"
  Task task = Task::kFillMask;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  // Classification heads: id2label in id order (LABEL_i where config.json names none), and
  // problem_type ("single_label_classification", "multi_label_classification", "regression" or "").
  std::vector<std::string> labels;
  std::string problem_type;
  // Exporter's "bert_serve" block: the quantized engine an int8 model's weights were packed for
  // ("onednn", "fbgemm", "qnnpack", "x86"), "" for float models.
  std::string quantized_engine;

  // Reads `path` (config.json). Throws EngineError: kModelNotFound when missing, kConfigInvalid when
  // unreadable or missing a field, kModelInvalid for an architecture this engine does not serve.
  static ModelConfig load(const std::string& path);
  // The same from config.json's text; `path` only names the file in error messages. (The loader's
  // in-memory entry point, fuzzed by native/tests/fuzz/model_config_fuzz.cc.)
  static ModelConfig parse(const std::string& text, const std::string& path);
};

const char* task_name(Task t);
// The task config.json's architecture asks for; false for an architecture no task serves.
bool task_for_architecture(const std::string& architecture, Task& task);
std::string supported_architectures();  // "BertForMaskedLM, BertModel, ..."

}  // namespace bert
