// Scheduler tests with a fake runner: batching bounds, the single deadline, no waiting when idle,
// length sorting, drops, runner failures, close, and many producers.
//
// Time-based checks only bound things from the side a loaded machine cannot break: a wait that must
// happen is checked as a lower bound (the scheduler itself guarantees it), "no wait" is checked
// against a max_delay many times larger than the expected latency, and every wait for an event has a
// long timeout so that a bug fails the test instead of hanging it.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "engine/sched/scheduler.h"

using namespace bert;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

constexpr auto kEventTimeout = 20s;  // how long a test waits for something that must happen

RequestPtr make_request(uint64_t id, size_t tokens) {
  auto r = std::make_shared<Request>();
  r->id = id;
  r->encoding.ids.assign(tokens, 1);
  return r;
}

std::vector<RequestPtr> batch_of(std::initializer_list<std::pair<uint64_t, size_t>> specs) {
  std::vector<RequestPtr> v;
  for (auto& [id, tokens] : specs) v.push_back(make_request(id, tokens));
  return v;
}

struct BatchRecord {
  size_t worker = 0;
  std::vector<uint64_t> ids;
  std::vector<size_t> lengths;
  Clock::time_point start;
  size_t longest() const { return lengths.empty() ? 0 : *std::max_element(lengths.begin(), lengths.end()); }
};

// Records every batch; answers each request with json "ok"; can sleep, hold batches until released,
// and throw for batches holding chosen ids. Configure before start().
class FakeRunner : public BatchRunner {
 public:
  milliseconds sleep{0};
  std::set<uint64_t> hold_ids;          // a batch holding one of these waits for release()
  bool hold_all = false;                // every batch waits for release()
  std::set<uint64_t> throw_ids;         // std::runtime_error with a secret in what()
  std::set<uint64_t> engine_error_ids;  // bert::EngineError with a user-facing message
  bool answer_before_throw = false;     // fill the other requests' json before throwing
  bool throw_on_worker_start = false;
  std::atomic<size_t> token_cap{0};  // what batch_token_cap() answers (another model active: the cap)

  size_t batch_token_cap() const override { return token_cap.load(); }

  void on_worker_start(size_t) override {
    if (throw_on_worker_start) throw std::runtime_error("worker setup exploded");
  }

  void run(size_t worker, std::vector<RequestPtr>& batch) override {
    BatchRecord rec;
    rec.worker = worker;
    rec.start = Clock::now();
    bool hold = hold_all, throw_secret = false, throw_engine = false;
    for (auto& r : batch) {
      rec.ids.push_back(r->id);
      rec.lengths.push_back(r->num_tokens());
      hold = hold || hold_ids.count(r->id);
      throw_secret = throw_secret || throw_ids.count(r->id);
      throw_engine = throw_engine || engine_error_ids.count(r->id);
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      batches_.push_back(rec);
      ++entered_;
      cv_.notify_all();
      if (hold) cv_.wait(lock, [&] { return released_; });
    }
    if (sleep.count() > 0) std::this_thread::sleep_for(sleep);
    if (throw_secret || throw_engine) {
      if (answer_before_throw) {
        for (auto& r : batch) {
          if (!throw_ids.count(r->id) && !engine_error_ids.count(r->id)) r->json = "ok";
        }
      }
      if (throw_engine) {
        throw EngineError(ErrorCode::kInferenceFailed, "the model returned a wrong shape");
      }
      throw std::runtime_error("secret internal detail /opt/model.pt line 42");
    }
    for (auto& r : batch) r->json = "ok";
  }

  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  // Waits until `n` batches have entered run().
  bool wait_entered(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kEventTimeout, [&] { return entered_ >= n; });
  }
  std::vector<BatchRecord> batches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  std::set<uint64_t> ran_ids() const {
    std::set<uint64_t> ids;
    for (auto& b : batches()) ids.insert(b.ids.begin(), b.ids.end());
    return ids;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<BatchRecord> batches_;
  size_t entered_ = 0;
  bool released_ = false;
};

