#include "addon/tokenizer_wrap.h"

#include <cmath>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "addon/convert.h"
#include "engine/text/tokenizer_json.h"

namespace bert_addon {

namespace {

// The class constructor per environment. Not napi instance data: an addon has ONE instance-data
// slot, and addon.cc/other wrappers may claim it; a small map keyed by env, cleaned up with the env,
// keeps this wrapper self-contained.
std::mutex g_ctor_mutex;
std::unordered_map<napi_env, Napi::FunctionReference*> g_ctors;

void forget_constructor(void* arg) {
  auto env = static_cast<napi_env>(arg);
  std::lock_guard<std::mutex> lock(g_ctor_mutex);
  auto it = g_ctors.find(env);
  if (it != g_ctors.end()) {
    delete it->second;
    g_ctors.erase(it);
  }
}

Napi::Function constructor_for(Napi::Env env) {
  std::lock_guard<std::mutex> lock(g_ctor_mutex);
  auto it = g_ctors.find(env);
  if (it == g_ctors.end()) throw make_error(env, "ERR_INTERNAL", "the Tokenizer class is not registered in this environment");
  return it->second->Value();
}

using TokenizerPtr = std::shared_ptr<const bert::Tokenizer>;

bool as_bool(const Napi::CallbackInfo& info, size_t i, bool fallback) {
  return info.Length() > i && info[i].IsBoolean() ? info[i].As<Napi::Boolean>().Value() : fallback;
}

}  // namespace

Napi::Function TokenizerWrap::Define(Napi::Env env) {
  Napi::Function ctor =
      DefineClass(env, "Tokenizer",
                  {StaticMethod("load", &TokenizerWrap::Load), StaticMethod("supportedComponents", &TokenizerWrap::SupportedComponents),
                   InstanceMethod("encode", &TokenizerWrap::Encode), InstanceMethod("decode", &TokenizerWrap::Decode),
                   InstanceMethod("idToToken", &TokenizerWrap::IdToToken), InstanceMethod("tokenToId", &TokenizerWrap::TokenToId),
                   InstanceMethod("info", &TokenizerWrap::Info)});
  {
    std::lock_guard<std::mutex> lock(g_ctor_mutex);
    auto*& slot = g_ctors[env];
    delete slot;
    slot = new Napi::FunctionReference(Napi::Persistent(ctor));
  }
  napi_remove_env_cleanup_hook(env, forget_constructor, static_cast<napi_env>(env));
  napi_add_env_cleanup_hook(env, forget_constructor, static_cast<napi_env>(env));
  return ctor;
}

Napi::Object TokenizerWrap::NewInstance(Napi::Env env, std::shared_ptr<const bert::Tokenizer> tokenizer) {
  // The External points at this local shared_ptr only for the duration of the constructor call,
  // which copies it.
  TokenizerPtr holder = std::move(tokenizer);
  return constructor_for(env).New({Napi::External<TokenizerPtr>::New(env, &holder)});
}

TokenizerWrap::TokenizerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TokenizerWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw make_error(info.Env(), "ERR_INVALID_ARGUMENT", "use Tokenizer.load(path) to create a tokenizer");
  tokenizer_ = *info[0].As<Napi::External<TokenizerPtr>>().Data();
}

Napi::Value TokenizerWrap::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    throw make_error(env, "ERR_INVALID_ARGUMENT", "Tokenizer.load(path): expected a path string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  TokenizerPtr tok = guard(env, [&] { return bert::Tokenizer::load(path); });
  return NewInstance(env, std::move(tok));
}

Napi::Value TokenizerWrap::SupportedComponents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bert::SupportedComponents& c = bert::supported_components();
  Napi::Object o = Napi::Object::New(env);
  auto list = [&](const std::vector<std::string>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
    return a;
  };
  o.Set("normalizers", list(c.normalizers));
  o.Set("preTokenizers", list(c.pre_tokenizers));
  o.Set("models", list(c.models));
  o.Set("postProcessors", list(c.post_processors));
  o.Set("decoders", list(c.decoders));
  return o;
}

