#include "engine/model/question_answering.h"

#include <algorithm>
#include <cmath>

#include "engine/json_writer.h"
#include "engine/model/head_params.h"
#include "engine/model/non_finite.h"
#include "engine/model/probe.h"
#include "engine/model/span_json.h"
#include "engine/model/utf16.h"
#include "engine/model/warmup.h"

namespace bert {

// A request's options, from the canonical JSON src/tasks/question_answering.ts writes (prepare();
// their defaults live there only), and the context's tokens [context_begin, context_end), found in
// prepare(). A warm-up request has no context and answers an empty list, whatever the options.
struct QuestionAnsweringParams : HeadParams {
  int64_t top_k = 0;
  int64_t max_answer_len = 0;
  bool handle_impossible_answer = false;
  bool align_to_words = false;
  int64_t context_begin = 0, context_end = 0;
};

namespace {

struct Span {
  int64_t start, end;  // token indices, inclusive
  float score;
};

// The pipeline's softmax: tokens outside `keep` are set to -10000 first, then exp(x - max) / sum, in
// float32 (the pipeline's numpy arrays are float32).
void masked_softmax(std::vector<float>& v, const std::vector<bool>& keep) {
  float max = -INFINITY;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!keep[i]) v[i] = -10000.0f;
    max = std::max(max, v[i]);
  }
  float sum = 0;
  for (float& x : v) sum += (x = std::exp(x - max));
  for (float& x : v) x /= sum;
}

}  // namespace

torch::Tensor span_logits(Model& model, const PaddedBatch& batch) {
  const c10::IValue out = model.forward_value(batch);
  if (out.isTuple()) {
    const auto& e = out.toTupleRef().elements();
    if (e.size() >= 2 && e[0].isTensor() && e[1].isTensor() && e[0].toTensor().dim() == 2 &&
        e[0].toTensor().sizes() == e[1].toTensor().sizes())
      return torch::stack({e[0].toTensor(), e[1].toTensor()}, -1);
  }
  return model.answer_of(out);
}

QuestionAnsweringHead::QuestionAnsweringHead(const HeadContext& c)
    : tokenizer_(c.tokenizer), wordpiece_(c.tokenizer->describe().model == "WordPiece") {}

std::string QuestionAnsweringHead::bind(Model& model) {
  c10::InferenceMode guard;
  const Probe probe = make_probe(model, *tokenizer_, false);
  // The element forward answers (the [b, s, 2] logits, or the start logits of a tuple): padded and
  // alone alike at every real token, and finite.
  check_forward(model, probe, probe_forward(model, probe), /*per_token=*/true);
  const torch::Tensor out = span_logits(model, probe.batch);
  check_answer_shape(model, probe, out, /*per_token=*/true, 2,
                     "start and end logits: [batch, seq, 2], or a (start_logits, end_logits) tuple of [batch, seq] as "
                     "transformers' torchscript=True gives");
  const std::string bad = first_non_finite(out.to(torch::kFloat).cpu().contiguous().data_ptr<float>(), out.numel());
  if (!bad.empty())
    throw EngineError(ErrorCode::kModelInvalid, model.path() + ": forward gives a non-finite start or end logit (" + bad +
                                                    ") on the load-time probe (" + probe.describe() + ")");
  return "start and end logits per token";
}

void QuestionAnsweringHead::prepare(Request& r) const {
  if (!r.has_pair) throw EngineError(ErrorCode::kInvalidArgument, "question answering takes a question and a context");
  const auto j = parse_params(r.params_json);
  auto p = std::make_unique<QuestionAnsweringParams>();
  p->top_k = required_param<int64_t>(j, "top_k");
  p->max_answer_len = required_param<int64_t>(j, "max_answer_len");
  p->handle_impossible_answer = required_param<bool>(j, "handle_impossible_answer");
  p->align_to_words = required_param<bool>(j, "align_to_words");
  // The context is the second run of tokens the post-processor did not add ([CLS] q [SEP] c [SEP],
  // <s> q </s></s> c </s>): the pipeline's sequence_ids() == 1. Special tokens typed in a text are
  // that text's tokens (special_tokens_mask 0), as there.
  const auto& added = r.encoding.special_tokens_mask;
  int run = -1;
  for (size_t i = 0; i < added.size(); ++i) {
    if (added[i]) continue;
    if (i == 0 || added[i - 1]) ++run;
    if (run == 1) {
      if (p->context_end == 0) p->context_begin = static_cast<int64_t>(i);
      p->context_end = static_cast<int64_t>(i) + 1;
    }
  }
  if (run < 1)
    throw EngineError(ErrorCode::kInvalidArgument,
                      "the question or the context has no tokens (it holds only spaces or characters the tokenizer drops)");
  r.params = std::move(p);
}