// Collects completions; wait_for(n) waits (bounded) until n requests have been completed.
class CollectingSink : public CompletionSink {
 public:
  void complete(std::vector<RequestPtr> done) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<uint64_t> ids;
    for (auto& r : done) {
      ids.push_back(r->id);
      counts_[r->id]++;
      by_id_[r->id] = r;
      done_at_[r->id] = Clock::now();
    }
    calls_.push_back(std::move(ids));
    total_ += done.size();
    cv_.notify_all();
  }
  bool wait_for(size_t n, std::chrono::nanoseconds timeout = kEventTimeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return total_ >= n; });
  }
  size_t total() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }
  RequestPtr get(uint64_t id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }
  std::map<uint64_t, int> counts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
  }
  std::vector<std::vector<uint64_t>> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  Clock::time_point done_at(uint64_t id) const {
    std::lock_guard<std::mutex> lock(mu_);
    return done_at_.at(id);
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t total_ = 0;
  std::map<uint64_t, int> counts_;
  std::map<uint64_t, RequestPtr> by_id_;
  std::map<uint64_t, Clock::time_point> done_at_;
  std::vector<std::vector<uint64_t>> calls_;
};

SchedulerOptions opts(size_t workers, size_t max_requests, size_t max_tokens, milliseconds delay, bool sorted = true) {
  SchedulerOptions o;
  o.workers = workers;
  o.max_batch_requests = max_requests;
  o.max_batch_tokens = max_tokens;
  o.max_delay = delay;
  o.sort_by_length = sorted;
  return o;
}

bool ok(const RequestPtr& r) { return r && !r->error && r->json == "ok"; }
bool failed_with(const RequestPtr& r, ErrorCode code) { return r && r->error && *r->error == code; }
double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

}  // namespace

TEST_CASE(batches_bounded_by_max_requests) {
  FakeRunner runner;
  runner.hold_ids = {0};
  CollectingSink sink;
  Scheduler s(opts(1, 4, 10000, 1000ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{0, 4}}));
  CHECK(runner.wait_entered(1));
  std::vector<RequestPtr> many;
  for (uint64_t id = 1; id <= 10; ++id) many.push_back(make_request(id, 4));
  s.enqueue(std::move(many));
  runner.release();
  CHECK(sink.wait_for(11));
  auto batches = runner.batches();
  CHECK_EQ(batches.size(), size_t(4));  // 1, then 4 + 4 + 2
  for (auto& b : batches) CHECK(b.ids.size() <= 4);
  for (uint64_t id = 0; id <= 10; ++id) CHECK(ok(sink.get(id)));
}

TEST_CASE(the_runners_token_cap_bounds_the_batches_taken_while_it_holds) {
  FakeRunner runner;
  runner.hold_ids = {0};
  CollectingSink sink;
  Scheduler s(opts(1, 32, 1000, 1000ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{0, 1}}));
  CHECK(runner.wait_entered(1));
  // Another model became active: batches of at most 30 padded tokens (3 x 10) from now on.
  runner.token_cap = 30;
  std::vector<RequestPtr> v;
  for (uint64_t id = 1; id <= 12; ++id) v.push_back(make_request(id, 10));
  v.push_back(make_request(13, 50));  // longer than the cap: it still runs, alone
  s.enqueue(std::move(v));
  runner.release();
  CHECK(sink.wait_for(14));
  const auto batches = runner.batches();
  for (size_t i = 1; i < batches.size(); ++i) {
    const auto& b = batches[i];
    CHECK(b.longest() * b.ids.size() <= 30 || b.ids.size() == 1);
  }
  CHECK(batches.size() >= 1 + 4 + 1);  // the held one, 12 x 10 by threes, the long one
  for (uint64_t id = 0; id <= 13; ++id) CHECK(ok(sink.get(id)));
}

TEST_CASE(batches_bounded_by_padded_token_budget) {
  FakeRunner runner;
  runner.hold_ids = {0};
  CollectingSink sink;
  Scheduler s(opts(1, 32, 40, 1000ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{0, 1}}));
  CHECK(runner.wait_entered(1));
  // 12 x 10 tokens: four per batch. Then short ones with a long one: padding counts, not real tokens.
  std::vector<RequestPtr> v;
  for (uint64_t id = 1; id <= 12; ++id) v.push_back(make_request(id, 10));
  v.push_back(make_request(13, 30));
  for (uint64_t id = 14; id <= 20; ++id) v.push_back(make_request(id, 2));
  s.enqueue(std::move(v));
  runner.release();
  CHECK(sink.wait_for(21));
  for (auto& b : runner.batches()) {
    CHECK(b.longest() * b.ids.size() <= 40);
    CHECK(b.ids.size() >= 1);
  }
  const auto st = s.stats();
  CHECK(st.padded_tokens >= st.real_tokens);
  CHECK(st.padded_tokens <= 40 * st.batches_run);
  CHECK_EQ(st.real_tokens, uint64_t(1 + 120 + 30 + 14));
}

