// ThreadBudgetWrap: the JS-facing bert::ThreadBudget (NativeThreadBudget in src/native/types.ts):
// `new ThreadBudget(threads)`, handed to several engines' load() options as `threadBudget`, which
// then share its threads (engine/sched/thread_budget.h). Objects are type-tagged, so load() can
// tell a budget from any other object. JS thread only; the budget itself is shared with the
// engines' worker threads (std::shared_ptr) and outlives the JS object while an engine holds it.
#pragma once
#include <napi.h>

#include <memory>

#include "engine/sched/thread_budget.h"

namespace bert_addon {

class ThreadBudgetWrap : public Napi::ObjectWrap<ThreadBudgetWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ThreadBudgetWrap(const Napi::CallbackInfo& info);
  // The budget of `v` when it is an object this class made; null otherwise.
  static std::shared_ptr<bert::ThreadBudget> From(const Napi::Value& v);

 private:
  Napi::Value Stats(const Napi::CallbackInfo& info);
  std::shared_ptr<bert::ThreadBudget> budget_;
};

}  // namespace bert_addon
