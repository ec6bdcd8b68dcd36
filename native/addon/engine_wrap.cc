#include "addon/engine_wrap.h"

#include <atomic>
#include <chrono>

#include "addon/convert.h"
#include "addon/thread_budget_wrap.h"
#include "addon/tokenizer_wrap.h"
#include "engine/block_cache.h"
#include "engine/host_memory.h"

namespace bert_addon {

struct Message {
  enum class Kind { kBatch, kLoaded, kLoadFailed, kClosed, kLog } kind = Kind::kBatch;
  std::vector<bert::RequestPtr> batch;
  std::unique_ptr<bert::Engine> engine;
  std::string code, message;
  bert::LogLevel level = bert::LogLevel::kInfo;
  std::string fields;  // kLog: the members of a JSON object
};

// The engine's CompletionSink: posts each finished batch to the JS thread in one hop.
class EngineWrap::Sink : public bert::CompletionSink {
 public:
  explicit Sink(Tsfn tsfn) : tsfn_(tsfn) {}
  void complete(std::vector<bert::RequestPtr> done) noexcept override {
    auto* m = new (std::nothrow) Message();
    if (!m) return;
    m->batch = std::move(done);
    // Fails only once the TSFN is aborted (environment teardown): nobody is left to answer.
    if (tsfn_.NonBlockingCall(m) != napi_ok) delete m;
  }

 private:
  Tsfn tsfn_;
};

// The engine's log sink (engine/log.h): posts each record to the JS thread, where the engine's
// JS logger writes it. Once the thread-safe function is gone (the engine closed, the environment
// torn down) records fall back to stderr, in the same JSON format.
class EngineWrap::Log : public bert::LogSink {
 public:
  explicit Log(Tsfn tsfn) : tsfn_(tsfn) {}
  void write(bert::LogLevel level, const std::string& message, const std::string& fields) noexcept override {
    if (!closed_.load(std::memory_order_acquire)) {
      auto* m = new (std::nothrow) Message();
      if (m) {
        m->kind = Message::Kind::kLog;
        m->level = level;
        m->fields = fields;
        try {
          m->message = message;
          if (tsfn_.NonBlockingCall(m) == napi_ok) return;
        } catch (...) {
        }
        delete m;
      }
    }
    bert::log_to_stderr(level, message, fields);
  }
  // Called on the JS thread before the thread-safe function is released or aborted.
  void close() { closed_.store(true, std::memory_order_release); }