TEST_CASE(oversize_request_refused_at_enqueue) {
  FakeRunner runner;
  CollectingSink sink;
  Scheduler s(opts(1, 8, 40, 1ms), runner, sink);
  // Refused synchronously, before the workers even exist.
  s.enqueue(batch_of({{1, 41}}));
  CHECK_EQ(sink.total(), size_t(1));
  CHECK(failed_with(sink.get(1), ErrorCode::kInputTooLong));
  CHECK(sink.get(1)->error_message.find("41") != std::string::npos);
  s.start();
  // In a group: the long one is refused, the others are queued and run.
  s.enqueue(batch_of({{2, 40}, {3, 1000}, {4, 3}}));
  CHECK(sink.wait_for(4));
  CHECK(ok(sink.get(2)));
  CHECK(failed_with(sink.get(3), ErrorCode::kInputTooLong));
  CHECK(ok(sink.get(4)));
  CHECK(runner.ran_ids() == std::set<uint64_t>({2, 4}));
  CHECK_EQ(s.stats().refused_too_long, uint64_t(2));
}

TEST_CASE(no_waiting_when_the_model_is_idle) {
  // max_delay 200 ms: an idle engine must start a lone request at once (well under 50 ms), with one
  // worker and with two.
  for (size_t workers : {size_t(1), size_t(2)}) {
    FakeRunner runner;
    CollectingSink sink;
    Scheduler s(opts(workers, 32, 10000, 200ms), runner, sink);
    s.start();
    for (uint64_t id = 0; id < 5; ++id) {
      std::this_thread::sleep_for(5ms);
      s.enqueue(batch_of({{id, 8}}));
      CHECK(sink.wait_for(id + 1));
      auto r = sink.get(id);
      CHECK(ok(r));
      if (r) CHECK(r->timings.queue_us < 50'000);
    }
  }
}

TEST_CASE(single_worker_never_waits) {
  // One worker, max_delay 10 s: the request queued while the worker is busy starts as soon as the
  // worker is free, not at the deadline.
  FakeRunner runner;
  runner.sleep = 50ms;
  CollectingSink sink;
  Scheduler s(opts(1, 32, 10000, 10000ms), runner, sink);
  s.start();
  const auto t0 = Clock::now();
  s.enqueue(batch_of({{1, 8}}));
  CHECK(runner.wait_entered(1));
  s.enqueue(batch_of({{2, 8}}));
  CHECK(sink.wait_for(2));
  CHECK(ok(sink.get(2)));
  CHECK(ms_between(t0, sink.done_at(2)) < 5000);
}

TEST_CASE(deadline_wait_with_a_busy_worker_gathers_a_batch) {
  // Two workers; the first is busy (held). A request arriving now is not alone-started: the free
  // worker waits until max_delay after it arrived, and what arrives meanwhile joins the same batch.
  FakeRunner runner;
  runner.hold_ids = {1};
  CollectingSink sink;
  Scheduler s(opts(2, 32, 10000, 300ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{1, 8}}));
  CHECK(runner.wait_entered(1));
  s.enqueue(batch_of({{2, 8}}));
  s.enqueue(batch_of({{3, 8}}));
  s.enqueue(batch_of({{4, 8}}));
  CHECK(sink.wait_for(3));  // 2, 3, 4 complete while 1 is still held
  auto batches = runner.batches();
  CHECK_EQ(batches.size(), size_t(2));
  if (batches.size() == 2) {
    CHECK(batches[1].ids == std::vector<uint64_t>({2, 3, 4}));
    CHECK(batches[1].worker != batches[0].worker);
  }
  auto r2 = sink.get(2);
  CHECK(ok(r2));
  if (r2) CHECK(r2->timings.queue_us >= 295'000);  // waited for the deadline (a lower bound)
  CHECK(!sink.get(1));                             // still held
  runner.release();
  CHECK(sink.wait_for(4));
  CHECK(ok(sink.get(1)));
}

TEST_CASE(full_batch_starts_without_waiting_for_the_deadline) {
  // Two workers, one busy, max_delay 10 s: a full batch (by count, or by budget) starts at once.
  {
    FakeRunner runner;
    runner.hold_ids = {1};
    CollectingSink sink;
    Scheduler s(opts(2, 4, 10000, 10000ms), runner, sink);
    s.start();
    s.enqueue(batch_of({{1, 8}}));
    CHECK(runner.wait_entered(1));
    const auto t0 = Clock::now();
    s.enqueue(batch_of({{2, 8}, {3, 8}, {4, 8}, {5, 8}}));
    CHECK(sink.wait_for(4, 5s));
    CHECK(ms_between(t0, Clock::now()) < 5000);
    runner.release();
    CHECK(sink.wait_for(5));
  }
  {
    // 60 + 60 pads to 120 > 100: each is a full batch on its own.
    FakeRunner runner;
    runner.hold_ids = {1};
    CollectingSink sink;
    Scheduler s(opts(2, 32, 100, 10000ms), runner, sink);
    s.start();
    s.enqueue(batch_of({{1, 8}}));
    CHECK(runner.wait_entered(1));
    s.enqueue(batch_of({{2, 60}, {3, 60}}));
    CHECK(sink.wait_for(2, 5s));
    CHECK(ok(sink.get(2)));
    CHECK(ok(sink.get(3)));
    runner.release();
    CHECK(sink.wait_for(3));
  }
}

TEST_CASE(full_batches_start_on_every_free_worker) {
  // Three workers, one busy: one enqueue that makes two full batches must wake both free workers.
  FakeRunner runner;
  runner.hold_all = true;
  CollectingSink sink;
  Scheduler s(opts(3, 2, 10000, 10000ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{1, 8}}));
  CHECK(runner.wait_entered(1));
  s.enqueue(batch_of({{2, 8}, {3, 8}, {4, 8}, {5, 8}}));
  CHECK(runner.wait_entered(3));  // both batches entered the runner while everything is held
  CHECK_EQ(s.stats().in_flight, size_t(5));
  runner.release();
  CHECK(sink.wait_for(5));
}

