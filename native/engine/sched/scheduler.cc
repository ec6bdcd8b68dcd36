#include "engine/sched/scheduler.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include "engine/log.h"

namespace bert {
namespace {

constexpr const char* kInferenceFailedMessage = "inference failed";

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// A request the runner already answered or failed keeps its outcome when the runner throws later.
bool finished(const Request& r) { return r.error.has_value() || !r.json.empty(); }

// t + d without overflowing (max_delay may be set very large to mean "wait for full batches").
Clock::time_point add_saturating(Clock::time_point t, std::chrono::microseconds d) {
  if (d.count() <= 0) return t;
  const auto room = std::chrono::duration_cast<std::chrono::microseconds>(Clock::time_point::max() - t);
  if (d >= room) return Clock::time_point::max();
  return t + std::chrono::duration_cast<Clock::duration>(d);
}

SchedulerOptions checked(SchedulerOptions o) {
  if (o.workers == 0) {
    throw EngineError(ErrorCode::kInvalidArgument, "scheduler: workers must be at least 1");
  }
  if (o.max_batch_requests == 0) {
    throw EngineError(ErrorCode::kInvalidArgument, "scheduler: max_batch_requests must be at least 1");
  }
  if (o.max_batch_tokens == 0) {
    throw EngineError(ErrorCode::kInvalidArgument, "scheduler: max_batch_tokens must be at least 1");
  }
  if (o.max_delay.count() < 0) o.max_delay = std::chrono::microseconds(0);
  return o;
}

BatchLimits limits_of(const SchedulerOptions& o) {
  BatchLimits l;
  l.max_requests = o.max_batch_requests;
  l.max_tokens = o.max_batch_tokens;
  l.sort_by_length = o.sort_by_length;
  l.sort_window = o.sort_window;
  l.batch_overhead_tokens = o.batch_overhead_tokens;
  return l;
}

// Inside a catch block: what the exception says, for the log. The pointer stays valid while the
// caller's handler runs (the exception object lives until then); nothing here allocates or throws.
const char* current_exception_text() noexcept {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Index of the histogram bucket for v: the first bound >= v, or one past the last bound.
template <size_t N>
size_t bucket(const std::array<size_t, N>& bounds, size_t v) {
  return static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
}

void fail_all(std::vector<RequestPtr>& requests, ErrorCode code, const char* message) {
  for (auto& r : requests) r->fail(code, message);
}

}  // namespace

Scheduler::Scheduler(SchedulerOptions options, BatchRunner& runner, CompletionSink& sink)
    : options_(checked(std::move(options))), runner_(runner), sink_(sink), picker_(limits_of(options_)) {
  lengths_.reserve(picker_.window());
  chosen_.reserve(options_.max_batch_requests);
  batch_started_.assign(options_.workers, Clock::time_point::max());
}

Scheduler::~Scheduler() {
  try {
    close(false);
  } catch (const std::exception& e) {
    log_event(LogLevel::kError, "scheduler: error while closing", {{"error", e.what()}});
  } catch (...) {
    log_event(LogLevel::kError, "scheduler: unknown error while closing");
  }
}

void Scheduler::start() {
  std::lock_guard<std::mutex> threads_lock(threads_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_ || closing_) return;
    started_ = true;
  }
  try {
    threads_.reserve(options_.workers);
    // Workers report through the log sink of the thread that starts them (log.h).
    for (size_t i = 0; i < options_.workers; ++i) {
      threads_.emplace_back([this, i, sink = thread_log_sink()] {
        LogScope scope(sink);
        worker_loop(i);
      });
    }
  } catch (...) {
    // Could not spawn every worker: stop the ones that run, fail what is queued, report the error.
    std::vector<RequestPtr> failed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      queue_.drain_into(failed);
    }
    cv_.notify_all();
    fail_all(failed, ErrorCode::kClosed, "the engine failed to start");
    if (!failed.empty()) sink_.complete(std::move(failed));
    for (auto& t : threads_) t.join();
    threads_.clear();
    throw;
  }
}

