#include "engine/model/model_config.h"

#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "engine/errors.h"

namespace bert {

const char* task_name(Task t) {
  switch (t) {
    case Task::kFillMask: return "fill-mask";
    case Task::kEmbeddings: return "feature-extraction";
    case Task::kClassification: return "text-classification";
    case Task::kTokenClassification: return "token-classification";
  }
  return "unknown";
}

namespace {

struct Architecture {
  const char* name;
  Task task;
};
// Adding a task: its architecture here, its head in task_registry.cc.
const Architecture kArchitectures[] = {
    {"BertForMaskedLM", Task::kFillMask},
    {"BertModel", Task::kEmbeddings},
    {"BertForSequenceClassification", Task::kClassification},
    {"BertForTokenClassification", Task::kTokenClassification},
};

// id2label as a dense list. Hugging Face writes {"0": "NEGATIVE", ...}; num_labels alone (or
// neither) means LABEL_0..LABEL_{n-1}, as transformers' PretrainedConfig does.
std::vector<std::string> read_labels(const nlohmann::json& j, const std::string& path) {
  std::vector<std::string> labels;
  auto it = j.find("id2label");
  if (it != j.end() && it->is_object() && !it->empty()) {
    labels.resize(it->size());
    for (auto& [key, value] : it->items()) {
      size_t id = 0;
      try {
        size_t used = 0;
        const long long v = std::stoll(key, &used);
        if (used != key.size() || v < 0) throw std::invalid_argument(key);
        id = static_cast<size_t>(v);
      } catch (const std::exception&) {
        throw EngineError(ErrorCode::kConfigInvalid, path + ": id2label key \"" + key + "\" is not a label id");
      }
      if (id >= labels.size() || !value.is_string())
        throw EngineError(ErrorCode::kConfigInvalid, path + ": id2label must map the ids 0..n-1 to label names");
      labels[id] = value.get<std::string>();
    }
    return labels;
  }
  int64_t n = 2;
  auto nl = j.find("num_labels");
  if (nl != j.end() && nl->is_number_integer() && nl->get<int64_t>() > 0 && nl->get<int64_t>() <= 100000) n = nl->get<int64_t>();
  for (int64_t i = 0; i < n; ++i) labels.push_back("LABEL_" + std::to_string(i));
  return labels;
}

}  // namespace

bool task_for_architecture(const std::string& architecture, Task& task) {
  for (const auto& a : kArchitectures) {
    if (architecture == a.name) {
      task = a.task;
      return true;
    }
  }
  return false;
}

std::string supported_architectures() {
  std::string out;
  for (const auto& a : kArchitectures) out += (out.empty() ? "" : ", ") + std::string(a.name);
  return out;
}

ModelConfig ModelConfig::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EngineError(ErrorCode::kModelNotFound, path + ": not found (a model directory needs config.json)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

ModelConfig ModelConfig::parse(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    std::istringstream in(text);  // operator>> as load() always parsed: one value, trailing bytes ignored
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
  if (!task_for_architecture(c.architecture, c.task)) {
    throw EngineError(ErrorCode::kModelInvalid, path + ": architecture \"" + c.architecture +
                                                    "\" is not served (supported: " + supported_architectures() + ")");
  }
  c.vocab_size = get_int("vocab_size", 0, true);
  c.hidden_size = get_int("hidden_size", 0, false);
  c.max_position_embeddings = get_int("max_position_embeddings", 512, false);
  c.type_vocab_size = get_int("type_vocab_size", 2, false);
  if (c.task == Task::kClassification || c.task == Task::kTokenClassification) {
    c.labels = read_labels(j, path);
    auto pt = j.find("problem_type");
    if (pt != j.end() && pt->is_string()) c.problem_type = pt->get<std::string>();
  }
  auto bs = j.find("bert_serve");
  if (bs != j.end() && bs->is_object()) {
    auto q = bs->find("quantized_engine");
    if (q != bs->end() && q->is_string()) c.quantized_engine = q->get<std::string>();
  }
  return c;
}

}  // namespace bert
