// The lease split on real engines and TorchScript fixtures (models/test): answers keep their bits
// whatever the team size (one thread, two, or changed between operators of a running batch), and a
// second model's batch starts while the first model's batch still runs, on the thread it gave up,
// with nothing lost or answered twice. No timing: the running batch is the hanging fixture's (it
// spins for seconds), watched through the budget's stats; the order of completions is the check.
#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "engine/engine.h"
// After the engine headers: see check.h on glog's CHECK macros.
#include "check.h"
#include "fixtures.h"

using namespace bert;
using namespace std::chrono_literals;

namespace {

using bert_test::CollectSink;
using bert_test::fill_mask;

// Every token's hidden state as base64 float32: the answer's exact bits.
RequestPtr embed_tokens(uint64_t id, std::string text) {
  auto r = std::make_shared<Request>();
  r->id = id;
  r->text = std::move(text);
  r->params_json = R"({"normalize":false,"all_tokens":true,"dimensions":null,"encoding_format":"base64"})";
  return r;
}

// Two intra-op threads for every batch (no warm-up, so no single-thread bound): a batch wants the
// whole budget of 2.
EngineOptions options(const std::string& name, int threads, std::shared_ptr<ThreadBudget> budget = nullptr) {
  EngineOptions o;
  o.model_dir = "models/test/" + name;
  o.device = "cpu";
  o.dtype = "float32";
  o.workers = 1;
  o.intra_op_threads = threads;
  o.warmup = false;
  o.thread_budget = std::move(budget);
  o.scheduler.workers = 1;
  o.scheduler.max_batch_requests = 64;
  o.scheduler.max_batch_tokens = 16384;
  o.scheduler.max_delay = std::chrono::milliseconds(50);  // the requests submitted together share a batch
  o.scheduler.sort_by_length = false;
  return o;
}

// Runs `requests` (fresh copies made by `make`) on a new engine and returns each answer by id.
template <class Make>
std::map<uint64_t, std::string> answers(const EngineOptions& o, size_t n, Make make) {
  CollectSink sink;
  auto engine = Engine::load(o, sink);
  std::vector<RequestPtr> batch;
  for (size_t i = 0; i < n; ++i) batch.push_back(make(i));
  engine->submit(batch);
  CHECK(sink.wait_for(n, 240));
  engine->close(true);
  std::map<uint64_t, std::string> out;
  for (auto& r : sink.results()) {
    if (r->error) std::fprintf(stderr, "  request %llu: %s\n", static_cast<unsigned long long>(r->id), r->error_message.c_str());
    CHECK(!r->error);
    out[r->id] = r->json;
  }
  return out;
}

bool eventually(const std::function<bool()>& cond) {
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

// What makes a split safe for the answers: every operator of the forward gives the same bits on a
// team of one thread and of two (so any change between operators does too). 64 texts of 3-40 words:
// over 288 rows, so the packed GEMM splits rows, and attention, layer norm and GELU run parallel.
TEST_CASE(every_token_keeps_its_bits_on_one_thread_and_on_two) {
  REQUIRE_FILES("models/test/hanging/model.pt", "models/test/embed/model.pt", "models/test/tiny/model.pt");
  const auto make = [](size_t i) {
    std::string text;
    for (size_t w = 0; w < 3 + (i * 7) % 38; ++w) text += (w ? " word" : "word") + std::to_string((i + w) % 13);
    return embed_tokens(i, text);
  };
  const auto one = answers(options("embed", 1), 64, make);
  const auto two = answers(options("embed", 2), 64, make);
  CHECK_EQ(one.size(), size_t(64));
  CHECK(one == two);
}

// h (the hanging fixture: a batch holding "freeze" spins for seconds, one operator after another)
// holds both threads of the budget; b's batch then asks for them. With the split, h gives one up at
// its next operator and b's batch runs on it while h's still spins: b is answered first, its thread
// wait is a small part of h's batch, and both answers are the bits each model gives alone.
TEST_CASE(a_split_lease_runs_the_other_models_batch_during_the_running_one) {
  REQUIRE_FILES("models/test/hanging/model.pt", "models/test/embed/model.pt", "models/test/tiny/model.pt");
  const std::string hung_text = "freeze the [MASK] now", b_text = "paris is the [MASK] of france.";
  const auto h_alone = answers(options("hanging", 2), 1, [&](size_t) { return fill_mask(0, hung_text); });
  const auto b_alone = answers(options("tiny", 2), 3, [&](size_t i) { return fill_mask(i, b_text + std::string(i, '!')); });

  auto budget = std::make_shared<ThreadBudget>(2, true);
  CollectSink sink;  // both engines complete here, in order
  auto h = Engine::load(options("hanging", 2, budget), sink);
  auto b = Engine::load(options("tiny", 2, budget), sink);
  h->submit({fill_mask(100, hung_text)});
  CHECK(eventually([&] { return budget->stats().in_use == 2; }));  // h's batch holds both threads
  std::vector<RequestPtr> bs;
  for (uint64_t i = 0; i < 3; ++i) bs.push_back(fill_mask(i, b_text + std::string(i, '!')));
  b->submit(bs);
  CHECK(sink.wait_for(4, 240));
  const auto done = sink.results();
  CHECK_EQ(done.size(), size_t(4));
  CHECK_EQ(done.back()->id, uint64_t(100));  // b's three, then h's: b ran during h's batch
  std::map<uint64_t, int> times;
  double b_wait = 0;
  for (auto& r : done) {
    ++times[r->id];
    CHECK(!r->error);
    if (r->id == 100) {
      CHECK(r->json == h_alone.at(0));
    } else {
      CHECK(r->json == b_alone.at(r->id));
      b_wait = std::max(b_wait, r->timings.thread_wait_us);
    }
  }
  CHECK_EQ(times.size(), size_t(4));
  for (auto& [id, n] : times) CHECK_EQ(n, 1);
  // b waited for one of h's operators, not for h's batch (which ran for seconds).
  const double h_batch = done.back()->timings.inference_us;
  CHECK(b_wait * 4 < h_batch);
  const ThreadBudget::Stats s = budget->stats();
  CHECK(s.given_up >= 1);
  CHECK(s.peak_in_use <= 2);
  h->close(true);
  b->close(true);
  CHECK_EQ(budget->stats().in_use, 0);
}

TEST_MAIN()
