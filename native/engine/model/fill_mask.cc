#include "engine/model/fill_mask.h"

#include <algorithm>
#include <unordered_set>

#include "engine/json_writer.h"
#include "engine/log.h"
#include "engine/model/head_params.h"
#include "engine/model/non_finite.h"
#include "engine/model/probe.h"
#include "engine/model/warmup.h"

namespace bert {

// A request's options, from the canonical JSON src/tasks/ writes (prepare()).
struct FillMaskParams : HeadParams {
  int top_k = 1;                    // from the request (its default is src/tasks/fill_mask.ts's); 1 for warm-up requests
  std::vector<int64_t> target_ids;  // resolved from the caller's targets (deduplicated)
};

void FillMaskHead::map_fill_mask_logits(const torch::jit::Method& m, int forward_inputs) {
  // The exporter's order: forward's inputs, then mask_index.
  const std::vector<int> usual = forward_inputs == 3 ? std::vector<int>{0, 1, 2, 3} : std::vector<int>{0, 1, 3};
  const auto& args = m.function().getSchema().arguments();
  method_args_.clear();
  bool named = true;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& name = args[i].name();
    if (auto r = role_of_name(name))
      method_args_.push_back(static_cast<int>(*r));
    else if (name == "mask_index" || name == "index" || name == "rows" || name == "positions")
      method_args_.push_back(3);
    else
      named = false;
  }
  std::vector<int> sorted = method_args_;
  std::sort(sorted.begin(), sorted.end());
  if (!named || sorted != usual) method_args_ = usual;  // the probe checks this reading too
}

std::string FillMaskHead::bind(Model& model) {
  if (tokenizer_->mask_id() < 0)
    throw EngineError(ErrorCode::kModelInvalid, model.path() +
                                                    ": the tokenizer has no mask token ([MASK] / <mask>, or tokenizer_config.json's "
                                                    "mask_token), so this fill-mask model cannot be asked anything");
  c10::InferenceMode guard;
  const Probe probe = make_probe(model, *tokenizer_, true);
  const torch::Tensor full = probe_forward(model, probe);
  check_answer_shape(model, probe, full, /*per_token=*/true, vocab_size_,
                     "logits [batch, seq, " + std::to_string(vocab_size_) + "] (vocab_size in config.json)");
  check_forward(model, probe, full, /*per_token=*/true);
  // Every real position of every row: a faster path must give the full forward's logits there.
  const torch::Tensor want = full.reshape({-1, vocab_size_}).index_select(0, probe.real_positions).to(torch::kFloat);
  const double tol = probe_tolerance(model);
  auto agrees = [&](Path p, const std::string& what) {
    try {
      const std::string diff = compare(logits_at(model, probe.batch, probe.real_positions, p), want, tol);
      if (diff.empty()) return true;
      log_event(LogLevel::kWarn, "a faster path does not reproduce forward on the load-time probe; not used",
                {{"model", model.path()}, {"path", what}, {"difference", diff}});
    } catch (const std::exception& e) {
      log_event(LogLevel::kWarn, "a faster path failed on the load-time probe; not used",
                {{"model", model.path()}, {"path", what}, {"error", e.what()}});
    }
    return false;
  };
  if ((method_ = model.find_method("fill_mask_logits"))) {
    // forward's inputs, then mask_index: a family without token types (DistilBERT, MPNet) has one fewer.
    if (Model::arity(*method_) == model.forward_inputs() + 1) {
      map_fill_mask_logits(*method_, model.forward_inputs());
      if (agrees(Path::kFillMaskLogits, "fill_mask_logits")) {
        path_ = Path::kFillMaskLogits;
        return "fill_mask_logits: vocabulary projection at mask rows only";
      }
    } else {
      log_event(LogLevel::kWarn, "fill_mask_logits does not take forward's arguments and mask_index; not used",
                {{"model", model.path()}, {"arguments", Model::arity(*method_)}, {"forward_arguments", model.forward_inputs()}});
    }
  }
  const CallMap map = map_calls(model.module());
  std::string why;
  if (auto chain = find_head_chain(map, why)) {
    try {
      chain_ = *chain;
      encoder_.emplace(model.module(), map, chain_.encoder);
      head_.clear();
      std::string names = map.calls[static_cast<size_t>(chain_.encoder)].path;
      for (int c : chain_.head) {
        head_.emplace_back(model.module(), map, c);
        names += " + " + map.calls[static_cast<size_t>(c)].path;
      }
      if (agrees(Path::kEncoderThenHead, "the " + names + " submodules")) {
        path_ = Path::kEncoderThenHead;
        return names + " submodules: encoder, then the vocabulary projection at mask rows only";
      }
    } catch (const EngineError& e) {
      why = e.what();
    }
  }
  if (!why.empty())
    log_event(LogLevel::kInfo, "no encoder -> head path", {{"model", model.path()}, {"reason", why}, {"submodule_calls", map.describe()}});
  encoder_.reset();
  head_.clear();
  path_ = Path::kFullForward;
  const std::string cost = "the vocabulary projection (" + std::to_string(model.config().hidden_size) + " x " +
                           std::to_string(vocab_size_) + " multiply-adds per token) runs at every token, not only at the mask rows";
  log_event(LogLevel::kWarn, "fill-mask runs the full forward", {{"model", model.path()}, {"cost", cost}});
  return "full forward: " + cost +
         " (no usable fill_mask_logits method or encoder and head submodules; re-export with "
         "scripts/export_hf.py for the mask-row path)";
}