 private:
  Tsfn tsfn_;
  std::atomic<bool> closed_{false};
};

namespace {

// Per request in a batch's completion: tokenize, queue, inference, tokens, thread wait (the order of
// NativeCompletion in src/native/types.ts).
constexpr size_t kTimingFields = 5;

// The options object is complete (src/engine_options.ts resolves every field; the defaults live in
// src/config.ts): a missing or mistyped field is a bug on the JS side, refused here by name.
Napi::Value field(const Napi::Object& o, const char* key, bool ok(const Napi::Value&), const char* what) {
  Napi::Value v = o.Get(key);
  if (!ok(v)) throw make_error(o.Env(), "ERR_INVALID_ARGUMENT", std::string("load(options): \"") + key + "\" must be " + what);
  return v;
}
double num(const Napi::Object& o, const char* key) {
  return field(
             o, key, [](const Napi::Value& v) { return v.IsNumber(); }, "a number")
      .As<Napi::Number>()
      .DoubleValue();
}
bool flag(const Napi::Object& o, const char* key) {
  return field(
             o, key, [](const Napi::Value& v) { return v.IsBoolean(); }, "a boolean")
      .As<Napi::Boolean>()
      .Value();
}
std::string str(const Napi::Object& o, const char* key) {
  return field(
             o, key, [](const Napi::Value& v) { return v.IsString(); }, "a string")
      .As<Napi::String>()
      .Utf8Value();
}

bert::EngineOptions parse_options(const Napi::Object& o) {
  bert::EngineOptions e;
  e.model_dir = str(o, "model");
  e.device = str(o, "device");
  e.dtype = str(o, "dtype");
  e.workers = static_cast<size_t>(num(o, "workers"));
  e.intra_op_threads = static_cast<int>(num(o, "intraOpThreads"));
  e.scheduler.workers = e.workers;
  e.scheduler.max_batch_requests = static_cast<size_t>(num(o, "maxBatchRequests"));
  e.scheduler.max_batch_tokens = static_cast<size_t>(num(o, "maxBatchTokens"));
  e.scheduler.max_delay = std::chrono::microseconds(static_cast<int64_t>(num(o, "maxDelayUs")));
  e.scheduler.sort_by_length = flag(o, "sortByLength");
  e.max_tokens = static_cast<size_t>(num(o, "maxTokens"));
  e.truncate = flag(o, "truncate");
  e.warmup = flag(o, "warmup");
  e.jit_optimize = flag(o, "jitOptimize");
  e.pooling = str(o, "pooling");
  e.fair_batch_tokens = static_cast<size_t>(num(o, "fairBatchTokens"));
  // Optional, unlike the rest: an object, not a setting (null or undefined: none).
  const Napi::Value budget = o.Get("threadBudget");
  if (!budget.IsUndefined() && !budget.IsNull()) {
    e.thread_budget = ThreadBudgetWrap::From(budget);
    if (!e.thread_budget) throw make_error(o.Env(), "ERR_INVALID_ARGUMENT", "load(options): \"threadBudget\" must be a ThreadBudget");
  }
  const double overhead = num(o, "batchOverheadTokens");  // 0: measured at warm-up
  if (overhead > 0) {
    e.scheduler.batch_overhead_tokens = static_cast<size_t>(overhead);
    e.measure_batch_overhead = false;
  }
  return e;
}

Napi::Object info_object(Napi::Env env, const bert::EngineInfo& i) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("modelDir", i.model_dir);
  o.Set("task", i.task);
  o.Set("architecture", i.architecture);
  o.Set("modelType", i.model_type);
  o.Set("family", i.family);
  o.Set("tokenTypes", i.token_types);
  o.Set("positionOffset", static_cast<double>(i.position_offset));
  o.Set("device", i.device);
  o.Set("dtype", i.dtype);
  o.Set("vocabSize", static_cast<double>(i.vocab_size));
  o.Set("hiddenSize", static_cast<double>(i.hidden_size));
  o.Set("maxPositionEmbeddings", static_cast<double>(i.max_position_embeddings));
  o.Set("maxTokens", static_cast<double>(i.max_tokens));
  o.Set("maskedPositionsFastPath", i.masked_fast_path);
  o.Set("headPath", i.head_path);
  o.Set("pathId", i.path_id);
  o.Set("forwardSignature", i.forward_signature);
  o.Set("linearKernel", i.linear_kernel);
  o.Set("precision", i.precision);
  o.Set("cpuNativeBf16", i.cpu_native_bf16);
  o.Set("taskInfo", "{" + i.head_info_json + "}");
  o.Set("forwardInputs", i.forward_inputs);
  o.Set("intraOpThreads", i.intra_op_threads);
  o.Set("workers", static_cast<double>(i.workers));
  o.Set("threadBudget", i.thread_budget);
  o.Set("blas", i.blas);
  o.Set("malloc", i.malloc_policy);
  o.Set("torchVersion", i.torch_version);
  o.Set("loadMs", i.load_ms);
  o.Set("warmupMs", i.warmup_ms);
  o.Set("batchOverheadTokens", static_cast<double>(i.batch_overhead_tokens));
  o.Set("singleThreadMaxTokens", static_cast<double>(i.single_thread_max_tokens));
  o.Set("fairBatchTokens", static_cast<double>(i.fair_batch_tokens));
  return o;
}

// {bounds: [...], counts: [...]} for a per-batch histogram; counts has one more entry (past the
// last bound) and is per bucket, not cumulative.
template <size_t N, size_t M>
Napi::Object histogram(Napi::Env env, const std::array<size_t, N>& bounds, const std::array<uint64_t, M>& counts) {
  static_assert(M == N + 1, "one count per bound plus the overflow bucket");
  Napi::Array b = Napi::Array::New(env, N), c = Napi::Array::New(env, M);
  for (size_t i = 0; i < N; ++i) b.Set(static_cast<uint32_t>(i), static_cast<double>(bounds[i]));
  for (size_t i = 0; i < M; ++i) c.Set(static_cast<uint32_t>(i), static_cast<double>(counts[i]));
  Napi::Object o = Napi::Object::New(env);
  o.Set("bounds", b);
  o.Set("counts", c);
  return o;
}

}  // namespace

Napi::Function EngineWrap::Define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {InstanceMethod("load", &EngineWrap::Load), InstanceMethod("submit", &EngineWrap::Submit),
                      InstanceMethod("cancel", &EngineWrap::Cancel), InstanceMethod("stats", &EngineWrap::Stats),
                      InstanceMethod("tokenizer", &EngineWrap::Tokenizer), InstanceMethod("close", &EngineWrap::Close)});
}

EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction())
    throw make_error(env, "ERR_INVALID_ARGUMENT", "Engine(onComplete, onLog): expected a completion function and a log function");
  tsfn_ = Tsfn::New(env, info[0].As<Napi::Function>(), "bert-serve-engine", 0, 1, this);
  tsfn_.Unref(env);
  sink_ = std::make_unique<Sink>(tsfn_);
  log_ = std::make_shared<Log>(tsfn_);
  on_log_ = Napi::Persistent(info[1].As<Napi::Function>());
  napi_add_env_cleanup_hook(env, &EngineWrap::CleanupHook, this);
}

EngineWrap::~EngineWrap() {
  StopEverything();
  napi_remove_env_cleanup_hook(env_, &EngineWrap::CleanupHook, this);
}

void EngineWrap::CleanupHook(void* arg) { static_cast<EngineWrap*>(arg)->StopEverything(); }

// Environment teardown or GC without close(): no more messages are delivered; stop and join every
// native thread before the model and this object go away.
void EngineWrap::StopEverything() {
  if (!tsfn_released_) {
    tsfn_released_ = true;
    log_->close();
    tsfn_.Abort();
  }
  if (loader_.joinable()) loader_.join();
  if (engine_) engine_->close(false);
  if (closer_.joinable()) closer_.join();
  engine_.reset();
  phase_ = Phase::kClosed;
}

void EngineWrap::UpdateRef(Napi::Env env) {
  if (tsfn_released_) return;
  const bool busy = outstanding_ > 0 || phase_ == Phase::kLoading || phase_ == Phase::kClosing;
  if (busy)
    tsfn_.Ref(env);
  else
    tsfn_.Unref(env);
}

Napi::Value EngineWrap::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (phase_ != Phase::kNew) {
    deferred.Reject(make_error(env, "ERR_INVALID_ARGUMENT", "load() may be called once per engine").Value());
    return deferred.Promise();
  }
  if (info.Length() < 1 || !info[0].IsObject()) throw make_error(env, "ERR_INVALID_ARGUMENT", "load(options): expected an options object");
  bert::EngineOptions options = parse_options(info[0].As<Napi::Object>());
  phase_ = Phase::kLoading;
  load_deferred_ = deferred;
  self_ = Napi::Persistent(Value());
  UpdateRef(env);
  // Loading reads files and runs warm-up forwards: seconds. It runs on its own thread, never on the JS
  // thread or libuv's pool (docs/traps.md#8).
  loader_ = std::thread([options, sink = sink_.get(), tsfn = tsfn_, log = log_]() mutable {
    // The engine's threads inherit this sink (engine/log.h): its messages reach the JS logger.
    bert::LogScope scope(log);
    auto* m = new Message();
    try {
      m->engine = bert::Engine::load(options, *sink);
      m->kind = Message::Kind::kLoaded;
    } catch (const bert::EngineError& e) {
      m->kind = Message::Kind::kLoadFailed;
      m->code = bert::error_code_name(e.code());
      m->message = e.what();
    } catch (const std::exception& e) {
      m->kind = Message::Kind::kLoadFailed;
      m->code = "ERR_MODEL_INVALID";
      std::string what = e.what();
      m->message = options.model_dir + ": the model could not be loaded: " + what.substr(0, what.find('\n'));
    }
    if (tsfn.NonBlockingCall(m) != napi_ok) {
      if (m->engine) m->engine->close(false);
      delete m;
    }
  });
  return deferred.Promise();
}

