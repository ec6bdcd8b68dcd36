// Fill-mask answers with exactly the Hugging Face fill-mask pipeline's shape and semantics:
// softmax over the vocabulary at each mask position (only those rows are computed), optional
// `targets` restricting the candidates, top-k, token_str = decode([id]), sequence = the input with
// the mask replaced, decoded (special tokens skipped when the input has a single mask).
#pragma once
#include <memory>

#include "engine/model/task_head.h"
#include "engine/text/tokenizer.h"

namespace bert {

class FillMaskHead : public TaskHead {
 public:
  explicit FillMaskHead(std::shared_ptr<const Tokenizer> tokenizer) : tokenizer_(std::move(tokenizer)) {}
  const char* name() const override { return "fill-mask"; }
  void prepare(Request& request) const override;
  void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const override;

 private:
  void serialize(Request& r, const torch::Tensor& scores, const torch::Tensor& ids) const;
  std::shared_ptr<const Tokenizer> tokenizer_;
};

}  // namespace bert
