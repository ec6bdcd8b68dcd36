// Extractive question answering (<Family>ForQuestionAnswering: a qa_outputs linear layer giving a
// start and an end logit per token) with the Hugging Face question-answering pipeline's semantics.
// A request is the pair (question, context), encoded as the tokenizer lays a pair out ([CLS] question
// [SEP] context [SEP]). The start and end logits are each put through a softmax over the context's
// tokens and [CLS] (every other token is set to -10000 first, as the pipeline's p_mask does); a span
// (s, e) of context tokens with s <= e < s + max_answer_len scores start[s] x end[e]; the top_k
// spans, best first. handle_impossible_answer adds the null answer ("" at 0..0) scored
// start[CLS] x end[CLS]. start/end are UTF-16 offsets into the context (JavaScript string indices,
// as /tokenize's); with align_to_words a WordPiece span is widened to whole words, as the pipeline
// widens it through the fast tokenizer's word ids (byte-level BPE and Unigram spans are not: their
// words are the pre-tokenizer's, which the encoding does not keep). Unlike the pipeline, a span
// never starts or ends at [CLS]: where the context has fewer spans than top_k, the pipeline fills
// its list with spans of score 0 starting at [CLS] (its argpartition decides which); this answers
// fewer.
//
// The model's output: [batch, seq, 2] (the qa_outputs layer, as our exporter writes it), or
// transformers' (start_logits, end_logits) tuple of [batch, seq] (a trace with torchscript=True).
#pragma once
#include <string>
#include <vector>

#include "engine/model/task_head.h"
#include "engine/model/task_registry.h"

namespace bert {

// A request's options and where its context lies: defined in question_answering.cc.
struct QuestionAnsweringParams;

class QuestionAnsweringHead : public TaskHead {
 public:
  explicit QuestionAnsweringHead(const HeadContext& c);
  std::string bind(Model& model) override;
  void prepare(Request& request) const override;
  void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const override;
  RequestPtr warmup_request(size_t len) const override;

  // The pipeline's post-processing of one request's logits ([tokens, 2], row-major: start, end).
  std::string answers_json(const Request& r, const QuestionAnsweringParams& p, const float* logits) const;

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  bool wordpiece_;  // words are found by the continuing-subword prefix ("##"): align_to_words applies
};

// start and end logits of every token as [batch, seq, 2], whichever of the shapes above the model
// answers in. Throws kModelInvalid naming the output when it is none of them.
torch::Tensor span_logits(Model& model, const PaddedBatch& batch);

}  // namespace bert
