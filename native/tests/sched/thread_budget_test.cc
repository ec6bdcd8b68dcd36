// ThreadBudget: leases within the budget, a lease waits for threads and for its turn (first asked,
// first granted), and many threads never hold more than the budget at once. Waits are observed
// through stats() (polled with a bound), never timed.
#include "engine/sched/thread_budget.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "check.h"
#include "engine/errors.h"

using namespace bert;
using namespace std::chrono_literals;

namespace {

// Polls `cond` until it holds or 20 s pass; returns whether it held.
template <class F>
bool eventually(F cond) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST_CASE(grants_within_the_budget_and_clamps) {
  ThreadBudget b(3);
  CHECK_EQ(b.acquire(2), 2);
  CHECK_EQ(b.acquire(1), 1);
  CHECK_EQ(b.stats().in_use, 3);
  b.release(3);
  CHECK_EQ(b.acquire(8), 3);  // more than the budget: the whole budget
  b.release(3);
  CHECK_EQ(b.acquire(0), 1);  // at least one
  b.release(1);
  const ThreadBudget::Stats s = b.stats();
  CHECK_EQ(s.in_use, 0);
  CHECK_EQ(s.peak_in_use, 3);
  CHECK_EQ(s.leases, uint64_t(4));
  CHECK_EQ(s.waited, uint64_t(0));
}

TEST_CASE(refuses_an_empty_budget) {
  bool threw = false;
  try {
    ThreadBudget b(0);
  } catch (const EngineError& e) {
    threw = e.code() == ErrorCode::kInvalidArgument;
  }
  CHECK(threw);
}

TEST_CASE(a_lease_waits_for_threads) {
  ThreadBudget b(2);
  CHECK_EQ(b.acquire(1), 1);
  std::atomic<bool> got{false};
  std::thread t([&] {
    const int n = b.acquire(2);
    got = true;
    b.release(n);
  });
  CHECK(eventually([&] { return b.stats().waited == 1; }));
  CHECK(!got.load());  // it is waiting: 1 of 2 threads is leased
  b.release(1);
  CHECK(eventually([&] { return got.load(); }));
  t.join();
  CHECK_EQ(b.stats().in_use, 0);
}

TEST_CASE(first_asked_first_granted) {
  ThreadBudget b(2);
  CHECK_EQ(b.acquire(2), 2);
  std::vector<int> order;
  std::mutex mu;
  std::thread big([&] {
    const int n = b.acquire(2);
    {
      std::lock_guard<std::mutex> l(mu);
      order.push_back(2);
    }
    b.release(n);
  });
  CHECK(eventually([&] { return b.stats().waited == 1; }));
  std::thread small([&] {
    const int n = b.acquire(1);
    {
      std::lock_guard<std::mutex> l(mu);
      order.push_back(1);
    }
    b.release(n);
  });
  CHECK(eventually([&] { return b.stats().waited == 2; }));
  b.release(1);  // one thread free: the small lease would fit, but the big one asked first
  std::this_thread::yield();
  {
    std::lock_guard<std::mutex> l(mu);
    CHECK(order.empty());
  }
  b.release(1);
  big.join();
  small.join();
  CHECK_EQ(order.size(), size_t(2));
  CHECK_EQ(order[0], 2);
  CHECK_EQ(order[1], 1);
}

TEST_CASE(many_threads_never_exceed_the_budget) {
  ThreadBudget b(3);
  std::atomic<int> held{0}, most{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937 rng(i);
      for (int k = 0; k < 300; ++k) {
        const ThreadLease lease(&b, 1 + static_cast<int>(rng() % 3));
        const int now = held += lease.granted();
        int m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        held -= lease.granted();
      }
    });
  }
  for (auto& t : threads) t.join();
  const ThreadBudget::Stats s = b.stats();
  CHECK(most.load() <= 3);
  CHECK(s.peak_in_use <= 3);
  CHECK_EQ(s.leases, uint64_t(8 * 300));
  CHECK_EQ(s.in_use, 0);
}

TEST_MAIN()
