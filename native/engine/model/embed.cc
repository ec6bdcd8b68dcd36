#include "engine/model/embed.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/json_writer.h"
#include "engine/log.h"
#include "engine/model/float_format.h"
#include "engine/model/head_params.h"
#include "engine/model/non_finite.h"
#include "engine/model/probe.h"
#include "engine/model/warmup.h"

namespace bert {

// A request's options, from the canonical JSON src/tasks/ writes (prepare()).
struct EmbedParams : HeadParams {
  bool normalize = false;   // from the request (its default is src/tasks/embed.ts's)
  bool all_tokens = false;  // embed_all: every token's vector, no pooling
  bool base64 = false;
  int64_t dimensions = 0;  // 0: all
};

namespace {

bool read_json(const std::string& path, nlohmann::json& out) {
  std::ifstream in(path);
  if (!in) return false;
  out = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) throw EngineError(ErrorCode::kConfigInvalid, path + ": not valid JSON");
  return true;
}

Pooling parse_pooling(const std::string& name, const std::string& where) {
  if (name == "cls") return Pooling::kCls;
  if (name == "mean") return Pooling::kMean;
  if (name == "max") return Pooling::kMax;
  if (name == "lasttoken" || name == "last_token") return Pooling::kLastToken;
  throw EngineError(ErrorCode::kInvalidArgument, where + ": pooling \"" + name + "\" is not supported (cls, mean, max, lasttoken)");
}

// sentence-transformers' Pooling config: exactly one pooling_mode_* set among those served.
Pooling pooling_from_config(const nlohmann::json& j, const std::string& path) {
  static const std::pair<const char*, Pooling> kModes[] = {{"pooling_mode_cls_token", Pooling::kCls},
                                                           {"pooling_mode_mean_tokens", Pooling::kMean},
                                                           {"pooling_mode_max_tokens", Pooling::kMax},
                                                           {"pooling_mode_lasttoken", Pooling::kLastToken}};
  std::vector<Pooling> on;
  for (const auto& [key, mode] : kModes) {
    auto it = j.find(key);
    if (it != j.end() && it->is_boolean() && it->get<bool>()) on.push_back(mode);
  }
  for (const char* unsupported : {"pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens"}) {
    auto it = j.find(unsupported);
    if (it != j.end() && it->is_boolean() && it->get<bool>())
      throw EngineError(ErrorCode::kModelInvalid, path + ": " + unsupported + " is not supported (cls, mean, max, lasttoken are)");
  }
  if (on.size() != 1)
    throw EngineError(ErrorCode::kModelInvalid, path +
                                                    ": expected exactly one of pooling_mode_cls_token, pooling_mode_mean_tokens, "
                                                    "pooling_mode_max_tokens, pooling_mode_lasttoken to be true");
  return on[0];
}

}  // namespace

const char* pooling_name(Pooling p) {
  switch (p) {
    case Pooling::kCls: return "cls";
    case Pooling::kMean: return "mean";
    case Pooling::kMax: return "max";
    case Pooling::kLastToken: return "lasttoken";
  }
  return "cls";
}

