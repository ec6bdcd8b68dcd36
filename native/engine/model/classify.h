// Sequence classification (and cross-encoder reranking with a one-label model) with the Hugging Face
// text-classification pipeline's semantics: labels from config.json's id2label; scores through
// sigmoid when problem_type is multi_label_classification or the model has one label, softmax
// otherwise (the pipeline's function_to_apply default; a request may ask for another or for the raw
// logits); the top_k best as [{"label","score"}], best first. The "score" shape answers the first
// label's score as a bare number (what /rerank sorts by).
#pragma once
#include <string>
#include <vector>

#include "engine/model/task_head.h"
#include "engine/model/task_registry.h"

namespace bert {

enum class ScoreFunction { kSoftmax, kSigmoid, kNone };

class ClassifyHead : public TaskHead {
 public:
  explicit ClassifyHead(const HeadContext& c);
  std::string bind(Model& model) override;
  void prepare(Request& request) const override;
  void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const override;
  RequestPtr warmup_request(size_t len) const override;
  std::string info_json() const override;

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::vector<std::string> labels_;
  ScoreFunction default_function_;
};

// The pipeline's default for a config: sigmoid for multi-label or one label, none for regression.
ScoreFunction default_score_function(const ModelConfig& c);
// Parses "softmax" | "sigmoid" | "none" | "" (the default).
ScoreFunction parse_score_function(const std::string& name, ScoreFunction fallback);
const char* score_function_name(ScoreFunction f);
// Applies `f` to each row of float32 logits [n, labels].
torch::Tensor apply_score_function(const torch::Tensor& logits, ScoreFunction f);
// "[\"a\",\"b\"]": the labels as a JSON list, for /info.
std::string labels_json(const std::vector<std::string>& labels);

}  // namespace bert
