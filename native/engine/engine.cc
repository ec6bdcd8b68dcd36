#include "engine/engine.h"

#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/version.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "engine/block_cache.h"
#include "engine/host_memory.h"
#include "engine/json_writer.h"
#include "engine/log.h"
#include "engine/model/input_encoder.h"
#include "engine/model/task_registry.h"
#include "engine/model/utf16.h"

namespace bert {

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// text-embeddings-inference's /tokenize shape: [{"id","text","special","start","stop"}, ...]; text is
// the original substring (the token itself for special tokens, whose start/stop are null).
std::string tokenize_json(const Request& r, const Tokenizer& tok) {
  std::string out;
  JsonWriter w(out);
  const auto map = utf16_to_byte(r.text);
  w.ch('[');
  for (size_t i = 0; i < r.encoding.ids.size(); ++i) {
    const int64_t id = r.encoding.ids[i];
    const bool special = tok.is_special(id);
    if (i) w.ch(',');
    w.raw("{\"id\":");
    w.integer(id);
    w.raw(",\"text\":");
    const auto [start, stop] = r.encoding.offsets[i];
    if (special || stop <= start || stop >= map.size())
      w.str(tok.id_to_token(id));
    else
      w.str(utf16_slice(r.text, map, start, stop));
    w.raw(",\"special\":");
    w.boolean(special);
    if (special) {
      w.raw(",\"start\":null,\"stop\":null}");
    } else {
      w.raw(",\"start\":");
      w.integer(start);
      w.raw(",\"stop\":");
      w.integer(stop);
      w.ch('}');
    }
  }
  w.ch(']');
  return out;
}

}  // namespace

std::string loaded_blas_library() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const auto base = path.substr(path.rfind('/') + 1);
    if (base.find("blas") != std::string::npos || base.find("mkl_core") != std::string::npos) {
      found = path;
      if (path.find("openblas") != std::string::npos) break;  // the one that serves the calls
    }
  }
  return found.empty() ? "none found (statically linked or not yet loaded)" : found;
}

// Forgets finished requests (so cancel() of an answered id is a no-op) and forwards to the addon.
class Engine::Sink : public CompletionSink {
 public:
  explicit Sink(CompletionSink& out) : out_(out) {}
  void track(const std::vector<RequestPtr>& rs) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& r : rs) live_[r->id] = r;
  }
  void cancel(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    if (auto r = it->second.lock()) r->cancelled.store(true, std::memory_order_relaxed);
  }
  void complete(std::vector<RequestPtr> done) noexcept override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& r : done) live_.erase(r->id);
    }
    out_.complete(std::move(done));
  }

 private:
  CompletionSink& out_;
  std::mutex mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Request>> live_;
};

Engine::Engine(const EngineOptions& options, CompletionSink& sink) : options_(options), sink_(std::make_unique<Sink>(sink)) {}

