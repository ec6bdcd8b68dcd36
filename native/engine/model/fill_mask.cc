#include "engine/model/fill_mask.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include <torch/csrc/jit/ir/ir.h>

#include "engine/json_writer.h"
#include "engine/model/head_params.h"
#include "engine/model/warmup.h"

namespace bert {
namespace {

// How the module's own forward calls `name`.forward: each argument that is a chain of attribute
// reads from the module (a parameter, e.g. the tied word-embedding matrix a trace passes to `cls`)
// becomes a fixed tensor; the one other argument is the hidden states' slot. False when the forward
// does not call it that way.
bool resolve_call(const torch::jit::Module& module, const std::string& name, std::vector<torch::Tensor>& args, size_t& hidden_slot) {
  auto forward = module.find_method("forward");
  if (!forward) return false;
  auto graph = forward->graph();
  torch::jit::Value* self = graph->inputs()[0];
  for (torch::jit::Node* n : graph->nodes()) {
    if (n->kind() != c10::prim::CallMethod || n->s(c10::attr::name) != "forward") continue;
    torch::jit::Node* owner = n->input(0)->node();
    if (owner->kind() != c10::prim::GetAttr || owner->s(c10::attr::name) != name || owner->input(0) != self) continue;
    args.clear();
    int hidden = -1;
    for (size_t i = 1; i < n->inputs().size(); ++i) {
      std::vector<std::string> path;
      torch::jit::Value* v = n->input(i);
      while (v->node()->kind() == c10::prim::GetAttr) {
        path.push_back(v->node()->s(c10::attr::name));
        v = v->node()->input(0);
      }
      if (v == self && !path.empty()) {
        c10::IValue cur = module._ivalue();
        for (auto it = path.rbegin(); it != path.rend(); ++it) cur = cur.toObject()->getAttr(*it);
        if (!cur.isTensor()) return false;
        args.push_back(cur.toTensor());
      } else {
        if (hidden >= 0) return false;  // two computed arguments: not a head we understand
        hidden = static_cast<int>(i - 1);
        args.emplace_back();
      }
    }
    if (hidden < 0) return false;
    hidden_slot = static_cast<size_t>(hidden);
    return true;
  }
  return false;
}

}  // namespace

std::string FillMaskHead::bind(Model& model) {
  c10::InferenceMode guard;
  PaddedBatch probe = probe_batch(model, 1, 4);
  torch::Tensor full;
  try {
    full = model.forward(probe);
  } catch (const EngineError&) {
    throw;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[bert-serve] %s: validation forward failed: %s\n", model.path().c_str(), e.what());
    throw EngineError(ErrorCode::kModelInvalid, model.path() + ": forward failed on a [1, 4] int64 input (expected forward(input_ids, "
                                                               "attention_mask[, token_type_ids]) with int64 [batch, seq] inputs)" +
                                                               model.failure_hint());
  }
  if (full.dim() != 3 || full.size(0) != 1 || full.size(1) != 4 || full.size(2) != vocab_size_) {
    throw EngineError(ErrorCode::kModelInvalid, model.path() + ": forward returned " + shape_str(full) + " for a [1, 4] input; a " +
                                                    model.config().architecture + " must return logits [batch, seq, " +
                                                    std::to_string(vocab_size_) + "] (vocab_size in config.json)");
  }
  const torch::Tensor rows = torch::tensor({int64_t{1}, int64_t{3}}, torch::TensorOptions().dtype(torch::kLong)).to(probe.input_ids.device());
  const torch::Tensor want = full.reshape({-1, vocab_size_}).index_select(0, rows).to(torch::kFloat);
  // The faster paths must give the full forward's answers; a file whose submodules do something else
  // (e.g. a wrapper that post-processes) keeps the full forward.
  auto agrees = [&](Path p, const char* what) {
    try {
      torch::Tensor got = logits_at(model, probe, rows, p);
      if (got.sizes() == want.sizes() && (got - want).abs().max().item<float>() <= 1e-3f * std::max(1.0f, want.abs().max().item<float>()))
        return true;
      std::fprintf(stderr, "[bert-serve] %s: %s does not reproduce forward(); using forward\n", model.path().c_str(), what);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "[bert-serve] %s: %s failed (%s); using forward\n", model.path().c_str(), what, e.what());
    }
    return false;
  };
  if ((method_ = model.find_method("fill_mask_logits"))) {
    // forward's inputs, then mask_index: a family without token types (DistilBERT, MPNet) has one fewer.
    if (Model::arity(*method_) != model.forward_inputs() + 1)
      throw EngineError(ErrorCode::kModelInvalid, model.path() + ": fill_mask_logits must take forward's inputs and mask_index: (input_ids, attention_mask" +
                                                      (model.forward_inputs() == 3 ? ", token_type_ids" : "") + ", mask_index)");
    torch::Tensor got = logits_at(model, probe, rows, Path::kFillMaskLogits);
    if (got.dim() != 2 || got.size(0) != 2 || got.size(1) != vocab_size_)
      throw EngineError(ErrorCode::kModelInvalid, model.path() + ": fill_mask_logits returned " + shape_str(got) + "; expected [2, " +
                                                      std::to_string(vocab_size_) + "]");
    path_ = Path::kFillMaskLogits;
    return "fill_mask_logits: vocabulary projection at mask rows only";
  }
  encoder_ = model.find_method("bert.forward");
  head_ = model.find_method("cls.forward");
  bool head_ok = false;
  if (head_) {
    head_args_.assign(1, torch::Tensor());
    hidden_slot_ = 0;
    head_ok = Model::arity(*head_) == 1 || (resolve_call(model.module(), "cls", head_args_, hidden_slot_) &&
                                             static_cast<int>(head_args_.size()) == Model::arity(*head_));
  }
  if (encoder_ && head_ok && (Model::arity(*encoder_) == 2 || Model::arity(*encoder_) == 3)) {
    encoder_inputs_ = Model::arity(*encoder_);
    if (agrees(Path::kEncoderThenHead, "the bert + cls submodules")) {
      path_ = Path::kEncoderThenHead;
      return "bert + cls submodules: encoder, then the vocabulary projection at mask rows only";
    }
  }
  path_ = Path::kFullForward;
  return "full forward: the vocabulary projection runs at every token (no fill_mask_logits method and no usable bert/cls "
         "submodules; re-export with scripts/export_hf.py for the mask-row path)";
}