void Scheduler::enqueue(std::vector<RequestPtr> requests) {
  // Refusals are decided before taking the lock; `refused` allocates only when there are some.
  std::vector<RequestPtr> refused;
  size_t kept = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i]) continue;
    const size_t n = requests[i]->num_tokens();
    if (n > options_.max_batch_tokens) {
      requests[i]->fail(ErrorCode::kInputTooLong,
                        "input is too long: " + std::to_string(n) +
                            " tokens, more than fit in one batch (max_batch_tokens = " + std::to_string(options_.max_batch_tokens) + ")");
      refused.push_back(std::move(requests[i]));
      continue;
    }
    if (kept != i) requests[kept] = std::move(requests[i]);
    ++kept;
  }
  requests.resize(kept);

  bool closed = false;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.refused_too_long += refused.size();
    if (closing_) {
      closed = true;
    } else if (!requests.empty()) {
      // One timestamp for the whole group, taken under the lock so that queue order is arrival order.
      const auto now = Clock::now();
      for (auto& r : requests) {
        r->queued = now;
        queue_.push_back(std::move(r));
      }
      // One waiter re-evaluates; if it starts a batch and more remain, it wakes the next one.
      wake = waiting_workers_ > 0;
    }
  }
  if (wake) cv_.notify_one();

  if (closed && !requests.empty()) {
    fail_all(requests, ErrorCode::kClosed, "the engine is closed");
    if (refused.empty()) {
      refused = std::move(requests);
    } else {
      for (auto& r : requests) refused.push_back(std::move(r));
    }
  }
  if (!refused.empty()) sink_.complete(std::move(refused));
}

void Scheduler::close(bool drain) {
  std::vector<RequestPtr> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    // Without workers nothing would ever drain the queue: fail it even when asked to drain.
    if (!drain || !started_) queue_.drain_into(failed);
  }
  cv_.notify_all();
  if (!failed.empty()) {
    fail_all(failed, ErrorCode::kClosed, "the engine closed before the request ran");
    sink_.complete(std::move(failed));
  }
  // A concurrent close() waits here until every worker is joined, so both return after that.
  std::lock_guard<std::mutex> threads_lock(threads_mu_);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SchedulerStats s = stats_;
  s.queue_depth = queue_.size();
  const auto now = Clock::now();
  for (const auto& started : batch_started_) {
    if (started < now) s.running_batch_ms = std::max(s.running_batch_ms, std::chrono::duration<double, std::milli>(now - started).count());
  }
  return s;
}

void Scheduler::worker_loop(size_t index) {
  try {
    runner_.on_worker_start(index);
  } catch (...) {
    // Logged, not fatal: if the runner cannot work on this thread, its batches fail one by one.
    log_event(LogLevel::kError, "worker setup failed", {{"worker", index}, {"error", current_exception_text()}});
  }

  std::vector<RequestPtr> batch;
  std::vector<RequestPtr> dropped;
  bool more = true;
  while (more) {
    bool counted_busy = false;
    size_t taken = 0;
    try {
      batch.reserve(options_.max_batch_requests);
      {
        std::unique_lock<std::mutex> lock(mu_);
        more = take_batch(index, lock, batch, dropped);
        taken = batch.size();
        counted_busy = taken > 0;
      }
      if (!dropped.empty()) {
        sink_.complete(std::move(dropped));
        dropped.clear();
      }
      if (taken > 0) {
        run_batch(index, batch);
        // Idle before completing: a waiting worker may start while this one hands the answers over.
        finish_batch(index, taken);
        counted_busy = false;
        sink_.complete(std::move(batch));
        batch.clear();
      }
    } catch (...) {
      // Only allocation failures can get here (run_batch catches what the runner throws). Fail
      // what this worker holds rather than lose it, and keep serving.
      log_event(LogLevel::kError, "scheduler error", {{"worker", index}, {"error", current_exception_text()}});
      if (counted_busy) finish_batch(index, taken);
      for (auto* held : {&dropped, &batch}) {
        held->erase(std::remove(held->begin(), held->end(), nullptr), held->end());
        for (auto& r : *held) {
          if (!finished(*r)) r->fail(ErrorCode::kInternal, "internal error in the scheduler");
        }
        if (!held->empty()) sink_.complete(std::move(*held));
        held->clear();
      }
    }
  }
}