void EngineWrap::Submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (phase_ != Phase::kReady) throw make_error(env, "ERR_CLOSED", "the engine is not loaded or is closed");
  if (info.Length() < 1 || !info[0].IsObject()) throw make_error(env, "ERR_INVALID_ARGUMENT", "submit(batch): expected an object");
  Napi::Object b = info[0].As<Napi::Object>();
  auto ids = b.Get("ids").As<Napi::Float64Array>();
  auto kinds = b.Get("kinds").As<Napi::Uint8Array>();
  auto texts = b.Get("texts").As<Napi::Array>();
  auto pairs = b.Get("pairs").As<Napi::Array>();
  auto token_ids = b.Get("tokenIds").As<Napi::Array>();
  auto params = b.Get("params").As<Napi::Array>();
  auto flags = b.Get("flags").As<Napi::Uint8Array>();
  auto deadlines = b.Get("deadlinesMs").As<Napi::Float64Array>();
  const size_t n = ids.ElementLength();
  if (kinds.ElementLength() != n || texts.Length() != n || pairs.Length() != n || token_ids.Length() != n || params.Length() != n ||
      flags.ElementLength() != n || deadlines.ElementLength() != n)
    throw make_error(env, "ERR_INVALID_ARGUMENT", "submit(batch): arrays of different lengths");
  const auto now = bert::Clock::now();
  std::vector<bert::RequestPtr> requests;
  requests.reserve(n);
  // Requests of one call usually share their options object: convert each distinct string once.
  napi_value last_params = nullptr;
  std::string last_params_text;
  for (size_t i = 0; i < n; ++i) {
    auto r = std::make_shared<bert::Request>();
    r->id = static_cast<uint64_t>(ids[i]);
    r->kind = kinds[i] == 1 ? bert::TaskKind::kTokenize : bert::TaskKind::kModel;
    r->text = texts.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value pair = pairs.Get(i);
    if (pair.IsString()) {
      r->text_pair = pair.As<Napi::String>().Utf8Value();
      r->has_pair = true;
    }
    Napi::Value tids = token_ids.Get(i);
    if (tids.IsTypedArray()) {
      auto arr = tids.As<Napi::Int32Array>();
      r->given_ids.assign(arr.Data(), arr.Data() + arr.ElementLength());
      r->has_given_ids = true;
    }
    Napi::Value p = params.Get(i);
    bool same = false;
    if (last_params) napi_strict_equals(env, last_params, p, &same);
    if (!same) {
      last_params = p;
      last_params_text = p.IsString() ? p.As<Napi::String>().Utf8Value() : std::string();
    }
    r->params_json = last_params_text;
    const uint8_t f = flags[i];
    r->add_special_tokens = (f & 1) != 0;
    r->truncation = static_cast<bert::Truncation>((f >> 1) & 3);
    if (deadlines[i] > 0) r->deadline = now + std::chrono::microseconds(static_cast<int64_t>(deadlines[i] * 1000.0));
    requests.push_back(std::move(r));
  }
  outstanding_ += n;
  UpdateRef(env);
  engine_->submit(std::move(requests));
}

void EngineWrap::Cancel(const Napi::CallbackInfo& info) {
  if (engine_ && info.Length() > 0 && info[0].IsNumber()) engine_->cancel(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
}

Napi::Value EngineWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  bert::EngineStats s;
  if (engine_ && phase_ == Phase::kReady) s = engine_->stats();
  const auto& q = s.scheduler;
  o.Set("queueDepth", static_cast<double>(q.queue_depth + s.preparing));
  o.Set("inFlight", static_cast<double>(q.in_flight));
  o.Set("batchesRun", static_cast<double>(q.batches_run));
  o.Set("requestsRun", static_cast<double>(q.requests_run));
  o.Set("meanBatchSize", q.mean_batch_size());
  o.Set("realTokens", static_cast<double>(q.real_tokens));
  o.Set("paddedTokens", static_cast<double>(q.padded_tokens));
  o.Set("droppedCancelled", static_cast<double>(q.dropped_cancelled));
  o.Set("droppedExpired", static_cast<double>(q.dropped_expired));
  o.Set("runningBatchMs", q.running_batch_ms);
  o.Set("nonFiniteOutputs", static_cast<double>(s.non_finite_outputs));
  o.Set("batchSizeHistogram", histogram(env, bert::SchedulerStats::kBatchSizeBounds, q.batch_size_counts));
  o.Set("batchTokensHistogram", histogram(env, bert::SchedulerStats::kBatchTokenBounds, q.batch_token_counts));
  // Process-wide, like the memory it describes (every engine's tensors share the block cache).
  const bert::BlockCacheStats m = bert::block_cache_stats();
  o.Set("tensorBytesInUse", static_cast<double>(m.bytes_in_use));
  o.Set("tensorBytesCached", static_cast<double>(m.bytes_cached));
  o.Set("tensorBlocksReused", static_cast<double>(m.hits));
  o.Set("tensorBlocksMapped", static_cast<double>(m.misses));
  o.Set("tensorBlocksUnmapped", static_cast<double>(m.unmapped));
  const bert::MallocStats heap = bert::malloc_stats();
  o.Set("mallocBytesAllocated", static_cast<double>(heap.allocated));
  o.Set("mallocBytesResident", static_cast<double>(heap.resident));
  return o;
}

Napi::Value EngineWrap::Tokenizer(const Napi::CallbackInfo& info) {
  if (!engine_) throw make_error(info.Env(), "ERR_CLOSED", "the engine is not loaded");
  return TokenizerWrap::NewInstance(info.Env(), engine_->tokenizer());
}