std::string FillMaskHead::info_json() const {
  const char* p = path_ == Path::kFillMaskLogits ? "fill_mask_logits" : path_ == Path::kEncoderThenHead ? "encoder_then_head" : "full_forward";
  return std::string("\"head_path\":\"") + p + "\"";
}

torch::Tensor FillMaskHead::logits_at(Model& model, const PaddedBatch& b, const torch::Tensor& index, Path path) const {
  switch (path) {
    case Path::kFillMaskLogits: {
      std::vector<c10::IValue> args{b.input_ids, b.attention_mask};
      if (model.forward_inputs() == 3) args.emplace_back(b.token_type_ids);
      args.emplace_back(index);
      return (*method_)(std::move(args)).toTensor().to(torch::kFloat);
    }
    case Path::kEncoderThenHead: {
      torch::Tensor hidden = model.call(*encoder_, b, encoder_inputs_);
      std::vector<c10::IValue> args(head_args_.begin(), head_args_.end());
      args[hidden_slot_] = hidden.reshape({-1, hidden.size(-1)}).index_select(0, index);
      return (*head_)(std::move(args)).toTensor().to(torch::kFloat);
    }
    case Path::kFullForward:
    default: {
      torch::Tensor logits = model.forward(b);
      return logits.reshape({-1, logits.size(-1)}).index_select(0, index).to(torch::kFloat);
    }
  }
}

RequestPtr FillMaskHead::warmup_request(size_t len) const {
  RequestPtr r = make_warmup_request(*tokenizer_, len, std::make_unique<FillMaskParams>());
  r->encoding.ids[len / 2] = tokenizer_->mask_id();
  r->rows = {static_cast<int64_t>(len / 2)};
  return r;
}

