// The whole C++ engine on real TorchScript fixtures (models/test, made by scripts/make_test_models.py):
// loading and its refusals, fill-mask through prep thread + scheduler + runner, exactly-once completion,
// and close() semantics. No Node involved.
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>

#include <torch/cuda.h>

#include "engine/engine.h"
// After the engine headers: see check.h on glog's CHECK macros.
#include "check.h"
#include "fixtures.h"

using namespace bert;

namespace {

std::string model(const std::string& name) { return "models/test/" + name; }

using bert_test::CollectSink;
using bert_test::fill_mask;

// The server's defaults (src/config.ts), but one intra-op thread and no warm-up.
EngineOptions options(const std::string& name) {
  EngineOptions o;
  o.model_dir = model(name);
  o.device = "cpu";
  o.dtype = "float32";
  o.workers = 1;
  o.intra_op_threads = 1;
  o.warmup = false;
  o.scheduler.workers = 1;
  o.scheduler.max_batch_requests = 32;
  o.scheduler.max_batch_tokens = 16384;
  o.scheduler.max_delay = std::chrono::microseconds(1000);
  o.scheduler.sort_by_length = true;
  return o;
}

ErrorCode load_error(const std::string& name) {
  CollectSink sink;
  try {
    auto e = Engine::load(options(name), sink);
  } catch (const EngineError& e) {
    return e.code();
  }
  return ErrorCode::kInternal;
}

}  // namespace

TEST_CASE(refuses_bad_models_with_codes) {
  REQUIRE_FILES("models/test/tiny/model.pt");
  CHECK_EQ(load_error("does-not-exist"), ErrorCode::kModelNotFound);
  CHECK_EQ(load_error("missing-model"), ErrorCode::kModelNotFound);
  CHECK_EQ(load_error("not-torchscript"), ErrorCode::kModelInvalid);
  CHECK_EQ(load_error("wrong-signature"), ErrorCode::kModelInvalid);
  CHECK_EQ(load_error("wrong-output"), ErrorCode::kModelInvalid);
  CHECK_EQ(load_error("vocab-mismatch"), ErrorCode::kVocabMismatch);
  CHECK_EQ(load_error("bad-config"), ErrorCode::kConfigInvalid);
  auto cuda = options("tiny");
  cuda.device = "cuda";
  CollectSink sink;
  bool refused = false;
  try {
    Engine::load(cuda, sink);
  } catch (const EngineError& e) {
    refused = e.code() == ErrorCode::kDeviceUnavailable;
  }
  CHECK(refused || torch::cuda::is_available());
}

TEST_CASE(answers_fill_mask_and_errors_exactly_once) {
  REQUIRE_FILES("models/test/tiny/model.pt");
  CollectSink sink;
  auto engine = Engine::load(options("tiny"), sink);
  std::vector<RequestPtr> batch;
  const int n = 200;
  for (int i = 0; i < n; ++i) batch.push_back(fill_mask(i, i % 10 == 0 ? "no mask" : "word " + std::to_string(i) + " is [MASK]."));
  engine->submit(batch);
  CHECK(sink.wait_for(n));
  auto results = sink.results();
  std::set<uint64_t> ids;
  int ok = 0, no_mask = 0;
  for (auto& r : results) {
    ids.insert(r->id);
    if (!r->error) {
      ok++;
      CHECK(r->json.rfind("[{\"score\":", 0) == 0);
    } else if (*r->error == ErrorCode::kNoMaskToken) {
      no_mask++;
    }
  }
  CHECK_EQ(ids.size(), size_t(n));
  CHECK_EQ(results.size(), size_t(n));
  CHECK_EQ(ok, 180);
  CHECK_EQ(no_mask, 20);
  auto s = engine->stats();
  CHECK_EQ(s.scheduler.requests_run, uint64_t(180));
  engine->close(true);
}

TEST_CASE(close_without_drain_fails_queued_and_rejects_later) {
  REQUIRE_FILES("models/test/tiny/model.pt");
  CollectSink sink;
  auto engine = Engine::load(options("slow"), sink);
  std::vector<RequestPtr> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(fill_mask(i, "x [MASK]"));
  engine->submit(batch);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  engine->close(false);
  CHECK_EQ(sink.seen().size(), size_t(50));  // everything answered by the time close returns
  int closed = 0;
  for (auto& r : sink.results()) closed += r->error && *r->error == ErrorCode::kClosed;
  CHECK(closed > 0);
  engine->submit({fill_mask(99, "y [MASK]")});
  CHECK(sink.wait_for(51, 5));
  CHECK(sink.results().back()->error && *sink.results().back()->error == ErrorCode::kClosed);
}

TEST_CASE(failing_batch_fails_only_its_requests) {
  REQUIRE_FILES("models/test/tiny/model.pt");
  CollectSink sink;
  auto engine = Engine::load(options("failing"), sink);
  engine->submit({fill_mask(1, "please explode [MASK]")});
  CHECK(sink.wait_for(1));
  engine->submit({fill_mask(2, "stay calm [MASK]")});
  CHECK(sink.wait_for(2));
  auto r = sink.results();
  CHECK(r[0]->error && *r[0]->error == ErrorCode::kInferenceFailed);
  CHECK(r[0]->error_message.find("explode") == std::string::npos);  // no internals leak
  CHECK(!r[1]->error);
  engine->close(true);
}

TEST_CASE(poison_request_is_isolated_in_its_batch) {
  REQUIRE_FILES("models/test/tiny/model.pt");
  CollectSink sink;
  auto opts = options("failing");
  opts.scheduler.max_delay = std::chrono::milliseconds(50);  // let all nine share a batch
  auto engine = Engine::load(opts, sink);
  std::vector<RequestPtr> batch;
  for (int i = 0; i < 8; ++i) batch.push_back(fill_mask(i, "calm words number " + std::to_string(i) + " [MASK]."));
  batch.push_back(fill_mask(8, "please explode [MASK]"));
  engine->submit(std::move(batch));
  CHECK(sink.wait_for(9));
  for (auto& r : sink.results()) {
    if (r->id == 8)
      CHECK(r->error && *r->error == ErrorCode::kInferenceFailed);
    else
      CHECK(!r->error && !r->json.empty());
  }
  engine->close(true);
}

TEST_MAIN()
