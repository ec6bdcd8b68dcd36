// Addon entry point: registers the wrapped classes, nothing else. Per-environment state lives in the
// wrappers' constructors (instance data), never in globals (docs/traps.md#11).
#include <napi.h>

#include "addon/engine_wrap.h"
#include "addon/thread_budget_wrap.h"
#include "addon/tokenizer_wrap.h"

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Tokenizer", bert_addon::TokenizerWrap::Define(env));
  exports.Set("Engine", bert_addon::EngineWrap::Define(env));
  exports.Set("ThreadBudget", bert_addon::ThreadBudgetWrap::Define(env));
  return exports;
}
}  // namespace

NODE_API_MODULE(bert_serve, Init)
