// The one place that maps a config.json architecture to its task and its head. Adding a task: a
// TaskHead subclass, one line here, its route in src/server/routes/ and its tests.
#pragma once
#include <memory>
#include <string>

#include "engine/model/model_config.h"
#include "engine/model/task_head.h"
#include "engine/text/tokenizer.h"

namespace bert {

struct HeadContext {
  std::shared_ptr<const Tokenizer> tokenizer;
  const ModelConfig& config;
  std::string model_dir;
  std::string pooling;  // embeddings: the pooling asked for ("" = from the model directory, else cls)
};

struct TaskSpec {
  const char* architecture;
  Task task;
  std::unique_ptr<TaskHead> (*make)(const HeadContext&);
};

const TaskSpec* find_task(const std::string& architecture);
std::string supported_architectures();  // "BertForMaskedLM, BertModel, ..."

}  // namespace bert
