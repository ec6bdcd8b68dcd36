// EngineWrap: the JS-facing native Engine (the NativeEngine interface in src/native/types.ts).
//
// Threading contract: every method runs on the JS thread. The engine's own threads (prep, workers)
// and this wrap's loader/closer threads never touch Napi values: they post Messages through ONE
// thread-safe function, whose JS-side handler (on the JS thread) resolves promises, calls the
// completion callback once per finished batch, and the log callback once per native log record
// (the engine's threads report through this wrap's log sink: engine/log.h). The TSFN is ref'd only while something is pending
// (requests, load, close), so an idle engine does not keep the process alive.
//
// Lifecycle (phase_): New -> Loading -> Ready -> Closing -> Closed. close() during Loading waits
// for the load to end, then closes. An env cleanup hook stops and joins everything if the
// environment is torn down without close() (docs/traps.md#10).
#pragma once
#include <napi.h>

#include <memory>
#include <optional>
#include <thread>

#include "engine/engine.h"
#include "engine/log.h"

namespace bert_addon {

struct Message;

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit EngineWrap(const Napi::CallbackInfo& info);
  ~EngineWrap() override;

  // Runs on the JS thread for every message posted by native threads.
  static void OnMessage(Napi::Env env, Napi::Function callback, EngineWrap* self, Message* msg);

 private:
  enum class Phase { kNew, kLoading, kReady, kClosing, kClosed };
  class Sink;
  class Log;
  using Tsfn = Napi::TypedThreadSafeFunction<EngineWrap, Message, &EngineWrap::OnMessage>;

  Napi::Value Load(const Napi::CallbackInfo& info);
  void Submit(const Napi::CallbackInfo& info);
  void Cancel(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Tokenizer(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void HandleBatch(Napi::Env env, Napi::Function callback, Message& msg);
  void StartClosing(Napi::Env env, bool drain);
  void FinishClosed(Napi::Env env);
  void UpdateRef(Napi::Env env);
  static void CleanupHook(void* arg);
  void StopEverything();

  Phase phase_ = Phase::kNew;
  Tsfn tsfn_;
  bool tsfn_released_ = false;
  std::unique_ptr<Sink> sink_;
  std::shared_ptr<Log> log_;
  Napi::FunctionReference on_log_;
  std::unique_ptr<bert::Engine> engine_;
  std::thread loader_, closer_;
  std::optional<Napi::Promise::Deferred> load_deferred_, close_deferred_;
  bool close_drain_ = true;
  size_t outstanding_ = 0;      // requests submitted, not yet completed natively
  Napi::ObjectReference self_;  // keeps this object alive while native threads may post to it
  napi_env env_;
};

}  // namespace bert_addon