TEST_CASE(waiting_does_not_spin) {
  // A worker waiting for its deadline (1 s) and one held worker must use almost no CPU.
  FakeRunner runner;
  runner.hold_ids = {1};
  CollectingSink sink;
  Scheduler s(opts(2, 32, 10000, 1000ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{1, 8}}));
  CHECK(runner.wait_entered(1));
  s.enqueue(batch_of({{2, 8}}));
  const double cpu0 = process_cpu_ms();
  std::this_thread::sleep_for(400ms);
  const double used = process_cpu_ms() - cpu0;
  std::printf("  CPU while waiting 400 ms: %.2f ms\n", used);
  CHECK(used < 100);
  runner.release();
  CHECK(sink.wait_for(2));
}

namespace {
// A queue of short (4..11) and long (100..127) requests behind a held batch; returns the stats.
SchedulerStats run_mixed_workload(bool sorted) {
  FakeRunner runner;
  runner.hold_ids = {0};
  CollectingSink sink;
  Scheduler s(opts(1, 8, 100000, 1000ms, sorted), runner, sink);
  s.start();
  s.enqueue(batch_of({{0, 1}}));
  CHECK(runner.wait_entered(1));
  std::mt19937 rng(3);
  std::vector<RequestPtr> v;
  for (uint64_t id = 1; id <= 256; ++id) {
    v.push_back(make_request(id, rng() % 2 ? 4 + rng() % 8 : 100 + rng() % 28));
  }
  s.enqueue(std::move(v));
  runner.release();
  CHECK(sink.wait_for(257));
  s.close(true);
  return s.stats();
}
}  // namespace

