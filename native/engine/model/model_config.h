// The parts of a Hugging Face config.json the engine needs. Immutable after parse.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bert {

// What the served model answers; chosen by config.json's architecture (kFamilies x kHeads in
// model_config.cc, per family); task_registry.cc maps it to its head.
enum class Task { kFillMask, kEmbeddings, kClassification, kTokenClassification, kQuestionAnswering };

struct ModelConfig {
  std::string architecture;  // e.g. "BertForMaskedLM"
  Task task = Task::kFillMask;
  // The family: config.json's model_type ("bert", "roberta", ...; BERT's when the file has none, as
  // old BERT checkpoints), and its name for people ("RoBERTa").
  std::string model_type = "bert";
  std::string family = "BERT";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;  // DistilBERT's config.json calls it "dim"
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;  // 1 for the families without token types
  // Whether token_type_ids carry anything: the family has them and type_vocab_size > 1. Otherwise
  // every token gets type 0 (a RoBERTa's single type embedding; DistilBERT and MPNet have none).
  bool token_types = true;
  // RoBERTa, XLM-R and MPNet count positions from padding_idx + 1, so this many of the
  // max_position_embeddings positions are never a token's: max_tokens() is that much shorter.
  int64_t position_offset = 0;
  // Classification heads: id2label in id order (LABEL_i where config.json names none), and
  // problem_type ("single_label_classification", "multi_label_classification", "regression" or "").
  std::vector<std::string> labels;
  std::string problem_type;
  // Exporter's "bert_serve" block: the quantized engine an int8 model's weights were packed for
  // ("onednn", "fbgemm", "qnnpack", "x86"), "" for float models.
  std::string quantized_engine;

  // The longest input (specials included) the position embeddings cover.
  int64_t max_tokens() const { return max_position_embeddings - position_offset; }

  // Reads `path` (config.json). A sentence-transformers directory (modules.json beside it) is read as
  // its family's encoder (<Family>Model), whatever architectures says. Throws EngineError:
  // kModelNotFound when missing, kConfigInvalid when unreadable, missing a field or naming an
  // architecture of another family than its model_type, kModelInvalid for a model_type or
  // architecture this engine does not serve (the message lists what is served).
  static ModelConfig load(const std::string& path);
  // The same from config.json's text; `path` only names the file in error messages. (The loader's
  // in-memory entry point, fuzzed by native/tests/fuzz/model_config_fuzz.cc.)
  static ModelConfig parse(const std::string& text, const std::string& path);
};

const char* task_name(Task t);
// The task config.json's architecture asks for; false for an architecture no task serves.
bool task_for_architecture(const std::string& architecture, Task& task);
std::string supported_architectures();  // "BertForMaskedLM, BertModel, ..."
std::string supported_families();       // "bert (BERT), distilbert (DistilBERT), ..."

}  // namespace bert