std::string FillMaskHead::path_id() const {
  return path_ == Path::kFillMaskLogits ? "fill_mask_logits" : path_ == Path::kEncoderThenHead ? "encoder_then_head" : "full_forward";
}

std::string FillMaskHead::info_json() const { return "\"head_path\":\"" + path_id() + "\""; }

torch::Tensor FillMaskHead::logits_at(Model& model, const PaddedBatch& b, const torch::Tensor& index, Path path) const {
  switch (path) {
    case Path::kFillMaskLogits: {
      std::vector<c10::IValue> args;
      for (int a : method_args_) {
        switch (a) {
          case 0: args.emplace_back(b.input_ids); break;
          case 1: args.emplace_back(b.attention_mask); break;
          case 2: args.emplace_back(b.token_type_ids); break;
          default: args.emplace_back(index); break;
        }
      }
      return select_tensor((*method_)(std::move(args)), -1, "fill_mask_logits").to(torch::kFloat);
    }
    case Path::kEncoderThenHead: {
      const std::vector<c10::IValue> args = model.forward_args(b);
      const torch::Tensor hidden = select_tensor((*encoder_)(args, c10::IValue(), -1), chain_.hidden_element, encoder_->name());
      c10::IValue flow = hidden.reshape({-1, hidden.size(-1)}).index_select(0, index);
      for (size_t i = 0; i < head_.size(); ++i) {
        if (i > 0) flow = select_element(flow, chain_.take[i], head_[i - 1].name());
        flow = head_[i](args, flow, static_cast<int>(chain_.slot[i]));
      }
      return select_tensor(flow, chain_.answer_element, head_.back().name()).to(torch::kFloat);
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
  p->top_k = required_param<int>(j, "top_k");
  const int64_t max_masks = required_param<int64_t>(j, "max_masks");
  const int64_t max_predictions = required_param<int64_t>(j, "max_predictions");
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
  if (const auto targets = param<std::vector<std::string>>(j, "targets")) {
    // As Hugging Face: a target that is a vocabulary entry is used as is; otherwise its first token.
    std::unordered_set<int64_t> seen;  // linear in the targets, not quadratic
    for (const std::string& target : *targets) {
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
  const int64_t candidates =
      p->target_ids.empty() ? static_cast<int64_t>(tokenizer_->vocab_size()) : static_cast<int64_t>(p->target_ids.size());
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
  const torch::Tensor logits = logits_at(model, batch, index, path_);
  // A request whose mask rows hold NaN or Inf fails alone; the others are answered.
  const torch::Tensor finite = torch::isfinite(logits).all(-1).cpu();
  const bool* row_ok = finite.data_ptr<bool>();
  int64_t row = 0;
  for (auto& r : requests) {
    for (size_t j = 0; j < r->rows.size(); ++j, ++row) {
      if (row_ok[row] || r->error) continue;
      const torch::Tensor values = logits[row].cpu().contiguous();
      fail_non_finite(*r, model.name(), "the logits at mask position " + std::to_string(r->rows[j]),
                      first_non_finite(values.data_ptr<float>(), values.numel()));
    }
  }
  torch::Tensor probs = logits.softmax(-1);
  // Vocab-wide top-k for all rows of requests without targets, in one call.
  int k = 1;
  bool any_targets = false;
  for (auto& r : requests) {
    const auto& p = static_cast<const FillMaskParams&>(*r->params);
    if (p.target_ids.empty())
      k = std::max(k, p.top_k);
    else
      any_targets = true;
  }
  auto top = probs.topk(k, -1);
  torch::Tensor scores = std::get<0>(top).cpu(), ids = std::get<1>(top).cpu();
  torch::Tensor probs_cpu = any_targets ? probs.cpu() : torch::Tensor();
  row = 0;
  for (auto& r : requests) {
    const auto& p = static_cast<const FillMaskParams&>(*r->params);
    const int64_t m = static_cast<int64_t>(r->rows.size());
    if (r->error) {
      row += m;
      continue;
    }
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
      w.str(tokenizer_->decode({token}, false));
      w.raw(",\"sequence\":");
      // With several masks the others stay visible, so special tokens are kept (as the pipeline).
      w.str(tokenizer_->decode(seq, single));
      w.ch('}');
    }
    w.ch(']');
  }
  if (!single) w.ch(']');
  r.json = std::move(out);
}

}  // namespace bert
