// Fuzz target: ModelConfig::parse (config.json's text, the in-memory entry point of
// ModelConfig::load). Checked: only EngineError escapes, with one of its documented codes; an
// accepted config has a known architecture of its model_type's family, labels when its task needs them,
// positive sizes, and room for at least one token after the family's position offset.
#include <cstdint>
#include <string>

#include "engine/errors.h"
#include "engine/model/model_config.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const bert::ModelConfig c = bert::ModelConfig::parse(text, "config.json");
    bert::Task task;
    FUZZ_CHECK(bert::task_for_architecture(c.architecture, task) && task == c.task, c.architecture);
    const bool labelled = c.task == bert::Task::kClassification || c.task == bert::Task::kTokenClassification;
    FUZZ_CHECK(!labelled || !c.labels.empty(), "a classifier without labels");
    FUZZ_CHECK(c.vocab_size > 0 && c.max_position_embeddings > 0 && c.type_vocab_size > 0, "sizes");
    FUZZ_CHECK(!c.model_type.empty() && !c.family.empty(), "a family");
    FUZZ_CHECK(c.position_offset >= 0 && c.max_tokens() >= 1, "positions");
    FUZZ_CHECK(!c.token_types || c.type_vocab_size > 1, "token types without a second type");
  } catch (const bert::EngineError& e) {
    FUZZ_CHECK(e.code() == bert::ErrorCode::kConfigInvalid || e.code() == bert::ErrorCode::kModelInvalid, e.what());
  }
  return 0;
}
