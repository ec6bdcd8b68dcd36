#include "engine/model/task_registry.h"

#include "engine/model/classify.h"
#include "engine/model/embed.h"
#include "engine/model/fill_mask.h"
#include "engine/model/token_classify.h"

namespace bert {
namespace {

template <class Head>
std::unique_ptr<TaskHead> make(const HeadContext& c) {
  return std::make_unique<Head>(c);
}

const TaskSpec kTasks[] = {
    {"BertForMaskedLM", Task::kFillMask, &make<FillMaskHead>},
    {"BertModel", Task::kEmbeddings, &make<EmbedHead>},
    {"BertForSequenceClassification", Task::kClassification, &make<ClassifyHead>},
    {"BertForTokenClassification", Task::kTokenClassification, &make<TokenClassifyHead>},
};

}  // namespace

const TaskSpec* find_task(const std::string& architecture) {
  for (const auto& t : kTasks)
    if (architecture == t.architecture) return &t;
  return nullptr;
}

std::string supported_architectures() {
  std::string out;
  for (const auto& t : kTasks) out += (out.empty() ? "" : ", ") + std::string(t.architecture);
  return out;
}

}  // namespace bert
