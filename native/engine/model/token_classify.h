// Token classification (NER) with the Hugging Face TokenClassificationPipeline's semantics: softmax
// over the labels at every token; special tokens skipped; aggregation_strategy none (one entity per
// token: entity, score, index, word, start, end), simple (B-/I- groups of tokens), first, average,
// max (words first: subword tokens follow their word's first token, the word's label from its first
// token, the mean of its tokens' scores, or its most confident token; then B-/I- groups);
// ignore_labels dropped at the end. A token is a subword when its vocabulary string
// is not as long as the text it covers ("##ing" vs "ing"), the fast tokenizer's rule; an [UNK] token
// takes the text it covers as its word. start/end are UTF-16 offsets into the input, as /tokenize.
#pragma once
#include <string>
#include <vector>

#include "engine/model/task_head.h"
#include "engine/model/task_registry.h"

namespace bert {

enum class Aggregation { kNone, kSimple, kFirst, kAverage, kMax };

// A request's options, read from the canonical JSON in prepare(): defined in token_classify.cc, the one
// native file a new option touches (docs/architecture.md).
struct TokenClassifyParams;

class TokenClassifyHead : public TaskHead {
 public:
  explicit TokenClassifyHead(const HeadContext& c) : tokenizer_(c.tokenizer), labels_(c.config.labels) {}
  std::string bind(Model& model) override;
  void prepare(Request& request) const override;
  void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const override;
  RequestPtr warmup_request(size_t len) const override;
  std::string info_json() const override;

  // The pipeline's post-processing of one request's softmax scores [tokens, labels] (row-major).
  std::string entities_json(const Request& r, const TokenClassifyParams& p, const float* scores) const;

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::vector<std::string> labels_;
};

}  // namespace bert
