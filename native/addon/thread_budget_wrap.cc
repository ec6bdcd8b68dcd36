#include "addon/thread_budget_wrap.h"

#include <cmath>

#include "addon/convert.h"
#include "engine/errors.h"

namespace bert_addon {

namespace {
// Marks the objects this class makes (napi_type_tag: a random 128-bit value, fixed for the addon).
constexpr napi_type_tag kTag = {0x5f1c2a9e8b7d4c31ULL, 0x9a0e6b2d71f3c845ULL};
}  // namespace

Napi::Function ThreadBudgetWrap::Define(Napi::Env env) {
  return DefineClass(env, "ThreadBudget", {InstanceMethod("stats", &ThreadBudgetWrap::Stats)});
}

ThreadBudgetWrap::ThreadBudgetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ThreadBudgetWrap>(info) {
  Napi::Env env = info.Env();
  const double threads = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : NAN;
  if (!(threads >= 1 && threads <= 4096 && std::floor(threads) == threads)) {
    throw make_error(env, "ERR_INVALID_ARGUMENT", "ThreadBudget(threads): threads must be an integer between 1 and 4096");
  }
  // Second argument: split leases (thread_budget.h), default false.
  const bool split = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  budget_ = std::make_shared<bert::ThreadBudget>(static_cast<int>(threads), split);
  info.This().As<Napi::Object>().TypeTag(&kTag);
}

std::shared_ptr<bert::ThreadBudget> ThreadBudgetWrap::From(const Napi::Value& v) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kTag)) return nullptr;
  return Unwrap(v.As<Napi::Object>())->budget_;
}

Napi::Value ThreadBudgetWrap::Stats(const Napi::CallbackInfo& info) {
  const bert::ThreadBudget::Stats s = budget_->stats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("threads", s.threads);
  o.Set("inUse", s.in_use);
  o.Set("peakInUse", s.peak_in_use);
  o.Set("leases", static_cast<double>(s.leases));
  o.Set("waited", static_cast<double>(s.waited));
  o.Set("waiting", s.waiting);
  o.Set("flows", s.flows);
  o.Set("givenUp", static_cast<double>(s.given_up));
  o.Set("split", budget_->split());
  return o;
}

}  // namespace bert_addon
