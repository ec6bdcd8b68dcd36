#include "engine/model/classify.h"

#include <algorithm>
#include <numeric>

#include "engine/json_writer.h"
#include "engine/log.h"
#include "engine/model/head_params.h"
#include "engine/model/non_finite.h"
#include "engine/model/probe.h"
#include "engine/model/warmup.h"

namespace bert {

// A request's options, from the canonical JSON src/tasks/ writes (prepare()).
struct ClassifyParams : HeadParams {
  ScoreFunction function = ScoreFunction::kSoftmax;
  int64_t top_k = 1;        // 0: every label (from the request; its default is src/tasks/classify.ts's)
  bool score_only = false;  // answer the first label's score as a number
};

ScoreFunction default_score_function(const ModelConfig& c) {
  if (c.problem_type == "multi_label_classification" || c.labels.size() == 1) return ScoreFunction::kSigmoid;
  if (c.problem_type == "regression") return ScoreFunction::kNone;
  return ScoreFunction::kSoftmax;
}

ScoreFunction parse_score_function(const std::string& name, ScoreFunction fallback) {
  if (name.empty() || name == "default") return fallback;
  if (name == "softmax") return ScoreFunction::kSoftmax;
  if (name == "sigmoid") return ScoreFunction::kSigmoid;
  if (name == "none") return ScoreFunction::kNone;
  throw EngineError(ErrorCode::kInternal, "\"function_to_apply\" is not one of softmax, sigmoid, none");
}

const char* score_function_name(ScoreFunction f) {
  switch (f) {
    case ScoreFunction::kSoftmax: return "softmax";
    case ScoreFunction::kSigmoid: return "sigmoid";
    case ScoreFunction::kNone: return "none";
  }
  return "none";
}

torch::Tensor apply_score_function(const torch::Tensor& logits, ScoreFunction f) {
  switch (f) {
    case ScoreFunction::kSoftmax: return logits.softmax(-1);
    case ScoreFunction::kSigmoid: return logits.sigmoid();
    case ScoreFunction::kNone: return logits;
  }
  return logits;
}

std::string labels_json(const std::vector<std::string>& labels) {
  std::string out;
  JsonWriter w(out);
  w.ch('[');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) w.ch(',');
    w.str(labels[i]);
  }
  w.ch(']');
  return out;
}

ClassifyHead::ClassifyHead(const HeadContext& c)
    : tokenizer_(c.tokenizer), labels_(c.config.labels), default_function_(default_score_function(c.config)) {}

std::string ClassifyHead::bind(Model& model) {
  c10::InferenceMode guard;
  const Probe probe = make_probe(model, *tokenizer_, false);
  const torch::Tensor out = probe_forward(model, probe);
  const int64_t n = static_cast<int64_t>(labels_.size());
  check_answer_shape(model, probe, out, /*per_token=*/false, n,
                     "logits [batch, " + std::to_string(n) + "] (" + std::to_string(n) + " labels: id2label in config.json)");
  check_forward(model, probe, out, /*per_token=*/false);
  return std::to_string(n) + " labels, " + score_function_name(default_function_) + " by default";
}

std::string ClassifyHead::info_json() const {
  return "\"labels\":" + labels_json(labels_) + ",\"function_to_apply\":\"" + score_function_name(default_function_) + "\"";
}

void ClassifyHead::prepare(Request& r) const {
  const auto j = parse_params(r.params_json);
  auto p = std::make_unique<ClassifyParams>();
  p->function = parse_score_function(param<std::string>(j, "function_to_apply").value_or(""), default_function_);
  p->top_k = param<int64_t>(j, "top_k").value_or(0);  // null: every label
  if (p->top_k == 0 || p->top_k > static_cast<int64_t>(labels_.size())) p->top_k = static_cast<int64_t>(labels_.size());
  p->score_only = required_param<bool>(j, "score_only");
  r.params = std::move(p);
}

RequestPtr ClassifyHead::warmup_request(size_t len) const {
  return make_warmup_request(*tokenizer_, len, std::make_unique<ClassifyParams>());
}

void ClassifyHead::run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const {
  const torch::Tensor logits = model.forward(batch).to(torch::kFloat).cpu().contiguous();  // [n, labels]
  const int64_t n_labels = logits.size(1);
  // One transform per function asked for in this batch (usually one).
  torch::Tensor by_function[3];
  std::vector<int64_t> order(static_cast<size_t>(n_labels));
  for (size_t b = 0; b < requests.size(); ++b) {
    Request& r = *requests[b];
    const auto& p = static_cast<const ClassifyParams&>(*r.params);
    torch::Tensor& scores = by_function[static_cast<int>(p.function)];
    if (!scores.defined()) scores = apply_score_function(logits, p.function).contiguous();
    const std::string bad = first_non_finite(logits.data_ptr<float>() + static_cast<int64_t>(b) * n_labels, n_labels);
    if (!bad.empty()) {
      fail_non_finite(r, model.name(), "the classification logits", bad);
      continue;
    }
    const float* row = scores.data_ptr<float>() + static_cast<int64_t>(b) * n_labels;
    std::string out;
    JsonWriter w(out);
    if (p.score_only) {
      w.number(row[0]);
      r.json = std::move(out);
      continue;
    }
    std::iota(order.begin(), order.end(), 0);
    // Stable: equal scores keep label order, as numpy's argsort on the pipeline's reversed scores
    // would not guarantee either; ties are vanishingly rare with float logits.
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) { return row[a] > row[c]; });
    w.ch('[');
    for (int64_t i = 0; i < p.top_k; ++i) {
      if (i) w.ch(',');
      w.raw("{\"label\":");
      w.str(labels_[static_cast<size_t>(order[i])]);
      w.raw(",\"score\":");
      w.number(row[order[i]]);
      w.ch('}');
    }
    w.ch(']');
    r.json = std::move(out);
  }
}

}  // namespace bert