std::string_view TokenizerWrap::ReadUtf8(Napi::Env env, napi_value value) {
  size_t length = 0;
  napi_status s = napi_get_value_string_utf8(env, value, nullptr, 0, &length);
  if (s != napi_ok) throw make_error(env, "ERR_INVALID_ARGUMENT", "expected a string");
  if (utf8_.size() < length + 1) utf8_.resize(length + 1);
  s = napi_get_value_string_utf8(env, value, utf8_.data(), length + 1, &length);
  if (s != napi_ok) throw make_error(env, "ERR_INVALID_ARGUMENT", "expected a string");
  return std::string_view(utf8_.data(), length);
}

Napi::Value TokenizerWrap::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    throw make_error(env, "ERR_INVALID_ARGUMENT",
                     "encode(text, addSpecialTokens, maxLength, pair, truncationSide): expected a string text");
  bert::EncodeOptions o;
  o.add_special_tokens = as_bool(info, 1, true);
  if (info.Length() > 2 && info[2].IsNumber()) {
    const double m = info[2].As<Napi::Number>().DoubleValue();
    if (!(m >= 0) || m != std::floor(m))
      throw make_error(env, "ERR_INVALID_ARGUMENT", "encode(): maxLength must be a non-negative integer");
    o.max_length = m > 1e12 ? 0 : static_cast<size_t>(m);
  }
  const bool has_pair = info.Length() > 3 && info[3].IsString();
  if (info.Length() > 4 && info[4].IsString() && info[4].As<Napi::String>().Utf8Value() == "left") o.side = bert::TruncationSide::kLeft;
  // Both texts are converted before either is used: ReadUtf8 reuses one buffer.
  const std::string pair = has_pair ? info[3].As<Napi::String>().Utf8Value() : std::string();
  const std::string_view text = ReadUtf8(env, info[0]);
  const bert::Encoding e = guard(env, [&] { return has_pair ? tokenizer_->encode_pair(text, pair, o) : tokenizer_->encode(text, o); });

  const size_t n = e.ids.size();
  auto ids = Napi::Int32Array::New(env, n);
  auto offsets = Napi::Uint32Array::New(env, 2 * n);
  auto type_ids = Napi::Uint32Array::New(env, n);
  auto special = Napi::Uint8Array::New(env, n);
  int32_t* id_out = ids.Data();
  uint32_t* off_out = offsets.Data();
  napi_value tokens;
  napi_create_array_with_length(env, n, &tokens);
  for (size_t i = 0; i < n; ++i) {
    id_out[i] = static_cast<int32_t>(e.ids[i]);
    off_out[2 * i] = e.offsets[i].first;
    off_out[2 * i + 1] = e.offsets[i].second;
    type_ids[i] = e.type_ids[i];
    special[i] = e.special_tokens_mask[i];
    const std::string& t = tokenizer_->id_to_token(e.ids[i]);
    napi_value s;
    napi_create_string_utf8(env, t.data(), t.size(), &s);
    napi_set_element(env, tokens, static_cast<uint32_t>(i), s);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("ids", ids);
  out.Set("tokens", Napi::Value(env, tokens));
  out.Set("offsets", offsets);
  out.Set("typeIds", type_ids);
  out.Set("specialTokensMask", special);
  out.Set("truncated", Napi::Boolean::New(env, e.truncated));
  return out;
}

Napi::Value TokenizerWrap::Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int64_t> ids;
  auto bad = [&] { return make_error(env, "ERR_INVALID_ARGUMENT", "decode(ids, ...): expected an array or typed array of integer ids"); };
  if (info.Length() < 1) throw bad();
  if (info[0].IsTypedArray()) {
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    const size_t n = ta.ElementLength();
    ids.resize(n);
    switch (ta.TypedArrayType()) {
      case napi_int32_array: {
        auto a = info[0].As<Napi::Int32Array>();
        for (size_t i = 0; i < n; ++i) ids[i] = a[i];
        break;
      }
      case napi_uint32_array: {
        auto a = info[0].As<Napi::Uint32Array>();
        for (size_t i = 0; i < n; ++i) ids[i] = a[i];
        break;
      }
      case napi_float64_array: {
        auto a = info[0].As<Napi::Float64Array>();
        for (size_t i = 0; i < n; ++i) {
          if (a[i] != std::floor(a[i]) || std::fabs(a[i]) > 9e15) throw bad();
          ids[i] = static_cast<int64_t>(a[i]);
        }
        break;
      }
      default: throw bad();
    }
  } else if (info[0].IsArray()) {
    Napi::Array a = info[0].As<Napi::Array>();
    const uint32_t n = a.Length();
    ids.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      Napi::Value v = a.Get(i);
      if (!v.IsNumber()) throw bad();
      const double d = v.As<Napi::Number>().DoubleValue();
      if (d != std::floor(d) || std::fabs(d) > 9e15) throw bad();
      ids[i] = static_cast<int64_t>(d);
    }
  } else {
    throw bad();
  }
  const bool skip = as_bool(info, 1, false);
  // Without an explicit choice, the tokenizer's own clean_up_tokenization_spaces (as transformers).
  const bool cleanup = as_bool(info, 2, tokenizer_->config().clean_up_tokenization_spaces);
  const std::string s = guard(env, [&] { return tokenizer_->decode(ids, skip, cleanup); });
  return Napi::String::New(env, s);
}