std::unique_ptr<Engine> Engine::load(const EngineOptions& options, CompletionSink& sink) {
  const auto t0 = Clock::now();
  const std::string& malloc_policy = apply_memory_policy();  // before the first weights and activations
  std::unique_ptr<Engine> e(new Engine(options, sink));
  const std::string& dir = options.model_dir;
  ModelConfig config = ModelConfig::load(dir + "/config.json");
  DeviceSpec spec = DeviceSpec::parse(options.device, options.dtype);
  e->tokenizer_ = Tokenizer::load(dir);
  if (static_cast<int64_t>(e->tokenizer_->vocab_size()) > config.vocab_size) {
    throw EngineError(ErrorCode::kVocabMismatch, dir + ": the tokenizer has " + std::to_string(e->tokenizer_->vocab_size()) +
                                                     " tokens but the model's vocabulary (config.json vocab_size) is " +
                                                     std::to_string(config.vocab_size) + "; they must come from the same checkpoint");
  }
  if (options.workers == 0) throw EngineError(ErrorCode::kInvalidArgument, "workers must be at least 1");
  e->model_ = std::make_unique<Model>(dir, config, spec);
  e->head_ = make_head(HeadContext{e->tokenizer_, config, dir, options.pooling});
  // The load-time probes run a few batch shapes; with the optimizing executor each new shape would
  // be profiled and re-specialized (seconds on large models), which the workers do not do either.
  torch::jit::setGraphExecutorOptimize(options.jit_optimize);
  const std::string head_path = e->head_->bind(*e->model_);
  release_cached_blocks();  // the load's temporaries (float32 weights a bf16/int8 model replaced)

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  RunnerOptions ro;
  ro.workers = options.workers;
  ro.jit_optimize = options.jit_optimize;
  ro.budget = options.thread_budget;
  ro.fair_batch_tokens = options.fair_batch_tokens;
  ro.intra_op_threads = options.intra_op_threads > 0 ? options.intra_op_threads : std::max(1, cores / static_cast<int>(options.workers));
  // Padding is masked out; a tokenizer without a pad token pads with id 0.
  e->runner_ = std::make_unique<ModelRunner>(*e->model_, *e->head_, std::max<int64_t>(0, e->tokenizer_->pad_id()), ro);

  const size_t model_max =
      static_cast<size_t>(std::min<int64_t>(config.max_tokens(), static_cast<int64_t>(e->tokenizer_->config().model_max_length)));
  e->options_.max_tokens = options.max_tokens ? std::min(options.max_tokens, model_max) : model_max;

  auto& info = e->info_;
  info.model_dir = dir;
  info.task = task_name(config.task);
  info.architecture = config.architecture;
  info.model_type = config.model_type;
  info.family = config.family;
  info.token_types = config.token_types;
  info.position_offset = config.position_offset;
  info.device = spec.device_name();
  info.dtype = spec.dtype_name();
  info.vocab_size = config.vocab_size;
  info.hidden_size = config.hidden_size;
  info.max_position_embeddings = config.max_position_embeddings;
  info.max_tokens = e->options_.max_tokens;
  info.head_path = head_path;
  info.path_id = e->head_->path_id();
  info.forward_signature = e->model_->signature();
  info.linear_kernel = e->model_->linear_kernel();
  info.precision = e->model_->precision();
  info.cpu_native_bf16 = cpu_has_native_bf16();
  info.head_info_json = e->head_->info_json();
  info.masked_fast_path = config.task == Task::kFillMask && info.path_id != "full_forward";
  info.forward_inputs = e->model_->forward_inputs();
  info.intra_op_threads = ro.intra_op_threads;
  info.workers = options.workers;
  info.thread_budget = options.thread_budget ? options.thread_budget->threads() : 0;
  info.blas = loaded_blas_library();
  info.malloc_policy = malloc_policy;
  info.torch_version = TORCH_VERSION;
  info.load_ms = ms_since(t0);

  if (options.warmup) {
    const auto tw = Clock::now();
    const WarmupTimes w = e->warmup();
    info.single_thread_max_tokens = e->calibrate_threads();
    if (options.measure_batch_overhead) {
      if (size_t o = e->measure_batch_overhead(w)) e->options_.scheduler.batch_overhead_tokens = o;
    }
    info.warmup_ms = ms_since(tw);
  }
  info.batch_overhead_tokens = e->options_.scheduler.batch_overhead_tokens;
  e->runner_->set_batch_overhead_tokens(info.batch_overhead_tokens);
  if (options.thread_budget) {
    info.fair_batch_tokens =
        std::min(e->options_.scheduler.max_batch_tokens,
                 options.fair_batch_tokens ? options.fair_batch_tokens : 4 * std::max<size_t>(info.batch_overhead_tokens, 1));
  }
  e->scheduler_ = std::make_unique<Scheduler>(e->options_.scheduler, *e->runner_, *e->sink_);
  e->scheduler_->start();
  // The prep thread reports through the loading thread's log sink (log.h), as the workers do.
  e->prep_thread_ = std::thread([raw = e.get(), sink = thread_log_sink()] {
    LogScope scope(sink);
    raw->prep_loop();
  });
  return e;
}