bool Scheduler::take_batch(size_t index, std::unique_lock<std::mutex>& lock, std::vector<RequestPtr>& batch,
                           std::vector<RequestPtr>& dropped) {
  for (;;) {
    const auto now = Clock::now();
    const size_t live = scan_window(now, dropped);
    if (live == 0) {  // the queue is empty
      if (closing_) return false;
      if (!dropped.empty()) return true;  // complete the drops before sleeping
      ++waiting_workers_;
      cv_.wait(lock);
      --waiting_workers_;
      continue;
    }

    const BatchPick pick = picker_.pick(lengths_, chosen_, runner_.batch_token_cap());
    const auto deadline = add_saturating(queue_[0]->queued, options_.max_delay);
    // Start now when: closing (drain: no point in waiting), the batch cannot grow, the model is idle
    // (no other worker busy: waiting would only add latency), or the oldest request waited max_delay.
    if (closing_ || pick.full || busy_workers_ == 0 || now >= deadline) {
      for (size_t idx : chosen_) batch.push_back(std::move(queue_[idx]));
      queue_.erase_empty_in_prefix(chosen_.back() + 1);
      ++busy_workers_;
      stats_.in_flight += pick.count;
      ++stats_.batches_run;
      stats_.requests_run += pick.count;
      stats_.real_tokens += pick.real_tokens;
      stats_.padded_tokens += pick.padded_tokens();
      ++stats_.batch_size_counts[bucket(SchedulerStats::kBatchSizeBounds, pick.count)];
      ++stats_.batch_token_counts[bucket(SchedulerStats::kBatchTokenBounds, pick.padded_tokens())];
      batch_started_[index] = now;
      // What is left may be a batch for another free worker.
      if (!queue_.empty() && waiting_workers_ > 0) cv_.notify_one();
      return true;
    }

    if (!dropped.empty()) return true;
    // Another worker is running the model and the batch could still grow: wait for more requests
    // (enqueue notifies), for a worker to finish (finish_batch notifies), or for the deadline. The
    // wait is bounded so that an absurd max_delay cannot overflow the clock arithmetic of wait_until.
    ++waiting_workers_;
    cv_.wait_until(lock, std::min(deadline, now + std::chrono::hours(1)));
    --waiting_workers_;
  }
}

size_t Scheduler::scan_window(Clock::time_point now, std::vector<RequestPtr>& dropped) {
  const size_t window = picker_.window();
  lengths_.clear();
  size_t scanned = 0;
  bool any_dead = false;
  for (; scanned < queue_.size() && lengths_.size() < window; ++scanned) {
    RequestPtr& r = queue_[scanned];
    if (r->cancelled.load(std::memory_order_relaxed)) {
      r->fail(ErrorCode::kCancelled, "the request was cancelled before it reached the model");
      ++stats_.dropped_cancelled;
    } else if (r->deadline <= now) {
      r->fail(ErrorCode::kDeadlineExceeded, "the request's deadline passed before it reached the model");
      ++stats_.dropped_expired;
    } else {
      lengths_.push_back(r->num_tokens());
      continue;
    }
    dropped.push_back(std::move(r));
    any_dead = true;
  }
  if (any_dead) queue_.erase_empty_in_prefix(scanned);
  return lengths_.size();
}

void Scheduler::run_batch(size_t index, std::vector<RequestPtr>& batch) {
  const auto start = Clock::now();
  for (auto& r : batch) r->timings.queue_us = micros(start - r->queued);
  const char* kind = nullptr;
  std::string detail;
  bool engine_error = false;
  try {
    runner_.run(index, batch);
  } catch (const EngineError& e) {
    kind = error_code_name(e.code());
    detail = e.what();
    engine_error = true;
  } catch (const std::exception& e) {
    kind = "exception";
    detail = e.what();
  } catch (...) {
    kind = "unknown exception";
  }
  const double inference_us = micros(Clock::now() - start);
  if (kind) {
    // The detail goes to the log only; users see it only when the runner chose an EngineError, whose
    // messages are written for users.
    log_event(LogLevel::kError, "a batch failed", {{"worker", index}, {"requests", batch.size()}, {"kind", kind}, {"error", detail}});
  }
  for (auto& r : batch) {
    if (!r) continue;
    r->timings.inference_us = std::max(0.0, inference_us - r->timings.thread_wait_us);
    if (kind && !finished(*r)) {
      r->fail(ErrorCode::kInferenceFailed, engine_error ? detail : std::string(kInferenceFailedMessage));
    }
  }
}

void Scheduler::finish_batch(size_t index, size_t n) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --busy_workers_;
    batch_started_[index] = Clock::time_point::max();
    stats_.in_flight -= n;
    wake = waiting_workers_ > 0 && !queue_.empty();
  }
  if (wake) cv_.notify_one();
}

}  // namespace bert