Napi::Value EngineWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool drain = info.Length() > 0 && info[0].IsBoolean() ? info[0].As<Napi::Boolean>().Value() : true;
  switch (phase_) {
    case Phase::kNew: {
      FinishClosed(env);
      auto d = Napi::Promise::Deferred::New(env);
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    case Phase::kLoading:
      phase_ = Phase::kClosing;  // the load message finishes the job
      close_drain_ = drain;
      close_deferred_ = Napi::Promise::Deferred::New(env);
      return close_deferred_->Promise();
    case Phase::kReady:
      close_deferred_ = Napi::Promise::Deferred::New(env);
      StartClosing(env, drain);
      return close_deferred_->Promise();
    case Phase::kClosing: return close_deferred_->Promise();
    case Phase::kClosed:
    default: {
      auto d = Napi::Promise::Deferred::New(env);
      d.Resolve(env.Undefined());
      return d.Promise();
    }
  }
}

void EngineWrap::StartClosing(Napi::Env env, bool drain) {
  phase_ = Phase::kClosing;
  UpdateRef(env);
  // close() joins worker threads and may wait for running batches: not on the JS thread.
  closer_ = std::thread([engine = engine_.get(), drain, tsfn = tsfn_, log = log_]() mutable {
    bert::LogScope scope(log);
    try {
      engine->close(drain);
    } catch (...) {
    }
    auto* m = new Message();
    m->kind = Message::Kind::kClosed;
    if (tsfn.NonBlockingCall(m) != napi_ok) delete m;
  });
}

void EngineWrap::FinishClosed(Napi::Env env) {
  engine_.reset();
  phase_ = Phase::kClosed;
  if (close_deferred_) {
    close_deferred_->Resolve(env.Undefined());
    close_deferred_.reset();
  }
  if (!tsfn_released_) {
    tsfn_released_ = true;
    log_->close();
    tsfn_.Release();
  }
  if (!self_.IsEmpty()) self_.Reset();
}

void EngineWrap::OnMessage(Napi::Env env, Napi::Function callback, EngineWrap* self, Message* raw) {
  std::unique_ptr<Message> msg(raw);
  if (env == nullptr || self == nullptr) {  // TSFN torn down: nobody to deliver to
    if (msg->engine) msg->engine->close(false);
    return;
  }
  switch (msg->kind) {
    case Message::Kind::kBatch: self->HandleBatch(env, callback, *msg); return;
    case Message::Kind::kLoaded:
      self->loader_.join();
      self->engine_ = std::move(msg->engine);
      if (self->phase_ == Phase::kClosing) {
        self->load_deferred_->Reject(make_error(env, "ERR_CLOSED", "the engine was closed while loading").Value());
        self->load_deferred_.reset();
        self->StartClosing(env, self->close_drain_);
        return;
      }
      self->phase_ = Phase::kReady;
      self->load_deferred_->Resolve(info_object(env, self->engine_->info()));
      self->load_deferred_.reset();
      self->UpdateRef(env);
      return;
    case Message::Kind::kLoadFailed:
      self->loader_.join();
      self->load_deferred_->Reject(make_error(env, msg->code.c_str(), msg->message).Value());
      self->load_deferred_.reset();
      self->FinishClosed(env);
      return;
    case Message::Kind::kClosed:
      if (self->closer_.joinable()) self->closer_.join();
      self->FinishClosed(env);
      return;
    case Message::Kind::kLog:
      self->on_log_.Call({Napi::String::New(env, bert::log_level_name(msg->level)), Napi::String::New(env, msg->message),
                          Napi::String::New(env, "{" + msg->fields + "}")});
      return;
  }
}

void EngineWrap::HandleBatch(Napi::Env env, Napi::Function callback, Message& msg) {
  const size_t n = msg.batch.size();
  auto ids = Napi::Float64Array::New(env, n);
  auto codes = Napi::Array::New(env, n);
  auto payloads = Napi::Array::New(env, n);
  auto timings = Napi::Float64Array::New(env, kTimingFields * n);
  for (size_t i = 0; i < n; ++i) {
    const bert::Request& r = *msg.batch[i];
    ids[i] = static_cast<double>(r.id);
    if (r.error) {
      codes.Set(static_cast<uint32_t>(i), bert::error_code_name(*r.error));
      payloads.Set(static_cast<uint32_t>(i), r.error_message);
    } else {
      codes.Set(static_cast<uint32_t>(i), "");
      payloads.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, r.json.data(), r.json.size()));
    }
    double* t = timings.Data() + kTimingFields * i;
    t[0] = r.timings.tokenize_us;
    t[1] = r.timings.queue_us;
    t[2] = r.timings.inference_us;
    t[3] = static_cast<double>(r.num_tokens());
    t[4] = r.timings.thread_wait_us;
  }
  outstanding_ = outstanding_ >= n ? outstanding_ - n : 0;
  UpdateRef(env);
  callback.Call({ids, codes, payloads, timings});
}

}  // namespace bert_addon