TEST_CASE(length_sorting_cuts_padding_vs_fifo) {
  const SchedulerStats fifo = run_mixed_workload(false);
  const SchedulerStats sorted = run_mixed_workload(true);
  std::printf("  real %llu tokens; padded: fifo %llu, sorted %llu\n", (unsigned long long)fifo.real_tokens,
              (unsigned long long)fifo.padded_tokens, (unsigned long long)sorted.padded_tokens);
  CHECK_EQ(fifo.real_tokens, sorted.real_tokens);
  CHECK_EQ(fifo.requests_run, sorted.requests_run);
  CHECK(sorted.padded_tokens * 10 < fifo.padded_tokens * 7);  // at least 30% less padding
}

TEST_CASE(every_batch_holds_the_oldest_waiting_request) {
  // Sorting never starves anyone: each batch contains the oldest request not yet run, also while a
  // producer keeps adding short requests and an early long one waits. Ids grow in arrival order.
  for (bool sorted : {true, false}) {
    FakeRunner runner;
    runner.hold_ids = {0};
    runner.sleep = 1ms;
    CollectingSink sink;
    Scheduler s(opts(1, 4, 100000, 1ms, sorted), runner, sink);
    s.start();
    s.enqueue(batch_of({{0, 1}}));
    CHECK(runner.wait_entered(1));
    std::vector<RequestPtr> v;
    v.push_back(make_request(1, 5));
    v.push_back(make_request(2, 200));  // the odd one out
    for (uint64_t id = 3; id < 40; ++id) v.push_back(make_request(id, 5));
    s.enqueue(std::move(v));
    runner.release();
    for (uint64_t id = 40; id < 200; ++id) {
      s.enqueue(batch_of({{id, 5}}));
      if (id % 8 == 0) std::this_thread::sleep_for(1ms);
    }
    CHECK(sink.wait_for(200));
    std::set<uint64_t> pending;
    for (uint64_t id = 0; id < 200; ++id) pending.insert(id);
    size_t batches_before_long = 0;
    bool long_seen = false;
    for (auto& b : runner.batches()) {
      const uint64_t oldest = *pending.begin();
      CHECK(std::find(b.ids.begin(), b.ids.end(), oldest) != b.ids.end());
      if (!sorted) {  // FIFO: consecutive ids
        for (size_t k = 1; k < b.ids.size(); ++k) CHECK_EQ(b.ids[k], b.ids[k - 1] + 1);
      }
      for (auto id : b.ids) pending.erase(id);
      if (std::find(b.ids.begin(), b.ids.end(), uint64_t(2)) != b.ids.end()) long_seen = true;
      if (!long_seen) ++batches_before_long;
    }
    CHECK(pending.empty());
    // Request 2 runs at the latest in the batch after the one that takes request 1.
    CHECK(batches_before_long <= 2);
  }
}

TEST_CASE(cancelled_and_expired_requests_are_dropped_before_the_runner) {
  FakeRunner runner;
  runner.hold_ids = {1};
  CollectingSink sink;
  Scheduler s(opts(1, 32, 10000, 1ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{1, 8}}));
  CHECK(runner.wait_entered(1));
  auto cancelled = make_request(2, 8);
  auto expiring = make_request(3, 8);
  expiring->deadline = Clock::now() + 50ms;
  auto expired = make_request(4, 8);
  expired->deadline = Clock::now() - 1ms;
  auto fine = make_request(5, 8);
  s.enqueue({cancelled, expiring, expired, fine});
  cancelled->cancelled = true;  // the client goes away while it is queued
  std::this_thread::sleep_for(100ms);
  runner.release();
  CHECK(sink.wait_for(5));
  CHECK(failed_with(sink.get(2), ErrorCode::kCancelled));
  CHECK(failed_with(sink.get(3), ErrorCode::kDeadlineExceeded));
  CHECK(failed_with(sink.get(4), ErrorCode::kDeadlineExceeded));
  CHECK(!sink.get(2)->error_message.empty());
  CHECK(!sink.get(3)->error_message.empty());
  CHECK(ok(sink.get(5)));
  CHECK(runner.ran_ids() == std::set<uint64_t>({1, 5}));
  const auto st = s.stats();
  CHECK_EQ(st.dropped_cancelled, uint64_t(1));
  CHECK_EQ(st.dropped_expired, uint64_t(2));
  CHECK_EQ(st.requests_run, uint64_t(2));
  // The three drops were found together and completed in one call.
  bool together = false;
  for (auto& call : sink.calls()) together = together || call == std::vector<uint64_t>({2, 3, 4});
  CHECK(together);
}