EmbedHead::EmbedHead(const HeadContext& c) : tokenizer_(c.tokenizer), hidden_(c.config.hidden_size), pooled_dims_(c.config.hidden_size) {
  const std::string& dir = c.model_dir;
  nlohmann::json modules;
  std::string pooling_dir = "1_Pooling";
  std::vector<std::string> dense_dirs;
  if (read_json(dir + "/modules.json", modules)) {
    // Every module is computed or the model is refused: one left out would change the embeddings.
    const std::string where = dir + "/modules.json";
    if (!modules.is_array()) throw EngineError(ErrorCode::kModelInvalid, where + ": expected a list of modules");
    bool pooled = false;
    for (const auto& m : modules) {
      if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
        throw EngineError(ErrorCode::kModelInvalid, where + ": expected {\"type\", \"path\", ...} objects");
      const std::string type = m["type"].get<std::string>();
      const std::string kind = type.substr(type.rfind('.') == std::string::npos ? 0 : type.rfind('.') + 1);
      const std::string path = m.value("path", std::string());
      if (kind == "Transformer") continue;
      if (kind == "Pooling") {
        pooling_dir = path;
        pooled = true;
      } else if (kind == "Dense" && pooled && !normalize_module_ && !path.empty()) {
        dense_dirs.push_back(path);
      } else if (kind == "Normalize") {
        normalize_module_ = true;
      } else {
        throw EngineError(ErrorCode::kModelInvalid,
                          where + ": module " + type + " (" + (path.empty() ? "." : path) +
                              ") is not computed by bert-serve (Transformer, Pooling, then Dense, then Normalize are); serving without "
                              "it would change the embeddings");
      }
    }
  }
  for (const auto& d : dense_dirs) {
    dense_.emplace_back(dir, d, pooled_dims_);
    pooled_dims_ = dense_.back().out_features();
  }
  nlohmann::json pool;
  if (!c.pooling.empty()) {
    pooling_ = parse_pooling(c.pooling, "--pooling");
    pooling_source_ = "option";
  } else if (read_json(dir + "/" + pooling_dir + "/config.json", pool)) {
    pooling_ = pooling_from_config(pool, dir + "/" + pooling_dir + "/config.json");
    pooling_source_ = pooling_dir + "/config.json";
  } else {
    pooling_ = Pooling::kCls;
    pooling_source_ = "default";
  }
  nlohmann::json st;
  if (read_json(dir + "/config_sentence_transformers.json", st) && st.is_object()) {
    auto p = st.find("prompts");
    if (p != st.end() && p->is_object())
      for (auto& [k, v] : p->items())
        if (v.is_string()) prompts_[k] = v.get<std::string>();
    auto d = st.find("default_prompt_name");
    if (d != st.end() && d->is_string()) default_prompt_name_ = d->get<std::string>();
  }
}

std::string EmbedHead::bind(Model& model) {
  c10::InferenceMode guard;
  const Probe probe = make_probe(model, *tokenizer_, false);
  const torch::Tensor out = probe_forward(model, probe);
  check_answer_shape(model, probe, out, /*per_token=*/true, hidden_ > 0 ? hidden_ : -1,
                     "last_hidden_state [batch, seq, " + (hidden_ > 0 ? std::to_string(hidden_) : std::string("hidden")) + "]");
  hidden_ = out.size(2);
  check_forward(model, probe, out, /*per_token=*/true);
  std::string dense;
  for (auto& d : dense_) {
    d.to(model.spec().device);
    dense += ", then Dense (" + d.folder() + ")";
  }
  return std::string(pooling_name(pooling_)) + " pooling (" + pooling_source_ + ") of last_hidden_state" + dense + ", on the device";
}

std::string EmbedHead::info_json() const {
  std::string out;
  JsonWriter w(out);
  w.raw("\"pooling\":");
  w.str(pooling_name(pooling_));
  w.raw(",\"pooling_source\":");
  w.str(pooling_source_);
  w.raw(",\"normalize_module\":");
  w.boolean(normalize_module_);
  w.raw(",\"dense\":[");
  for (size_t i = 0; i < dense_.size(); ++i) {
    if (i) w.ch(',');
    w.str(dense_[i].folder());
  }
  w.raw("],\"embedding_dimensions\":");
  w.integer(pooled_dims_);
  w.raw(",\"prompts\":{");
  bool first = true;
  for (const auto& [k, v] : prompts_) {
    if (!first) w.ch(',');
    first = false;
    w.str(k);
    w.ch(':');
    w.str(v);
  }
  w.raw("},\"default_prompt_name\":");
  if (default_prompt_name_.empty())
    w.null();
  else
    w.str(default_prompt_name_);
  return out;
}

