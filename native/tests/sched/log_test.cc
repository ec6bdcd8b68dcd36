// The engine's log sink (engine/log.h): records reach the sink of the calling thread with their
// level, message and fields as JSON; a scope restores the previous sink; the scheduler's workers
// report through the sink of the thread that started them (a failing batch is logged there, not on
// stderr).
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "engine/log.h"
#include "engine/sched/scheduler.h"

using namespace bert;

namespace {

struct Record {
  LogLevel level;
  std::string message, fields;
};

class CaptureSink : public LogSink {
 public:
  void write(LogLevel level, const std::string& message, const std::string& fields) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    records_.push_back({level, message, fields});
    cv_.notify_all();
  }
  std::vector<Record> wait_for(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(20), [&] { return records_.size() >= n; });
    return records_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Record> records_;
};

class ThrowingRunner : public BatchRunner {
 public:
  void run(size_t, std::vector<RequestPtr>&) override { throw std::runtime_error("a \"quoted\" detail\nwith a newline"); }
};

class NullSink : public CompletionSink {
 public:
  void complete(std::vector<RequestPtr> done) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    n_ += done.size();
    cv_.notify_all();
  }
  void wait_for(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(20), [&] { return n_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t n_ = 0;
};

}  // namespace

TEST_CASE(records_reach_the_threads_sink_with_json_fields) {
  auto sink = std::make_shared<CaptureSink>();
  {
    LogScope scope(sink);
    log_event(LogLevel::kWarn, "something \"odd\"", {{"model", "/m/dir"}, {"requests", size_t(3)}, {"ratio", 0.5}});
  }
  log_event(LogLevel::kDebug, "after the scope: the fallback (stderr), not the sink");
  const auto r = sink->wait_for(1);
  CHECK_EQ(r.size(), size_t(1));
  CHECK(r[0].level == LogLevel::kWarn);
  CHECK_EQ(r[0].message, std::string("something \"odd\""));
  CHECK_EQ(r[0].fields, std::string("\"model\":\"/m/dir\",\"requests\":3,\"ratio\":0.5"));
  CHECK(thread_log_sink() == nullptr);
}

TEST_CASE(without_a_sink_a_json_line_on_stderr_in_the_js_loggers_format) {
  // fd 2 to a file for the call, then back.
  char path[] = "/tmp/bert_log_test_XXXXXX";
  const int fd = mkstemp(path);
  CHECK(fd >= 0);
  std::fflush(stderr);
  const int saved = dup(2);
  dup2(fd, 2);
  log_event(LogLevel::kWarn, "no sink", {{"model", "m"}, {"n", 2}});
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  const std::string line = text.str();
  CHECK_EQ(line.rfind("{\"time\":\"", 0), size_t(0));
  CHECK(line.find("Z\",\"level\":\"warn\",\"msg\":\"no sink\",\"model\":\"m\",\"n\":2,\"source\":\"engine\"}\n") != std::string::npos);
  CHECK_EQ(line.back(), '\n');
}

TEST_CASE(scheduler_workers_report_through_the_starting_threads_sink) {
  auto sink = std::make_shared<CaptureSink>();
  ThrowingRunner runner;
  NullSink done;
  SchedulerOptions o;
  o.workers = 2;
  o.max_batch_requests = 4;
  o.max_batch_tokens = 64;
  Scheduler s(o, runner, done);
  {
    LogScope scope(sink);
    s.start();
  }
  auto r = std::make_shared<Request>();
  r->id = 7;
  r->encoding.ids.assign(3, 1);
  s.enqueue({r});
  done.wait_for(1);
  s.close(true);
  const auto records = sink->wait_for(1);
  CHECK(!records.empty());
  CHECK(records[0].level == LogLevel::kError);
  CHECK_EQ(records[0].message, std::string("a batch failed"));
  CHECK(records[0].fields.find("\"error\":\"a \\\"quoted\\\" detail\\nwith a newline\"") != std::string::npos);
  CHECK(r->error.has_value());  // the request itself is failed, once
}

TEST_MAIN()
