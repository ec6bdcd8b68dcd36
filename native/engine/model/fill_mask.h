// Fill-mask answers with exactly the Hugging Face fill-mask pipeline's shape and semantics:
// softmax over the vocabulary at each mask position (only those rows are computed where the model
// allows it), optional `targets` restricting the candidates, top-k, token_str = decode([id]),
// sequence = the input with the mask replaced, decoded (special tokens skipped when the input has a
// single mask).
//
// The vocabulary projection is most of a small model's cost and the answer needs it only at mask
// rows, so bind() picks, in order: the exporter's fill_mask_logits method; the encoder and the head
// submodules that a Hugging Face trace or script keeps (`bert` then `cls`, found by the structure of
// forward's graph and called with the arguments forward gives them, call_map.h), run as encoder ->
// gather mask rows -> head; else the full forward (logged with what it costs). A faster path is used
// only after it reproduced the full forward at every real position of the load-time probe
// (probe.h); a fill-mask answer whose logits hold NaN or Inf fails with kNonFiniteOutput.
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "engine/model/call_map.h"
#include "engine/model/task_head.h"
#include "engine/model/task_registry.h"
#include "engine/text/tokenizer.h"

namespace bert {

// A request's options, read from the canonical JSON in prepare(): defined in fill_mask.cc, the one
// native file a new option touches (docs/architecture.md).
struct FillMaskParams;

class FillMaskHead : public TaskHead {
 public:
  explicit FillMaskHead(const HeadContext& c) : tokenizer_(c.tokenizer), vocab_size_(c.config.vocab_size) {}
  std::string bind(Model& model) override;
  void prepare(Request& request) const override;
  void run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const override;
  RequestPtr warmup_request(size_t len) const override;
  std::string info_json() const override;

  enum class Path { kFillMaskLogits, kEncoderThenHead, kFullForward };
  Path path() const { return path_; }
  std::string path_id() const override;

 private:
  // Logits [m, vocab] (float32) at the flat rows `index` (batch_idx * seq_len + pos).
  torch::Tensor logits_at(Model& model, const PaddedBatch& batch, const torch::Tensor& index, Path path) const;
  void serialize(Request& r, const FillMaskParams& p, const torch::Tensor& scores, const torch::Tensor& ids) const;
  // Maps fill_mask_logits' parameters by name (positionally in the exporter's order otherwise).
  void map_fill_mask_logits(const torch::jit::Method& m, int forward_inputs);

  std::shared_ptr<const Tokenizer> tokenizer_;
  int64_t vocab_size_;
  Path path_ = Path::kFullForward;
  std::optional<torch::jit::Method> method_;
  // fill_mask_logits' parameters: 0-2 an InputRole, 3 the mask index.
  std::vector<int> method_args_;
  // The encoder and head calls, with the arguments forward passes them.
  std::optional<BoundCall> encoder_;
  std::vector<BoundCall> head_;
  HeadChain chain_;
};

}  // namespace bert
