#include "engine/model/model_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/errors.h"

namespace bert {

const char* task_name(Task t) {
  switch (t) {
    case Task::kFillMask: return "fill-mask";
    case Task::kEmbeddings: return "feature-extraction";
    case Task::kClassification: return "text-classification";
    case Task::kTokenClassification: return "token-classification";
    case Task::kQuestionAnswering: return "question-answering";
  }
  return "unknown";
}

namespace {

// The families served (scripts/bert/families/catalog.py holds the same facts for the exporter; a test
// compares the two). Every family has the five heads of kHeads, named <prefix><suffix> as in
// transformers.
struct Family {
  const char* model_type;
  const char* name;
  const char* prefix;
  bool token_types;              // the model has token_type_ids (DistilBERT and MPNet have none)
  bool positions_from_padding;   // positions count from padding_idx + 1 (RoBERTa's fairseq scheme)
  int64_t fixed_padding_idx;     // MPNet's padding_idx is 1 whatever pad_token_id says; -1: pad_token_id
  int64_t default_pad_token_id;  // the family's config class default
  const char* hidden_key;        // DistilBERT's config.json calls hidden_size "dim"
};
const Family kFamilies[] = {
    {"bert", "BERT", "Bert", true, false, -1, 0, "hidden_size"},
    {"distilbert", "DistilBERT", "DistilBert", false, false, -1, 0, "dim"},
    {"roberta", "RoBERTa", "Roberta", true, true, -1, 1, "hidden_size"},
    {"xlm-roberta", "XLM-RoBERTa", "XLMRoberta", true, true, -1, 1, "hidden_size"},
    {"electra", "ELECTRA", "Electra", true, false, -1, 0, "hidden_size"},
    {"mpnet", "MPNet", "MPNet", false, true, 1, 1, "hidden_size"},
};

// Adding a task: its class-name suffix here, its head in task_registry.cc.
struct Head {
  const char* suffix;
  Task task;
};
const Head kHeads[] = {
    {"ForMaskedLM", Task::kFillMask},
    {"Model", Task::kEmbeddings},
    {"ForSequenceClassification", Task::kClassification},
    {"ForTokenClassification", Task::kTokenClassification},
    {"ForQuestionAnswering", Task::kQuestionAnswering},
};

const Family* find_family(const std::string& model_type) {
  for (const auto& f : kFamilies)
    if (model_type == f.model_type) return &f;
  return nullptr;
}

// The family and task of a transformers class name, or nullptr.
const Family* family_of(const std::string& architecture, Task* task) {
  for (const auto& f : kFamilies) {
    for (const auto& h : kHeads) {
      if (architecture == std::string(f.prefix) + h.suffix) {
        if (task) *task = h.task;
        return &f;
      }
    }
  }
  return nullptr;
}

std::string architectures_of(const Family& f) {
  std::string out;
  for (const auto& h : kHeads) out += (out.empty() ? "" : ", ") + std::string(f.prefix) + h.suffix;
  return out;
}

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

bool task_for_architecture(const std::string& architecture, Task& task) { return family_of(architecture, &task) != nullptr; }

std::string supported_architectures() {
  std::string out;
  for (const auto& f : kFamilies) out += (out.empty() ? "" : ", ") + architectures_of(f);
  return out;
}

std::string supported_families() {
  std::string out;
  for (const auto& f : kFamilies) out += (out.empty() ? "" : ", ") + std::string(f.model_type) + " (" + f.name + ")";
  return out;
}

ModelConfig ModelConfig::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EngineError(ErrorCode::kModelNotFound, path + ": not found (a model directory needs config.json)");
  std::ostringstream text;
  text << in.rdbuf();
  ModelConfig c = parse(text.str(), path);
  // sentence-transformers directories often keep the class they were trained from in config.json
  // (all-mpnet-base-v2 says MPNetForMaskedLM); modules.json makes them encoders, as sentence-
  // transformers loads them and as the exporter exports them (scripts/bert/layout.py preflight).
  const std::string dir = path.substr(0, path.find_last_of('/') + 1);
  if (c.task != Task::kEmbeddings && std::ifstream(dir + "modules.json")) {
    c.architecture = std::string(find_family(c.model_type)->prefix) + "Model";
    c.task = Task::kEmbeddings;
    c.labels.clear();
    c.problem_type.clear();
  }
  return c;
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
  // The family: model_type when the file has one (an unknown one is refused, naming the families),
  // else the architecture's (old BERT checkpoints have no model_type).
  const Family* arch_family = family_of(c.architecture, &c.task);
  const Family* family = arch_family;
  auto mt = j.find("model_type");
  if (mt != j.end() && !mt->is_null()) {
    if (!mt->is_string()) throw EngineError(ErrorCode::kConfigInvalid, path + ": \"model_type\" must be a string");
    family = find_family(mt->get<std::string>());
    if (!family)
      throw EngineError(ErrorCode::kModelInvalid, path + ": model_type \"" + mt->get<std::string>() +
                                                      "\" is not served (supported families, by model_type: " + supported_families() + ")");
  }
  if (!arch_family) {
    throw EngineError(
        ErrorCode::kModelInvalid,
        path + ": architecture \"" + c.architecture + "\" is not served (supported" +
            (family ? std::string(" for ") + family->name + ": " + architectures_of(*family) : ": " + supported_architectures()) + ")");
  }
  if (family != arch_family)
    throw EngineError(ErrorCode::kConfigInvalid, path + ": architecture \"" + c.architecture + "\" is a " + arch_family->name +
                                                     " class but model_type is \"" + family->model_type + "\" (" + family->name + ": " +
                                                     architectures_of(*family) + ")");
  c.model_type = family->model_type;
  c.family = family->name;
  c.vocab_size = get_int("vocab_size", 0, true);
  c.hidden_size = get_int(family->hidden_key, 0, false);
  c.max_position_embeddings = get_int("max_position_embeddings", 512, false);
  c.type_vocab_size = family->token_types ? get_int("type_vocab_size", 2, false) : 1;
  c.token_types = family->token_types && c.type_vocab_size > 1;
  if (family->positions_from_padding) {
    // RoBERTa's and XLM-R's padding_idx is pad_token_id (the family default when absent); MPNet's is fixed.
    const bool fixed = family->fixed_padding_idx >= 0;
    int64_t padding_idx = fixed ? family->fixed_padding_idx : family->default_pad_token_id;
    auto pad = j.find("pad_token_id");
    if (!fixed && pad != j.end() && !pad->is_null()) {
      if (!pad->is_number_integer() || pad->get<int64_t>() < 0 || pad->get<int64_t>() >= c.vocab_size)
        throw EngineError(ErrorCode::kConfigInvalid, path + ": \"pad_token_id\" must be a token id below vocab_size");
      padding_idx = pad->get<int64_t>();
    }
    c.position_offset = padding_idx + 1;
    if (c.max_tokens() < 1)
      throw EngineError(ErrorCode::kConfigInvalid, path + ": max_position_embeddings " + std::to_string(c.max_position_embeddings) +
                                                       " leaves no position for a token (" + c.family +
                                                       " positions start at padding_idx + 1 = " + std::to_string(c.position_offset) + ")");
  }
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