TEST_CASE(runner_exception_fails_only_its_batch) {
  FakeRunner runner;
  runner.hold_ids = {1};
  runner.throw_ids = {3};
  runner.engine_error_ids = {6};
  runner.answer_before_throw = true;
  CollectingSink sink;
  Scheduler s(opts(1, 32, 10000, 1ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{1, 8}}));
  CHECK(runner.wait_entered(1));
  s.enqueue(batch_of({{2, 8}, {3, 8}, {4, 8}}));  // one batch; 2 and 4 answered, then it throws
  runner.release();
  CHECK(sink.wait_for(4));
  CHECK(ok(sink.get(1)));
  CHECK(ok(sink.get(2)));  // finished before the throw: kept
  CHECK(ok(sink.get(4)));
  auto r3 = sink.get(3);
  CHECK(failed_with(r3, ErrorCode::kInferenceFailed));
  if (r3) {
    CHECK_EQ(r3->error_message, std::string("inference failed"));  // no internals
    CHECK(r3->json.empty());
  }
  // The scheduler keeps working; an EngineError's message (written for users) is kept.
  s.enqueue(batch_of({{5, 8}}));
  CHECK(sink.wait_for(5));
  CHECK(ok(sink.get(5)));
  s.enqueue(batch_of({{6, 8}}));
  CHECK(sink.wait_for(6));
  CHECK(failed_with(sink.get(6), ErrorCode::kInferenceFailed));
  CHECK_EQ(sink.get(6)->error_message, std::string("the model returned a wrong shape"));
  s.enqueue(batch_of({{7, 8}}));
  CHECK(sink.wait_for(7));
  CHECK(ok(sink.get(7)));
  for (uint64_t id = 1; id <= 7; ++id) {
    auto r = sink.get(id);
    CHECK(r && r->error_message.find("secret") == std::string::npos);
  }
}

TEST_CASE(worker_setup_failure_is_not_fatal) {
  FakeRunner runner;
  runner.throw_on_worker_start = true;
  CollectingSink sink;
  Scheduler s(opts(2, 32, 10000, 1ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{1, 8}, {2, 8}}));
  CHECK(sink.wait_for(2));
  CHECK(ok(sink.get(1)));
}

TEST_CASE(close_with_drain_runs_everything_queued) {
  FakeRunner runner;
  runner.hold_ids = {0};
  CollectingSink sink;
  Scheduler s(opts(1, 4, 10000, 1000ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{0, 8}}));
  CHECK(runner.wait_entered(1));
  std::vector<RequestPtr> v;
  for (uint64_t id = 1; id <= 10; ++id) v.push_back(make_request(id, 8));
  s.enqueue(std::move(v));
  std::atomic<bool> closed{false};
  std::thread closer([&] {
    s.close(true);
    closed = true;
  });
  std::this_thread::sleep_for(100ms);
  CHECK(!closed);  // the held batch is still running
  CHECK_EQ(sink.total(), size_t(0));
  runner.release();
  closer.join();
  CHECK_EQ(sink.total(), size_t(11));  // all completed by the time close() returned
  for (uint64_t id = 0; id <= 10; ++id) CHECK(ok(sink.get(id)));
  CHECK_EQ(s.stats().requests_run, uint64_t(11));
}

TEST_CASE(close_without_drain_fails_queued_and_finishes_running) {
  FakeRunner runner;
  runner.hold_ids = {0};
  CollectingSink sink;
  Scheduler s(opts(1, 4, 10000, 1000ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{0, 8}}));
  CHECK(runner.wait_entered(1));
  std::vector<RequestPtr> v;
  for (uint64_t id = 1; id <= 10; ++id) v.push_back(make_request(id, 8));
  s.enqueue(std::move(v));
  std::atomic<bool> closed{false};
  std::thread closer([&] {
    s.close(false);
    closed = true;
  });
  CHECK(sink.wait_for(10));  // the queued ten fail at once, while the held batch still runs
  std::this_thread::sleep_for(50ms);
  CHECK(!closed);
  for (uint64_t id = 1; id <= 10; ++id) CHECK(failed_with(sink.get(id), ErrorCode::kClosed));
  CHECK(!sink.get(0));
  runner.release();
  closer.join();
  CHECK(ok(sink.get(0)));
  CHECK_EQ(sink.total(), size_t(11));
  CHECK(runner.ran_ids() == std::set<uint64_t>({0}));
  const auto st = s.stats();
  CHECK_EQ(st.in_flight, size_t(0));
  CHECK_EQ(st.queue_depth, size_t(0));
}