void FillMaskHead::prepare(Request& r) const {
  const auto j = parse_params(r.params_json);
  auto p = std::make_unique<FillMaskParams>();
  p->top_k = static_cast<int>(int_param(j, "top_k", 5, 1, 100000));
  const int64_t max_masks = int_param(j, "max_masks", 0, 0, INT64_MAX);
  const int64_t max_predictions = int_param(j, "max_predictions", 0, 0, INT64_MAX);
  const int64_t mask = tokenizer_->mask_id();
  r.rows.clear();
  for (size_t i = 0; i < r.encoding.ids.size(); ++i)
    if (r.encoding.ids[i] == mask) r.rows.push_back(static_cast<int64_t>(i));
  if (r.rows.empty()) {
    throw EngineError(ErrorCode::kNoMaskToken, "no mask token (" + tokenizer_->config().mask_token + ") in the input" +
                                                   std::string(r.encoding.truncated ? " after truncation" : ""));
  }
  const int64_t masks = static_cast<int64_t>(r.rows.size());
  if (max_masks > 0 && masks > max_masks)
    throw EngineError(ErrorCode::kTooManyPredictions, "the input has " + std::to_string(masks) + " mask tokens; the limit is " +
                                                          std::to_string(max_masks) + " per text (--max-masks)");
  auto t = j.find("targets");
  if (t != j.end() && !t->is_null()) {
    if (!t->is_array() || t->empty()) throw EngineError(ErrorCode::kInvalidArgument, "\"targets\" must be a non-empty list of strings");
    // As Hugging Face: a target that is a vocabulary entry is used as is; otherwise its first token.
    std::unordered_set<int64_t> seen;  // linear in the targets, not quadratic
    for (const auto& v : *t) {
      if (!v.is_string()) throw EngineError(ErrorCode::kInvalidArgument, "\"targets\" must be a non-empty list of strings");
      const std::string target = v.get<std::string>();
      int64_t id = tokenizer_->token_to_id(target);
      if (id < 0) {
        Encoding e = tokenizer_->encode(target, false, 0);
        if (e.ids.empty()) continue;
        id = e.ids[0];
      }
      if (seen.insert(id).second) p->target_ids.push_back(id);
    }
    if (p->target_ids.empty()) throw EngineError(ErrorCode::kInvalidArgument, "no target maps to a vocabulary token");
  }
  const int64_t candidates = p->target_ids.empty() ? static_cast<int64_t>(tokenizer_->vocab_size())
                                                   : static_cast<int64_t>(p->target_ids.size());
  p->top_k = static_cast<int>(std::min<int64_t>(p->top_k, candidates));
  // Every target is scored at every mask, so targets count as predictions, not the top_k kept.
  const int64_t per_mask = p->target_ids.empty() ? p->top_k : static_cast<int64_t>(p->target_ids.size());
  if (max_predictions > 0 && masks * per_mask > max_predictions)
    throw EngineError(ErrorCode::kTooManyPredictions, std::to_string(masks) + " masks x " +
                                                          (p->target_ids.empty() ? "top_k " : "targets ") + std::to_string(per_mask) +
                                                          " = " + std::to_string(masks * per_mask) + " predictions; the limit is " +
                                                          std::to_string(max_predictions) + " for this text (--max-predictions)");
  r.params = std::move(p);
}

void FillMaskHead::run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const {
  // Every mask row of the batch in one index: row = batch_index * seq_len + position.
  std::vector<int64_t> flat;
  for (size_t b = 0; b < requests.size(); ++b)
    for (int64_t pos : requests[b]->rows) flat.push_back(static_cast<int64_t>(b) * batch.seq_len + pos);
  torch::Tensor index = torch::tensor(flat, torch::TensorOptions().dtype(torch::kLong)).to(batch.input_ids.device());
  torch::Tensor probs = logits_at(model, batch, index, path_).softmax(-1);
  // Vocab-wide top-k for all rows of requests without targets, in one call.
  int k = 1;
  bool any_targets = false;
  for (auto& r : requests) {
    const auto& p = static_cast<const FillMaskParams&>(*r->params);
    if (p.target_ids.empty()) k = std::max(k, p.top_k);
    else any_targets = true;
  }
  auto top = probs.topk(k, -1);
  torch::Tensor scores = std::get<0>(top).cpu(), ids = std::get<1>(top).cpu();
  torch::Tensor probs_cpu = any_targets ? probs.cpu() : torch::Tensor();
  int64_t row = 0;
  for (auto& r : requests) {
    const auto& p = static_cast<const FillMaskParams&>(*r->params);
    const int64_t m = static_cast<int64_t>(r->rows.size());
    if (p.target_ids.empty()) {
      serialize(*r, p, scores.narrow(0, row, m), ids.narrow(0, row, m));
    } else {
      torch::Tensor tid = torch::tensor(p.target_ids, torch::kLong);
      auto t = probs_cpu.narrow(0, row, m).index_select(1, tid).topk(p.top_k, -1);
      serialize(*r, p, std::get<0>(t), tid.index_select(0, std::get<1>(t).reshape({-1})).reshape({m, -1}));
    }
    row += m;
  }
}

// scores/ids: [masks, >= top_k], best first.
void FillMaskHead::serialize(Request& r, const FillMaskParams& p, const torch::Tensor& scores, const torch::Tensor& ids) const {
  const int k = p.top_k;
  const bool single = r.rows.size() == 1;
  auto sc = scores.accessor<float, 2>();
  auto id = ids.accessor<int64_t, 2>();
  std::vector<int64_t> seq;
  seq.reserve(r.encoding.ids.size());
  const int64_t pad = tokenizer_->pad_id();
  std::string out;
  out.reserve(160 * k * r.rows.size());
  JsonWriter w(out);
  if (!single) w.ch('[');
  for (size_t j = 0; j < r.rows.size(); ++j) {
    if (j) w.ch(',');
    w.ch('[');
    for (int i = 0; i < k; ++i) {
      const int64_t token = id[j][i];
      seq.clear();
      for (size_t p = 0; p < r.encoding.ids.size(); ++p) {
        const int64_t t = static_cast<int64_t>(p) == r.rows[j] ? token : r.encoding.ids[p];
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