Napi::Value TokenizerWrap::IdToToken(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return env.Null();
  const double d = info[0].As<Napi::Number>().DoubleValue();
  if (d != std::floor(d) || d < 0 || d > 2147483647.0) return env.Null();
  const std::string* t = tokenizer_->find_token(static_cast<int64_t>(d));
  return t ? Napi::String::New(env, *t) : env.Null();
}

Napi::Value TokenizerWrap::TokenToId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return env.Null();
  const int64_t id = tokenizer_->token_to_id(ReadUtf8(env, info[0]));
  return id < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(id));
}

Napi::Value TokenizerWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bert::Tokenizer& t = *tokenizer_;
  const bert::TokenizerConfig& c = t.config();
  const bert::TokenizerDescription d = t.describe();
  Napi::Object o = Napi::Object::New(env);
  o.Set("vocabSize", static_cast<double>(t.vocab_size()));
  o.Set("model", d.model);
  Napi::Object pipeline = Napi::Object::New(env);
  pipeline.Set("normalizer", d.normalizer.empty() ? env.Null() : Napi::String::New(env, d.normalizer));
  pipeline.Set("preTokenizer", d.pre_tokenizer.empty() ? env.Null() : Napi::String::New(env, d.pre_tokenizer));
  pipeline.Set("model", d.model);
  pipeline.Set("postProcessor", d.post_processor.empty() ? env.Null() : Napi::String::New(env, d.post_processor));
  pipeline.Set("decoder", d.decoder.empty() ? env.Null() : Napi::String::New(env, d.decoder));
  pipeline.Set("fastPath", d.fast_path);
  o.Set("pipeline", pipeline);
  o.Set("source", d.source);
  o.Set("lowercase", c.lowercase);
  o.Set("stripAccents", c.strip_accents);
  o.Set("modelMaxLength", static_cast<double>(c.model_max_length));
  o.Set("cleanUpTokenizationSpaces", c.clean_up_tokenization_spaces);
  Napi::Object added = Napi::Object::New(env);
  added.Set("single", static_cast<double>(t.added_tokens(false)));
  added.Set("pair", static_cast<double>(t.added_tokens(true)));
  o.Set("addedTokens", added);
  Napi::Object names = Napi::Object::New(env);
  Napi::Object ids = Napi::Object::New(env);
  const std::pair<const char*, std::pair<const std::string*, int64_t>> roles[] = {{"cls", {&c.cls_token, t.cls_id()}},
                                                                                  {"sep", {&c.sep_token, t.sep_id()}},
                                                                                  {"pad", {&c.pad_token, t.pad_id()}},
                                                                                  {"mask", {&c.mask_token, t.mask_id()}},
                                                                                  {"unk", {&c.unk_token, t.unk_id()}}};
  for (const auto& [role, v] : roles) {
    // A role the tokenizer does not have is null in both maps.
    names.Set(role, v.second >= 0 ? Napi::Value(Napi::String::New(env, *v.first)) : env.Null());
    ids.Set(role, v.second >= 0 ? Napi::Value(Napi::Number::New(env, static_cast<double>(v.second))) : env.Null());
  }
  o.Set("specialTokens", names);
  o.Set("specialIds", ids);
  return o;
}

}  // namespace bert_addon