// Runs the model once per length bucket at batch 1 and once at the largest batch, so that first
// requests do not pay one-time costs (allocator growth, JIT plan creation). Returns the times of the
// 1 x 16 and n x 32 runs, which measure_batch_overhead() reuses as its first sample.
Engine::WarmupTimes Engine::warmup() {
  runner_->configure_thread();
  WarmupTimes t;
  std::vector<size_t> lengths;
  for (size_t len = 8; len < options_.max_tokens; len *= 2) lengths.push_back(len);
  lengths.push_back(options_.max_tokens);
  for (size_t len : lengths) {
    const double ms = time_batch(1, len);
    if (len == 16) t.one_16_ms = ms;
  }
  t.many = std::max<size_t>(1, std::min(options_.scheduler.max_batch_requests, options_.scheduler.max_batch_tokens / 32));
  t.many_32_ms = time_batch(t.many, 32);
  return t;
}

double Engine::time_batch(size_t count, size_t len) {
  std::vector<RequestPtr> batch;
  for (size_t i = 0; i < count; ++i) batch.push_back(head_->warmup_request(len));
  const auto t0 = Clock::now();
  runner_->run_direct(batch);
  return ms_since(t0);
}

// Forward time is close to a + b x padded tokens on the models we serve (docs/batching.md); a / b is
// the batch overhead in tokens that the length-sorted batch picker weighs padding against. Timed at
// 1 x 16 and n x 32 tokens, the faster of the warm-up's run and one more (the warm-up's may carry
// one-time costs).
size_t Engine::measure_batch_overhead(const WarmupTimes& w) {
  if (w.one_16_ms <= 0 || options_.max_tokens < 32 || w.many * 32 <= 16) return 0;  // too short to time
  const double one = std::min(w.one_16_ms, time_batch(1, 16));
  const double many = std::min(w.many_32_ms, time_batch(w.many, 32));
  const double per_token = (many - one) / double(w.many * 32 - 16);
  if (!(per_token > 0)) return 0;  // no measurable per-token cost: keep the configured value
  const double overhead = (one - 16 * per_token) / per_token;
  return static_cast<size_t>(std::clamp(overhead, 1.0, 8192.0));
}