RequestPtr QuestionAnsweringHead::warmup_request(size_t len) const {
  // No context: the warm-up runs the model and answers an empty list.
  return make_warmup_request(*tokenizer_, len, std::make_unique<QuestionAnsweringParams>());
}

void QuestionAnsweringHead::run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const {
  const torch::Tensor logits = span_logits(model, batch).to(torch::kFloat).cpu().contiguous();  // [n, s, 2]
  answer_finite_rows(logits, model.name(), "start and end logits", requests, [&](Request& r, size_t b) {
    r.json = answers_json(r, static_cast<const QuestionAnsweringParams&>(*r.params),
                          logits.data_ptr<float>() + static_cast<int64_t>(b) * batch.seq_len * 2);
  });
}

std::string QuestionAnsweringHead::answers_json(const Request& r, const QuestionAnsweringParams& p, const float* logits) const {
  const int64_t n = static_cast<int64_t>(r.num_tokens());
  const int64_t cb = p.context_begin, ce = p.context_end;
  // The pipeline's p_mask: the context's tokens and [CLS] take part in the softmax.
  std::vector<bool> keep(static_cast<size_t>(n));
  std::vector<float> start(static_cast<size_t>(n)), end(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    keep[i] = (i >= cb && i < ce) || r.encoding.ids[i] == tokenizer_->cls_id();
    start[i] = logits[2 * i];
    end[i] = logits[2 * i + 1];
  }
  masked_softmax(start, keep);
  masked_softmax(end, keep);
  const float null_score = n > 0 ? start[0] * end[0] : 0.0f;
  // Spans of context tokens, s <= e < s + max_answer_len, best first; equal scores in (s, e) order,
  // as the pipeline's argmax over the flattened [s, e] matrix takes the first.
  std::vector<Span> spans;
  for (int64_t s = cb; s < ce; ++s)
    for (int64_t e = s; e < std::min(ce, s + p.max_answer_len); ++e) spans.push_back({s, e, start[s] * end[e]});
  const size_t k = std::min(spans.size(), static_cast<size_t>(p.top_k));
  std::partial_sort(spans.begin(), spans.begin() + static_cast<std::ptrdiff_t>(k), spans.end(), [](const Span& a, const Span& c) {
    return a.score > c.score || (a.score == c.score && (a.start < c.start || (a.start == c.start && a.end < c.end)));
  });
  spans.resize(k);

  struct Answer {
    float score;
    uint32_t start, end;
  };
  // A WordPiece token continues the word before it when it has the continuing-subword prefix ("##ing"):
  // WordPiece splits each word of the pre-tokenizer into a first piece and "##" pieces.
  auto continues_word = [&](int64_t i) { return tokenizer_->id_to_token(r.encoding.ids[i]).rfind("##", 0) == 0; };
  std::vector<Answer> answers;
  for (const Span& sp : spans) {
    int64_t s = sp.start, e = sp.end;
    if (p.align_to_words && wordpiece_) {
      while (s > cb && continues_word(s)) --s;
      while (e + 1 < ce && continues_word(e + 1)) ++e;
    }
    answers.push_back({sp.score, r.encoding.offsets[s].first, r.encoding.offsets[e].second});
  }
  if (p.handle_impossible_answer) answers.push_back({null_score, 0, 0});
  std::stable_sort(answers.begin(), answers.end(), [](const Answer& a, const Answer& c) { return a.score > c.score; });
  if (answers.size() > static_cast<size_t>(p.top_k)) answers.resize(static_cast<size_t>(p.top_k));

  const auto map = utf16_to_byte(r.text_pair);
  std::string out;
  JsonWriter w(out);
  // One answer is the object itself, as the pipeline answers it.
  if (answers.size() != 1) w.ch('[');
  for (size_t i = 0; i < answers.size(); ++i) {
    const Answer& a = answers[i];
    if (i) w.ch(',');
    w.raw("{\"score\":");
    w.number(a.score);
    write_offsets(w, a.start, a.end);
    w.raw(",\"answer\":");
    w.str(utf16_slice(r.text_pair, map, a.start, a.end));
    w.ch('}');
  }
  if (answers.size() != 1) w.ch(']');
  return out;
}

}  // namespace bert
