#include "engine/model/task_registry.h"

#include "engine/model/classify.h"
#include "engine/model/embed.h"
#include "engine/model/fill_mask.h"
#include "engine/model/question_answering.h"
#include "engine/model/token_classify.h"

namespace bert {

std::unique_ptr<TaskHead> make_head(const HeadContext& c) {
  switch (c.config.task) {
    case Task::kFillMask: return std::make_unique<FillMaskHead>(c);
    case Task::kEmbeddings: return std::make_unique<EmbedHead>(c);
    case Task::kClassification: return std::make_unique<ClassifyHead>(c);
    case Task::kTokenClassification: return std::make_unique<TokenClassifyHead>(c);
    case Task::kQuestionAnswering: return std::make_unique<QuestionAnsweringHead>(c);
  }
  throw EngineError(ErrorCode::kInternal, "no head for the task");
}

}  // namespace bert
