// Fill-mask answers with exactly the Hugging Face fill-mask pipeline's shape and semantics:
// softmax over the vocabulary at each mask position (only those rows are computed where the model
// allows it), optional `targets` restricting the candidates, top-k, token_str = decode([id]),
// sequence = the input with the mask replaced, decoded (special tokens skipped when the input has a
// single mask).
//
// The vocabulary projection is most of a small model's cost and the answer needs it only at mask
// rows, so bind() picks, in order: the exporter's fill_mask_logits method; the encoder and head
// submodules that a Hugging Face trace or script keeps (`bert`, `cls`), run as encoder -> gather
// mask rows -> head; else the full forward (logged with what it costs).
#pragma once
#include <memory>
#include <optional>

#include "engine/model/task_head.h"
#include "engine/model/task_registry.h"
#include "engine/text/tokenizer.h"

namespace bert {

struct FillMaskParams : HeadParams {
  int top_k = 5;
  std::vector<int64_t> target_ids;  // resolved from the caller's targets (deduplicated)
};

class FillMaskHead : public TaskHead {
 public:
  explicit FillMaskHead(const HeadContext& c) : tokenizer_(c.tokenizer), vocab_size_(c.config.vocab_size) {}
  const char* name() const override { return "fill-mask"; }
  std::string bind(Model& model) override;
  void prepare(Request& request) const override;
  void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const override;
  RequestPtr warmup_request(size_t len) const override;
  std::string info_json() const override;

  enum class Path { kFillMaskLogits, kEncoderThenHead, kFullForward };
  Path path() const { return path_; }

 private:
  // Logits [m, vocab] (float32) at the flat rows `index` (batch_idx * seq_len + pos).
  torch::Tensor logits_at(Model& model, const PaddedBatch& batch, const torch::Tensor& index, Path path) const;
  void serialize(Request& r, const FillMaskParams& p, const torch::Tensor& scores, const torch::Tensor& ids) const;

  std::shared_ptr<const Tokenizer> tokenizer_;
  int64_t vocab_size_;
  Path path_ = Path::kFullForward;
  std::optional<torch::jit::Method> method_, encoder_, head_;
  int encoder_inputs_ = 2;
  // The head's arguments: a traced model with tied weights passes the shared weight to cls.forward
  // (cls.forward(weight, hidden)); those are fixed tensors here, and the hidden states go in one slot.
  std::vector<torch::Tensor> head_args_;
  size_t hidden_slot_ = 0;
};

}  // namespace bert
