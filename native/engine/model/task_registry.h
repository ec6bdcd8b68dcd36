// The one place that maps a task to its head (model_config.cc maps architectures to tasks). Adding a
// task: its architecture in model_config.cc, a TaskHead subclass and one line here, its route in
// src/server/routes/ and its tests.
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

// The head of config.task.
std::unique_ptr<TaskHead> make_head(const HeadContext& context);

}  // namespace bert