TEST_CASE(enqueue_after_close_fails_and_close_is_idempotent) {
  FakeRunner runner;
  CollectingSink sink;
  Scheduler s(opts(2, 4, 10000, 1ms), runner, sink);
  s.start();
  s.close(true);
  s.close(false);
  s.close(true);
  s.enqueue(batch_of({{1, 8}, {2, 8}, {3, 100000}}));
  CHECK_EQ(sink.total(), size_t(3));  // synchronously, through the sink
  CHECK(failed_with(sink.get(1), ErrorCode::kClosed));
  CHECK(failed_with(sink.get(2), ErrorCode::kClosed));
  CHECK(failed_with(sink.get(3), ErrorCode::kInputTooLong));
  CHECK(runner.ran_ids().empty());
  s.start();  // no effect after close
  s.enqueue(batch_of({{4, 8}}));
  CHECK(failed_with(sink.get(4), ErrorCode::kClosed));
}

TEST_CASE(close_before_start_fails_queued_even_when_draining) {
  FakeRunner runner;
  CollectingSink sink;
  Scheduler s(opts(1, 4, 10000, 1ms), runner, sink);
  s.enqueue(batch_of({{1, 8}, {2, 8}}));
  s.close(true);
  CHECK_EQ(sink.total(), size_t(2));
  CHECK(failed_with(sink.get(1), ErrorCode::kClosed));
}

TEST_CASE(destructor_closes_and_completes_everything) {
  FakeRunner runner;
  runner.sleep = 10ms;
  CollectingSink sink;
  {
    Scheduler s(opts(2, 2, 10000, 1ms), runner, sink);
    s.start();
    for (uint64_t id = 0; id < 30; ++id) s.enqueue(batch_of({{id, 8}}));
  }
  CHECK_EQ(sink.total(), size_t(30));
  for (auto& [id, n] : sink.counts()) CHECK_EQ(n, 1);
  for (uint64_t id = 0; id < 30; ++id) {
    auto r = sink.get(id);
    CHECK(ok(r) || failed_with(r, ErrorCode::kClosed));
  }
}

TEST_CASE(invalid_options_throw) {
  FakeRunner runner;
  CollectingSink sink;
  for (int k = 0; k < 3; ++k) {
    SchedulerOptions o = opts(1, 4, 100, 1ms);
    if (k == 0) o.workers = 0;
    if (k == 1) o.max_batch_requests = 0;
    if (k == 2) o.max_batch_tokens = 0;
    bool threw = false;
    try {
      Scheduler s(o, runner, sink);
    } catch (const EngineError& e) {
      threw = e.code() == ErrorCode::kInvalidArgument;
    }
    CHECK(threw);
  }
}

