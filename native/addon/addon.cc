// Addon entry point: registers the wrapped classes and releaseFreeMemory (process-wide, no state). Per-environment state lives in the
// wrappers' constructors (instance data), never in globals (docs/traps.md#11).
#include <napi.h>

#include "addon/engine_wrap.h"
#include "addon/thread_budget_wrap.h"
#include "addon/tokenizer_wrap.h"
#include "engine/host_memory.h"

namespace {
// Synchronous on the JS thread: a purge takes milliseconds and runs after a model unload only.
Napi::Value ReleaseFreeMemory(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), bert::release_free_memory()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Tokenizer", bert_addon::TokenizerWrap::Define(env));
  exports.Set("Engine", bert_addon::EngineWrap::Define(env));
  exports.Set("ThreadBudget", bert_addon::ThreadBudgetWrap::Define(env));
  exports.Set("releaseFreeMemory", Napi::Function::New(env, ReleaseFreeMemory, "releaseFreeMemory"));
  return exports;
}
}  // namespace

NODE_API_MODULE(bert_serve, Init)
