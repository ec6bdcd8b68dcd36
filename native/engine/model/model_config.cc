#include "engine/model/model_config.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/errors.h"

namespace bert {

const char* task_name(Task t) {
  switch (t) {
    case Task::kFillMask: return "fill-mask";
  }
  return "unknown";
}

ModelConfig ModelConfig::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw EngineError(ErrorCode::kModelNotFound, path + ": not found (a model directory needs config.json)");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception&) {
    throw EngineError(ErrorCode::kConfigInvalid, path + ": not valid JSON (expected a Hugging Face config.json)");
  }
  if (!j.is_object()) throw EngineError(ErrorCode::kConfigInvalid, path + ": expected a JSON object");
  auto get_int = [&](const char* key, int64_t fallback, bool required) -> int64_t {
    auto it = j.find(key);
    if (it == j.end()) {
      if (required) throw EngineError(ErrorCode::kConfigInvalid, path + ": missing integer field \"" + key + "\"");
      return fallback;
    }
    if (!it->is_number_integer() || it->get<int64_t>() <= 0)
      throw EngineError(ErrorCode::kConfigInvalid, path + ": \"" + key + "\" must be a positive integer");
    return it->get<int64_t>();
  };
  ModelConfig c;
  auto arch = j.find("architectures");
  if (arch == j.end() || !arch->is_array() || arch->empty() || !(*arch)[0].is_string())
    throw EngineError(ErrorCode::kConfigInvalid, path + ": missing \"architectures\" (e.g. [\"BertForMaskedLM\"])");
  c.architecture = (*arch)[0].get<std::string>();
  if (c.architecture == "BertForMaskedLM") {
    c.task = Task::kFillMask;
  } else {
    throw EngineError(ErrorCode::kModelInvalid, path + ": architecture \"" + c.architecture +
                                                    "\" is not served yet (supported: BertForMaskedLM)");
  }
  c.vocab_size = get_int("vocab_size", 0, true);
  c.hidden_size = get_int("hidden_size", 0, false);
  c.max_position_embeddings = get_int("max_position_embeddings", 512, false);
  c.type_vocab_size = get_int("type_vocab_size", 2, false);
  return c;
}

}  // namespace bert
