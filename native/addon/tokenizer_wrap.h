// TokenizerWrap: the JS-facing native Tokenizer (NativeTokenizer / NativeTokenizerConstructor in
// src/native/types.ts). It only converts arguments and results; bert::Tokenizer does the work.
//
// Threading contract: every method runs on the JS thread (encode/decode are synchronous calls that
// take microseconds; the server's bulk tokenizing happens on the engine's threads, not here). The
// wrapped tokenizer is immutable and shared (std::shared_ptr<const>) with the Engine, which may use
// it from its own threads at the same time. The constructor reference is kept per environment
// (worker_threads each load the addon: docs/traps.md#11) and released by an env cleanup hook.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "engine/text/tokenizer.h"

namespace bert_addon {

class TokenizerWrap : public Napi::ObjectWrap<TokenizerWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  // A JS Tokenizer object for a tokenizer the engine already owns (Engine.tokenizer()).
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<const bert::Tokenizer> tokenizer);

  // Not callable from JS except through load()/NewInstance (they pass the tokenizer as an External).
  explicit TokenizerWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::Value Load(const Napi::CallbackInfo& info);
  // The tokenizer.json component types this build implements (for --help, /info, docs).
  static Napi::Value SupportedComponents(const Napi::CallbackInfo& info);
  Napi::Value Encode(const Napi::CallbackInfo& info);
  Napi::Value Decode(const Napi::CallbackInfo& info);
  Napi::Value IdToToken(const Napi::CallbackInfo& info);
  Napi::Value TokenToId(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);

  // The JS string as UTF-8 in utf8_ (reused between calls: no allocation once warm). Lone
  // surrogates become U+FFFD (V8's conversion), which keeps the UTF-16 length, so offsets still
  // index the JS string.
  std::string_view ReadUtf8(Napi::Env env, napi_value value);

  std::shared_ptr<const bert::Tokenizer> tokenizer_;
  std::string utf8_;
};

}  // namespace bert_addon