TEST_CASE(timings_are_set) {
  FakeRunner runner;
  runner.sleep = 20ms;
  runner.hold_ids = {1};
  CollectingSink sink;
  Scheduler s(opts(1, 4, 10000, 1ms), runner, sink);
  s.start();
  s.enqueue(batch_of({{1, 8}}));
  CHECK(runner.wait_entered(1));
  s.enqueue(batch_of({{2, 8}}));
  std::this_thread::sleep_for(30ms);
  runner.release();
  CHECK(sink.wait_for(2));
  auto r1 = sink.get(1), r2 = sink.get(2);
  CHECK(r1->timings.inference_us >= 19'000);
  CHECK(r2->timings.inference_us >= 19'000);
  CHECK(r2->timings.queue_us >= 45'000);  // waited behind the held batch (30 ms + 20 ms)
  CHECK(r1->timings.queue_us >= 0);
}

TEST_CASE(many_producers_every_request_completes_exactly_once) {
  constexpr size_t kProducers = 4, kPerProducer = 2500, kTotal = kProducers * kPerProducer;
  FakeRunner runner;
  CollectingSink sink;
  Scheduler s(opts(2, 16, 512, 1ms), runner, sink);
  s.start();
  std::vector<size_t> lengths(kTotal);
  std::vector<std::thread> producers;
  for (size_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::mt19937 rng(uint32_t(100 + p));
      size_t i = 0;
      while (i < kPerProducer) {
        std::vector<RequestPtr> group;
        const size_t n = std::min<size_t>(1 + rng() % 8, kPerProducer - i);
        for (size_t k = 0; k < n; ++k, ++i) {
          const uint64_t id = p * kPerProducer + i;
          const size_t len = rng() % 100 == 0 ? 600 : 1 + rng() % 64;  // 1% over the budget
          lengths[id] = len;
          auto r = make_request(id, len);
          if (rng() % 50 == 0) r->cancelled = true;
          if (rng() % 50 == 0) r->deadline = Clock::now() - 1ms;
          group.push_back(std::move(r));
        }
        s.enqueue(std::move(group));
        if (rng() % 16 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  for (auto& t : producers) t.join();
  CHECK(sink.wait_for(kTotal, 60s));
  s.close(true);

  const auto counts = sink.counts();
  CHECK_EQ(counts.size(), kTotal);
  size_t ok_count = 0, cancelled = 0, expired = 0, refused = 0, other = 0;
  for (uint64_t id = 0; id < kTotal; ++id) {
    auto it = counts.find(id);
    CHECK(it != counts.end() && it->second == 1);
    auto r = sink.get(id);
    if (ok(r))
      ok_count++;
    else if (failed_with(r, ErrorCode::kCancelled))
      cancelled++;
    else if (failed_with(r, ErrorCode::kDeadlineExceeded))
      expired++;
    else if (failed_with(r, ErrorCode::kInputTooLong))
      refused++;
    else
      other++;
  }
  CHECK_EQ(other, size_t(0));
  const auto st = s.stats();
  const auto batches = runner.batches();
  CHECK_EQ(st.requests_run, uint64_t(ok_count));
  CHECK_EQ(st.dropped_cancelled, uint64_t(cancelled));
  CHECK_EQ(st.dropped_expired, uint64_t(expired));
  CHECK_EQ(st.refused_too_long, uint64_t(refused));
  CHECK_EQ(st.requests_run + st.dropped_cancelled + st.dropped_expired + st.refused_too_long, uint64_t(kTotal));
  CHECK_EQ(st.batches_run, uint64_t(batches.size()));
  CHECK_EQ(st.in_flight, size_t(0));
  CHECK_EQ(st.queue_depth, size_t(0));
  uint64_t real = 0, padded = 0, in_batches = 0;
  std::set<std::vector<uint64_t>> batch_sets;
  for (auto& b : batches) {
    CHECK(b.ids.size() <= 16);
    CHECK(b.longest() * b.ids.size() <= 512);
    for (size_t k = 0; k < b.ids.size(); ++k) {
      CHECK_EQ(b.lengths[k], lengths[b.ids[k]]);
      real += b.lengths[k];
    }
    padded += b.longest() * b.ids.size();
    in_batches += b.ids.size();
    batch_sets.insert(b.ids);
  }
  CHECK_EQ(in_batches, st.requests_run);
  CHECK_EQ(real, st.real_tokens);
  CHECK_EQ(padded, st.padded_tokens);
  CHECK(st.padded_tokens >= st.real_tokens);
  // Each batch was completed through the sink in exactly one call holding exactly its requests.
  size_t answer_calls = 0;
  for (auto& call : sink.calls()) {
    if (call.empty() || !ok(sink.get(call[0]))) continue;
    answer_calls++;
    CHECK(batch_sets.count(call));
  }
  CHECK_EQ(answer_calls, batches.size());
  std::printf("  %zu ok, %zu cancelled, %zu expired, %zu refused; %zu batches, mean %.2f\n", ok_count, cancelled, expired, refused,
              batches.size(), st.mean_batch_size());
}

TEST_MAIN()