void EmbedHead::prepare(Request& r) const {
  const auto j = parse_params(r.params_json);
  auto p = std::make_unique<EmbedParams>();
  p->normalize = required_param<bool>(j, "normalize");
  p->all_tokens = required_param<bool>(j, "all_tokens");
  p->dimensions = param<int64_t>(j, "dimensions").value_or(0);
  // Only the model knows its width: the one check the declarations (src/tasks/embed.ts) cannot make
  // (they check >= 1). Worded as theirs are, with the bound this model sets.
  const int64_t dims = p->all_tokens ? hidden_ : pooled_dims_;
  if (p->dimensions > dims)
    throw EngineError(ErrorCode::kInvalidArgument, "Expected an integer between 1 and " + std::to_string(dims) +
                                                       " (this model's embedding size) for dimensions but received number " +
                                                       std::to_string(p->dimensions));
  p->base64 = required_param<std::string>(j, "encoding_format") == "base64";
  r.params = std::move(p);
}

RequestPtr EmbedHead::warmup_request(size_t len) const { return make_warmup_request(*tokenizer_, len, std::make_unique<EmbedParams>()); }

void EmbedHead::run(Model& model, const PaddedBatch& batch, std::vector<RequestPtr>& requests) const {
  torch::Tensor hidden = model.forward(batch).to(torch::kFloat);  // [n, s, h]
  bool any_pooled = false, any_all = false;
  for (auto& r : requests) (static_cast<const EmbedParams&>(*r->params).all_tokens ? any_all : any_pooled) = true;
  torch::Tensor pooled;
  if (any_pooled) {
    torch::Tensor mask = batch.attention_mask.unsqueeze(-1).to(torch::kFloat);  // [n, s, 1]
    switch (pooling_) {
      case Pooling::kCls: pooled = hidden.select(1, 0); break;
      case Pooling::kMean: pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9); break;
      // sentence-transformers fills padding with -1e9 before the max.
      case Pooling::kMax: pooled = hidden.masked_fill(mask == 0, -1e9).amax(1); break;
      case Pooling::kLastToken: {
        torch::Tensor last = batch.attention_mask.sum(1).sub(1).clamp_min(0);  // right padding
        pooled = hidden.gather(1, last.view({-1, 1, 1}).expand({-1, 1, hidden.size(2)})).squeeze(1);
        break;
      }
    }
    for (const auto& d : dense_) pooled = d.apply(pooled);
    pooled = pooled.cpu().contiguous();
  }
  torch::Tensor tokens = any_all ? hidden.cpu().contiguous() : torch::Tensor();
  std::vector<float> scratch;
  for (size_t b = 0; b < requests.size(); ++b) {
    Request& r = *requests[b];
    const auto& p = static_cast<const EmbedParams&>(*r.params);
    const int64_t h = hidden.size(2);
    const int64_t width = p.all_tokens ? h : pooled.size(1);
    const int64_t d = p.dimensions > 0 ? p.dimensions : width;
    std::string out;
    // A vector holding NaN or Inf fails the request (its answer would hold nulls).
    auto emit = [&](const float* src, const std::string& what) {
      const std::string bad = first_non_finite(src, d);
      if (!bad.empty()) {
        fail_non_finite(r, model.name(), what, bad);
        return false;
      }
      scratch.assign(src, src + d);
      if (p.normalize) {
        double ss = 0;
        for (float v : scratch) ss += double(v) * v;
        const float inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));  // F.normalize's eps
        for (float& v : scratch) v *= inv;
      }
      if (p.base64)
        append_f32_base64(out, scratch.data(), d);
      else
        append_f32_array(out, scratch.data(), d);
      return true;
    };
    if (p.all_tokens) {
      const int64_t len = static_cast<int64_t>(r.num_tokens());
      out.reserve(static_cast<size_t>(len * d * 12));
      out.push_back('[');
      const float* base = tokens.data_ptr<float>() + static_cast<int64_t>(b) * batch.seq_len * h;
      bool ok = true;
      for (int64_t t = 0; t < len && ok; ++t) {
        if (t) out.push_back(',');
        ok = emit(base + t * h, "the embedding of token " + std::to_string(t));
      }
      if (!ok) continue;
      out.push_back(']');
    } else {
      out.reserve(static_cast<size_t>(d * 12));
      if (!emit(pooled.data_ptr<float>() + static_cast<int64_t>(b) * width,
                std::string("the ") + pooling_name(pooling_) + "-pooled embedding"))
        continue;
    }
    r.json = std::move(out);
  }
}

}  // namespace bert
