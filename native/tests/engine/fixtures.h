// What the engine tests share: the fixtures they need (models/test, made by
// scripts/make_test_models.py before ctest runs: a missing one fails, it does not pass), a sink
// that records completions in order, and a fill-mask request with the options the TypeScript side
// writes. Include after the engine headers and check.h.
#pragma once
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <vector>

namespace bert_test {

inline bool have_files(std::initializer_list<const char*> paths) {
  struct stat st;
  for (const char* p : paths)
    if (::stat(p, &st) != 0) return false;
  return true;
}

// Completions in order: each request once per completion.
class CollectSink : public bert::CompletionSink {
 public:
  void complete(std::vector<bert::RequestPtr> done) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : done) {
      seen_.push_back(r->id);
      results_.push_back(r);
    }
    cv_.notify_all();
  }
  bool wait_for(size_t n, int seconds = 60) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(seconds), [&] { return seen_.size() >= n; });
  }
  std::vector<bert::RequestPtr> results() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }
  std::vector<uint64_t> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<uint64_t> seen_;
  std::vector<bert::RequestPtr> results_;
};

// A fill-mask request with the canonical options src/tasks/fill_mask.ts writes for one input.
inline bert::RequestPtr fill_mask(uint64_t id, std::string text) {
  auto r = std::make_shared<bert::Request>();
  r->id = id;
  r->text = std::move(text);
  r->params_json = R"({"top_k":5,"targets":null,"max_masks":64,"max_predictions":2000})";
  return r;
}

}  // namespace bert_test

// A missing fixture is a failure, not a pass.
#define REQUIRE_FILES(...)                                                                             \
  do {                                                                                                 \
    if (!bert_test::have_files({__VA_ARGS__})) {                                                       \
      std::fprintf(stderr, "  models/test is missing: run scripts/make_test_models.py models/test\n"); \
      bert_test::failures()++;                                                                         \
      return;                                                                                          \
    }                                                                                                  \
  } while (0)
