#include "engine/model/fill_mask.h"

#include <algorithm>

#include "engine/json_writer.h"

namespace bert {

void FillMaskHead::prepare(Request& r) const {
  const int64_t mask = tokenizer_->mask_id();
  r.mask_positions.clear();
  for (size_t i = 0; i < r.encoding.ids.size(); ++i)
    if (r.encoding.ids[i] == mask) r.mask_positions.push_back(static_cast<int64_t>(i));
  if (r.mask_positions.empty()) {
    throw EngineError(ErrorCode::kNoMaskToken, "no mask token (" + tokenizer_->config().mask_token + ") in the input" +
                                                   std::string(r.encoding.truncated ? " after truncation" : ""));
  }
  auto& p = r.fill_mask;
  p.target_ids.clear();
  if (!p.targets.empty()) {
    // As Hugging Face: a target that is a vocabulary entry is used as is; otherwise its first token.
    for (const auto& t : p.targets) {
      int64_t id = tokenizer_->token_to_id(t);
      if (id < 0) {
        Encoding e = tokenizer_->encode(t, false, 0);
        if (e.ids.empty()) continue;
        id = e.ids[0];
      }
      if (std::find(p.target_ids.begin(), p.target_ids.end(), id) == p.target_ids.end()) p.target_ids.push_back(id);
    }
    if (p.target_ids.empty())
      throw EngineError(ErrorCode::kInvalidArgument, "no target maps to a vocabulary token");
  }
  const int64_t candidates = p.target_ids.empty() ? static_cast<int64_t>(tokenizer_->vocab_size())
                                                  : static_cast<int64_t>(p.target_ids.size());
  p.top_k = static_cast<int>(std::min<int64_t>(std::max(p.top_k, 1), candidates));
}

void FillMaskHead::run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const {
  // Every mask row of the batch in one index: row = batch_index * seq_len + position.
  std::vector<int64_t> flat;
  for (size_t b = 0; b < requests.size(); ++b)
    for (int64_t pos : requests[b]->mask_positions) flat.push_back(static_cast<int64_t>(b) * batch.seq_len + pos);
  torch::Tensor index = torch::tensor(flat, torch::TensorOptions().dtype(torch::kLong)).to(batch.input_ids.device());
  torch::Tensor probs = model.mlm_logits_at(batch.input_ids, batch.attention_mask, index).softmax(-1);
  // Vocab-wide top-k for all rows of requests without targets, in one call.
  int k = 1;
  bool any_targets = false;
  for (auto& r : requests) {
    if (r->fill_mask.target_ids.empty()) k = std::max(k, r->fill_mask.top_k);
    else any_targets = true;
  }
  auto top = probs.topk(k, -1);
  torch::Tensor scores = std::get<0>(top).cpu(), ids = std::get<1>(top).cpu();
  torch::Tensor probs_cpu = any_targets ? probs.cpu() : torch::Tensor();
  int64_t row = 0;
  for (auto& r : requests) {
    const int64_t m = static_cast<int64_t>(r->mask_positions.size());
    if (r->fill_mask.target_ids.empty()) {
      serialize(*r, scores.narrow(0, row, m), ids.narrow(0, row, m));
    } else {
      torch::Tensor tid = torch::tensor(r->fill_mask.target_ids, torch::kLong);
      auto t = probs_cpu.narrow(0, row, m).index_select(1, tid).topk(r->fill_mask.top_k, -1);
      serialize(*r, std::get<0>(t), tid.index_select(0, std::get<1>(t).reshape({-1})).reshape({m, -1}));
    }
    row += m;
  }
}

// scores/ids: [masks, >= top_k], best first.
void FillMaskHead::serialize(Request& r, const torch::Tensor& scores, const torch::Tensor& ids) const {
  const int k = r.fill_mask.top_k;
  const bool single = r.mask_positions.size() == 1;
  auto sc = scores.accessor<float, 2>();
  auto id = ids.accessor<int64_t, 2>();
  std::vector<int64_t> seq;
  seq.reserve(r.encoding.ids.size());
  const int64_t pad = tokenizer_->pad_id();
  std::string out;
  out.reserve(160 * k * r.mask_positions.size());
  JsonWriter w(out);
  if (!single) w.ch('[');
  for (size_t j = 0; j < r.mask_positions.size(); ++j) {
    if (j) w.ch(',');
    w.ch('[');
    for (int i = 0; i < k; ++i) {
      const int64_t token = id[j][i];
      seq.clear();
      for (size_t p = 0; p < r.encoding.ids.size(); ++p) {
        const int64_t t = static_cast<int64_t>(p) == r.mask_positions[j] ? token : r.encoding.ids[p];
        if (t != pad) seq.push_back(t);  // the pipeline filters padding out
      }
      if (i) w.ch(',');
      w.raw("{\"score\":");
      w.number(static_cast<double>(sc[j][i]));
      w.raw(",\"token\":");
      w.integer(token);
      w.raw(",\"token_str\":");
      w.str(tokenizer_->decode({token}, false, true));
      w.raw(",\"sequence\":");
      // With several masks the others stay visible, so special tokens are kept (as the pipeline).
      w.str(tokenizer_->decode(seq, single, true));
      w.ch('}');
    }
    w.ch(']');
  }
  if (!single) w.ch(']');
  r.json = std::move(out);
}

}  // namespace bert
