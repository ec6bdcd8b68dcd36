#include "engine/model/token_classify.h"

#include <algorithm>
#include <cmath>

#include "engine/json_writer.h"
#include "engine/log.h"
#include "engine/model/classify.h"
#include "engine/model/head_params.h"
#include "engine/model/non_finite.h"
#include "engine/model/probe.h"
#include "engine/model/span_json.h"
#include "engine/model/utf16.h"
#include "engine/model/warmup.h"

namespace bert {

// A request's options, from the canonical JSON src/tasks/ writes (prepare()).
struct TokenClassifyParams : HeadParams {
  Aggregation aggregation = Aggregation::kNone;
  std::vector<std::string> ignore_labels;  // from the request (its default, ["O"], is src/tasks/token_classify.ts's)
};

namespace {

// One token, as the pipeline's gather_pre_entities leaves it.
struct PreEntity {
  std::string word;
  const float* scores;
  uint32_t start, end;
  int64_t index;
  bool is_subword;
};

// An entity before grouping: a token (none/simple) or a word (first/average/max).
struct Entity {
  size_t label;
  float score;
  std::string word;
  uint32_t start, end;
  int64_t index;
};

size_t argmax(const float* v, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;  // first maximum, as numpy's argmax
  return best;
}

// get_tag: ("B"|"I", tag); names without a B-/I- prefix continue as I.
std::pair<char, std::string_view> tag_of(std::string_view label) {
  if (label.rfind("B-", 0) == 0) return {'B', label.substr(2)};
  if (label.rfind("I-", 0) == 0) return {'I', label.substr(2)};
  return {'I', label};
}

}  // namespace

std::string TokenClassifyHead::bind(Model& model) {
  c10::InferenceMode guard;
  const Probe probe = make_probe(model, *tokenizer_, false);
  const torch::Tensor out = probe_forward(model, probe);
  const int64_t n = static_cast<int64_t>(labels_.size());
  check_answer_shape(model, probe, out, /*per_token=*/true, n,
                     "logits [batch, seq, " + std::to_string(n) + "] (" + std::to_string(n) + " labels: id2label in config.json)");
  check_forward(model, probe, out, /*per_token=*/true);
  return std::to_string(n) + " labels per token";
}

std::string TokenClassifyHead::info_json() const { return "\"labels\":" + labels_json(labels_); }

void TokenClassifyHead::prepare(Request& r) const {
  if (r.has_pair) throw EngineError(ErrorCode::kInvalidArgument, "token classification takes single texts, not pairs");
  const auto j = parse_params(r.params_json);
  auto p = std::make_unique<TokenClassifyParams>();
  const std::string a = required_param<std::string>(j, "aggregation_strategy");
  if (a == "none")
    p->aggregation = Aggregation::kNone;
  else if (a == "simple")
    p->aggregation = Aggregation::kSimple;
  else if (a == "first")
    p->aggregation = Aggregation::kFirst;
  else if (a == "average")
    p->aggregation = Aggregation::kAverage;
  else if (a == "max")
    p->aggregation = Aggregation::kMax;
  else
    throw EngineError(ErrorCode::kInternal, "\"aggregation_strategy\" is not one of none, simple, first, average, max");
  p->ignore_labels = required_param<std::vector<std::string>>(j, "ignore_labels");
  r.params = std::move(p);
}

RequestPtr TokenClassifyHead::warmup_request(size_t len) const {
  return make_warmup_request(*tokenizer_, len, std::make_unique<TokenClassifyParams>());
}

void TokenClassifyHead::run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const {
  const torch::Tensor out = model.forward(batch).to(torch::kFloat);  // [n, s, labels]
  // The pipeline's softmax: exp(x - max) / sum, in float32.
  const torch::Tensor scores = out.softmax(-1).cpu().contiguous();
  const int64_t n_labels = scores.size(2);
  answer_finite_rows(out.cpu().contiguous(), model.name(), "logits", requests, [&](Request& r, size_t b) {
    r.json = entities_json(r, static_cast<const TokenClassifyParams&>(*r.params),
                           scores.data_ptr<float>() + static_cast<int64_t>(b) * batch.seq_len * n_labels);
  });
}

std::string TokenClassifyHead::entities_json(const Request& r, const TokenClassifyParams& p, const float* scores) const {
  const size_t n_labels = labels_.size();
  const auto map = utf16_to_byte(r.text);
  // gather_pre_entities
  std::vector<PreEntity> pre;
  for (size_t i = 0; i < r.encoding.ids.size(); ++i) {
    const int64_t id = r.encoding.ids[i];
    const auto [start, end] = r.encoding.offsets[i];
    const std::string_view ref = utf16_slice(r.text, map, start, end);
    // The fast tokenizer's special_tokens_mask: added [CLS]/[SEP] and special tokens typed in the
    // text; an [UNK] that WordPiece made for an unknown word is an ordinary token.
    if (tokenizer_->is_special(id) && !(id == tokenizer_->unk_id() && ref != tokenizer_->config().unk_token)) continue;
    PreEntity e{tokenizer_->id_to_token(id), scores + i * n_labels, start, end, static_cast<int64_t>(i), false};
    e.is_subword = codepoints(e.word) != codepoints(ref);
    if (id == tokenizer_->unk_id()) {
      e.word = std::string(ref);
      e.is_subword = false;
    }
    pre.push_back(std::move(e));
  }

  std::vector<Entity> entities;
  if (p.aggregation == Aggregation::kNone || p.aggregation == Aggregation::kSimple) {
    for (const auto& e : pre) {
      const size_t k = argmax(e.scores, n_labels);
      entities.push_back({k, e.scores[k], e.word, e.start, e.end, e.index});
    }
  } else {
    // aggregate_words: a word is a non-subword token and the subwords after it.
    std::vector<float> avg(n_labels);
    for (size_t s = 0; s < pre.size();) {
      size_t e = s + 1;
      while (e < pre.size() && pre[e].is_subword) ++e;
      std::vector<std::string_view> words;
      for (size_t i = s; i < e; ++i) words.push_back(pre[i].word);
      Entity out{0, 0, tokenizer_->convert_tokens_to_string(words), pre[s].start, pre[e - 1].end, pre[s].index};
      const float* chosen = pre[s].scores;  // first
      if (p.aggregation == Aggregation::kMax) {
        float best = -1;
        for (size_t i = s; i < e; ++i) {
          const float m = *std::max_element(pre[i].scores, pre[i].scores + n_labels);
          if (m > best) {  // Python's max(): the first of equal maxima
            best = m;
            chosen = pre[i].scores;
          }
        }
      } else if (p.aggregation == Aggregation::kAverage) {
        std::fill(avg.begin(), avg.end(), 0.0f);
        for (size_t i = s; i < e; ++i)
          for (size_t k = 0; k < n_labels; ++k) avg[k] += pre[i].scores[k];
        for (float& v : avg) v /= static_cast<float>(e - s);
        chosen = avg.data();
      }
      out.label = argmax(chosen, n_labels);
      out.score = chosen[out.label];
      entities.push_back(std::move(out));
      s = e;
    }
  }

  auto ignored = [&](const std::string& label) {
    return std::find(p.ignore_labels.begin(), p.ignore_labels.end(), label) != p.ignore_labels.end();
  };
  std::string out;
  JsonWriter w(out);
  w.ch('[');
  bool first = true;
  if (p.aggregation == Aggregation::kNone) {
    for (const auto& e : entities) {
      if (ignored(labels_[e.label])) continue;
      if (!first) w.ch(',');
      first = false;
      w.raw("{\"entity\":");
      w.str(labels_[e.label]);
      w.raw(",\"score\":");
      w.number(e.score);
      w.raw(",\"index\":");
      w.integer(e.index);
      w.raw(",\"word\":");
      w.str(e.word);
      write_offsets(w, e.start, e.end);
      w.ch('}');
    }
    w.ch(']');
    return out;
  }
  // group_entities: a group continues while the tag is the same and the entity is not a B-.
  auto emit_group = [&](size_t s, size_t e) {
    const std::string& label = labels_[entities[s].label];
    const size_t dash = label.find('-');
    const std::string group = dash == std::string::npos ? label : label.substr(dash + 1);
    if (ignored(group)) return;
    float sum = 0;
    std::vector<std::string_view> words;
    for (size_t i = s; i < e; ++i) {
      sum += entities[i].score;
      words.push_back(entities[i].word);
    }
    if (!first) w.ch(',');
    first = false;
    w.raw("{\"entity_group\":");
    w.str(group);
    w.raw(",\"score\":");
    w.number(sum / static_cast<float>(e - s));
    w.raw(",\"word\":");
    w.str(tokenizer_->convert_tokens_to_string(words));
    write_offsets(w, entities[s].start, entities[e - 1].end);
    w.ch('}');
  };
  size_t group_start = 0;
  for (size_t i = 1; i <= entities.size(); ++i) {
    if (i < entities.size()) {
      const auto [bi, tag] = tag_of(labels_[entities[i].label]);
      const auto last = tag_of(labels_[entities[i - 1].label]);
      if (tag == last.second && bi != 'B') continue;
    }
    if (i > group_start) emit_group(group_start, i);
    group_start = i;
  }
  w.ch(']');
  return out;
}

}  // namespace bert