// Batch 1 at 8, 16, 32 ... up to 256 tokens, one thread against the whole team, each run after a
// 1 ms pause as a lone request arrives (the team's threads asleep); stops at the first length where
// one thread does not win clearly. Measured, not assumed: where one thread wins depends on the
// model's width, the core count and what else runs on the machine (a team member that is not
// scheduled at once stalls every operator). The choice holds for the process's life, so noise must
// not make it: the two run in pairs, and one thread is kept only when the median of the pairs'
// ratios says it is at least kOneThreadMargin faster. (Best of 3 each with no margin chose one
// thread for BERT-base's 16-token batches in one server process, where the team was 1.4x faster.)
size_t Engine::calibrate_threads() {
  if (info_.intra_op_threads <= 1 || model_->spec().device.is_cuda()) return 0;
  // BERT_SERVE_SMALL_BATCHES=team: every batch on the whole team (for comparisons).
  if (const char* v = std::getenv("BERT_SERVE_SMALL_BATCHES"); v && std::string(v) == "team") return 0;
  constexpr int kPairs = 5;
  constexpr double kOneThreadMargin = 0.9;  // one thread's time / the team's, at most
  size_t bound = 0;
  const size_t top = std::min<size_t>(256, options_.max_tokens);
  for (size_t len = 8; len <= top; len *= 2) {
    std::array<double, kPairs> ratio{};
    for (int pair = 0; pair < kPairs; ++pair) {
      // Alternate which runs first, so that a slow start (caches, frequency) does not favour one.
      double one = 0, team = 0;
      for (int k = 0; k < 2; ++k) {
        const bool single = (k == 0) == (pair % 2 == 0);
        runner_->set_single_thread_max_tokens(single ? SIZE_MAX : 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        (single ? one : team) = time_batch(1, len);
      }
      ratio[pair] = team > 0 ? one / team : HUGE_VAL;
    }
    std::nth_element(ratio.begin(), ratio.begin() + kPairs / 2, ratio.end());
    if (!(ratio[kPairs / 2] <= kOneThreadMargin)) break;
    bound = len;
  }
  runner_->set_single_thread_max_tokens(bound);
  return bound;
}

Engine::~Engine() { close(false); }

void Engine::submit(std::vector<RequestPtr> requests) {
  const auto now = Clock::now();
  for (auto& r : requests) r->submitted = now;
  sink_->track(requests);
  {
    std::lock_guard<std::mutex> lock(prep_mu_);
    if (!prep_stop_) {
      for (auto& r : requests) prep_queue_.push_back(std::move(r));
      requests.clear();
    }
  }
  if (requests.empty()) {
    prep_cv_.notify_one();
    return;
  }
  for (auto& r : requests) r->fail(ErrorCode::kClosed, "the engine is closed");
  sink_->complete(std::move(requests));
}

void Engine::cancel(uint64_t id) { sink_->cancel(id); }

bool Engine::prepare(Request& r) const {
  const auto t0 = Clock::now();
  try {
    if (r.cancelled.load(std::memory_order_relaxed)) {
      r.fail(ErrorCode::kCancelled, "the request was cancelled");
      return false;
    }
    if (t0 > r.deadline) {
      r.fail(ErrorCode::kDeadlineExceeded, "the request's deadline passed before it was processed");
      return false;
    }
    encode_request(*tokenizer_, r, InputLimits{options_.max_tokens, options_.truncate});
    if (r.kind == TaskKind::kTokenize) {
      r.json = tokenize_json(r, *tokenizer_);
      return false;
    }
    // Only a model that has a second token type needs it to tell a pair's texts apart, and only when
    // the tokenizer's post-processor gives the second text type 1 (BERT's; RoBERTa's gives all 0):
    // RoBERTa, XLM-R, DistilBERT and MPNet separate them by the separator tokens alone.
    const auto& types = r.encoding.type_ids;
    if (r.has_pair && model_->config().token_types && model_->forward_inputs() < 3 &&
        std::any_of(types.begin(), types.end(), [](uint32_t t) { return t != 0; }))
      throw EngineError(ErrorCode::kInvalidArgument,
                        "this model's forward takes no token_type_ids, so it cannot tell the two texts of a pair apart; "
                        "export it with token_type_ids (scripts/export_hf.py) to send pairs");
    head_->prepare(r);
  } catch (const EngineError& e) {
    r.fail(e.code(), e.what());
    return false;
  } catch (const std::exception& e) {
    log_event(LogLevel::kError, "preparing a request failed", {{"request", r.id}, {"error", e.what()}});
    r.fail(ErrorCode::kInternal, "the request could not be prepared");
    return false;
  }
  return true;
}

void Engine::prep_loop() {
  std::vector<RequestPtr> work, ready, finished;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(prep_mu_);
      prep_cv_.wait(lock, [&] { return prep_stop_ || !prep_queue_.empty(); });
      if (prep_queue_.empty()) return;  // stopping and nothing left
      work.assign(std::make_move_iterator(prep_queue_.begin()), std::make_move_iterator(prep_queue_.end()));
      prep_queue_.clear();
      if (prep_stop_ && !prep_drain_) {
        lock.unlock();
        for (auto& r : work) r->fail(ErrorCode::kClosed, "the engine was closed before the request ran");
        sink_->complete(std::move(work));
        work.clear();
        continue;
      }
    }
    for (auto& r : work) {
      const auto t0 = Clock::now();
      const bool queued = prepare(*r);
      r->timings.tokenize_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      (queued ? ready : finished).push_back(std::move(r));
    }
    work.clear();
    if (!finished.empty()) sink_->complete(std::move(finished));
    finished.clear();
    if (!ready.empty()) scheduler_->enqueue(std::move(ready));
    ready.clear();
  }
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.scheduler = scheduler_->stats();
  s.non_finite_outputs = runner_->non_finite_outputs();
  std::lock_guard<std::mutex> lock(prep_mu_);
  s.preparing = prep_queue_.size();
  return s;
}

void Engine::close(bool drain) {
  {
    std::lock_guard<std::mutex> lock(prep_mu_);
    if (closed_) return;
    closed_ = true;
    prep_stop_ = true;
    prep_drain_ = drain;
  }
  prep_cv_.notify_all();
  if (prep_thread_.joinable()) prep_thread_.join();
  if (scheduler_) scheduler_->close(drain);
}

}  // namespace bert
