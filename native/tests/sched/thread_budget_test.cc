// ThreadBudget: leases within the budget; a lease waits for threads and for its turn in the fair
// order (start-time fair queueing by tokens of work: a flow that consumed more waits behind one that
// consumed fewer, nothing starves); others_active() for the batch cap; many threads never hold more
// than the budget at once; the lease split (a running share gives a thread up at its safe point to the
// head of the order, and takes it back when nothing waits). Waits are observed through stats() (polled with a bound), never timed:
// leases are held and released by the test.
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

// Grants recorded in order, by name.
struct Order {
  std::mutex mu;
  std::vector<char> names;
  void add(char c) {
    std::lock_guard<std::mutex> l(mu);
    names.push_back(c);
  }
  std::vector<char> get() {
    std::lock_guard<std::mutex> l(mu);
    return names;
  }
};

// A thread that leases `want` threads for `flow` at `cost` tokens, records `name` and gives them back.
std::thread lease_once(ThreadBudget& b, int flow, int want, uint64_t cost, char name, Order& order) {
  return std::thread([&b, flow, want, cost, name, &order] {
    const int n = b.acquire(flow, want, cost);
    order.add(name);
    b.release(flow, n);
  });
}

}  // namespace

TEST_CASE(grants_within_the_budget_and_clamps) {
  ThreadBudget b(3);
  const int f = b.join();
  CHECK_EQ(b.acquire(f, 2, 10), 2);
  CHECK_EQ(b.acquire(f, 1, 10), 1);
  CHECK_EQ(b.stats().in_use, 3);
  b.release(f, 3);
  CHECK_EQ(b.acquire(f, 8, 10), 3);  // more than the budget: the whole budget
  b.release(f, 3);
  CHECK_EQ(b.acquire(f, 0, 10), 1);  // at least one
  b.release(f, 1);
  const ThreadBudget::Stats s = b.stats();
  CHECK_EQ(s.in_use, 0);
  CHECK_EQ(s.peak_in_use, 3);
  CHECK_EQ(s.leases, uint64_t(4));
  CHECK_EQ(s.waited, uint64_t(0));
  CHECK_EQ(s.flows, 1);
  b.leave(f);
  CHECK_EQ(b.stats().flows, 0);
}

TEST_CASE(refuses_an_empty_budget_and_an_unknown_flow) {
  bool threw = false;
  try {
    ThreadBudget b(0);
  } catch (const EngineError& e) {
    threw = e.code() == ErrorCode::kInvalidArgument;
  }
  CHECK(threw);
  ThreadBudget b(1);
  threw = false;
  try {
    b.acquire(7, 1, 1);
  } catch (const EngineError& e) {
    threw = e.code() == ErrorCode::kInvalidArgument;
  }
  CHECK(threw);
  CHECK_EQ(b.stats().waiting, 0);
}

TEST_CASE(a_lease_waits_for_threads) {
  ThreadBudget b(2);
  const int f = b.join(), g = b.join();
  CHECK_EQ(b.acquire(f, 1, 10), 1);
  Order order;
  std::thread t = lease_once(b, g, 2, 10, 'g', order);
  CHECK(eventually([&] { return b.stats().waiting == 1; }));
  CHECK(order.get().empty());  // it is waiting: 1 of 2 threads is leased
  b.release(f, 1);
  t.join();
  CHECK_EQ(order.get().size(), size_t(1));
  CHECK_EQ(b.stats().in_use, 0);
}

TEST_CASE(the_flow_that_consumed_more_waits_behind_the_one_that_consumed_fewer) {
  ThreadBudget b(2);
  const int heavy = b.join(), light = b.join();
  // heavy runs a batch of 1,000 tokens of work and holds every thread; meanwhile it asks for its next
  // lease (another worker) and, after it, light asks for one.
  CHECK_EQ(b.acquire(heavy, 2, 1000), 2);
  Order order;
  std::thread h = lease_once(b, heavy, 2, 1000, 'h', order);
  CHECK(eventually([&] { return b.stats().waiting == 1; }));
  std::thread l = lease_once(b, light, 2, 10, 'l', order);
  CHECK(eventually([&] { return b.stats().waiting == 2; }));
  b.release(heavy, 2);
  h.join();
  l.join();
  // First come first served would grant h first; by tokens of work light goes first: heavy's next
  // lease starts at 1,000 (its finish tag), light's at 0.
  const std::vector<char> got = order.get();
  CHECK_EQ(got.size(), size_t(2));
  CHECK_EQ(got[0], 'l');
  CHECK_EQ(got[1], 'h');
}

TEST_CASE(equal_consumers_alternate_and_an_idle_flow_saves_no_credit) {
  ThreadBudget b(1);
  const int a = b.join(), c = b.join();
  // c leases 5 times alone (500 tokens) while a is idle; then a joins the contest. a restarts at the
  // virtual time, not at 0: it does not get 5 leases in a row to catch up.
  for (int i = 0; i < 5; ++i) b.release(c, b.acquire(c, 1, 100));
  CHECK_EQ(b.acquire(c, 1, 100), 1);  // held: the next leases queue up
  Order order;
  std::vector<std::thread> ts;
  // One lease of each at a time, asked in the order a, c, a, c (each waits before the next is asked).
  const char names[] = {'a', 'c', 'a', 'c'};
  for (int i = 0; i < 4; ++i) {
    ts.push_back(lease_once(b, names[i] == 'a' ? a : c, 1, 100, names[i], order));
    CHECK(eventually([&] { return b.stats().waiting == i + 1; }));
  }
  b.release(c, 1);
  for (auto& t : ts) t.join();
  // Tags: V = 500 (c's held lease started there), c's finish 600. a: 500, then 600; c: 600, then 700.
  const std::vector<char> got = order.get();
  CHECK_EQ(got.size(), size_t(4));
  CHECK_EQ(got[0], 'a');  // 500
  CHECK_EQ(got[1], 'c');  // 600, asked before a's second
  CHECK_EQ(got[2], 'a');  // 600
  CHECK_EQ(got[3], 'c');  // 700
}

TEST_CASE(no_starvation_a_large_waiting_lease_is_granted_after_a_bounded_number_of_others) {
  ThreadBudget b(2);
  const int big = b.join(), small = b.join();
  // big has consumed 1,000 tokens; its next lease wants every thread and waits behind a stream of
  // small one-thread leases of 100 tokens each, one always held, so the threads are never all free
  // unless the order makes the small ones wait.
  b.release(big, b.acquire(big, 2, 1000));
  CHECK_EQ(b.acquire(small, 1, 100), 1);
  Order order;
  std::thread t = lease_once(b, big, 2, 1000, 'B', order);
  CHECK(eventually([&] { return b.stats().waiting == 1; }));
  // A stream of small leases (tags 100, 200, ...) runs beside the held one; once its tags reach
  // big's (1000) big is the head of the order, and the stream waits behind it until the held lease
  // is given back and big has run.
  std::atomic<bool> stop{false};
  std::thread stream([&] {
    while (!stop) {
      const int n = b.acquire(small, 1, 100);
      order.add('s');
      b.release(small, n);
    }
  });
  CHECK(eventually([&] { return b.stats().waiting == 2; }));  // big, and the stream behind it
  b.release(small, 1);
  t.join();
  stop = true;
  stream.join();
  const std::vector<char> got = order.get();
  size_t before = 0;
  while (before < got.size() && got[before] == 's') ++before;
  CHECK(before < got.size());  // big was granted
  CHECK_EQ(got[before], 'B');
  CHECK_EQ(before, size_t(9));  // tags 100 .. 900 went before big's 1000
  CHECK_EQ(b.stats().in_use, 0);
}

TEST_CASE(others_active_sees_the_other_flows_leases_and_forgets_them_after_the_window) {
  ThreadBudget b(2);
  const int f = b.join(), g = b.join();
  const auto now = ThreadBudget::Clock::now();
  CHECK(!b.others_active(f, now));  // g never leased
  const int n = b.acquire(g, 1, 10);
  CHECK(b.others_active(f, ThreadBudget::Clock::now()));   // g holds a lease
  CHECK(!b.others_active(g, ThreadBudget::Clock::now()));  // its own lease does not count
  b.release(g, n);
  const auto after = ThreadBudget::Clock::now();
  CHECK(b.others_active(f, after));  // g leased within the window
  CHECK(!b.others_active(f, after + ThreadBudget::kActiveWindow + 1ms));
  b.leave(g);
  CHECK(!b.others_active(f, after));  // a flow that left is gone
}

TEST_CASE(many_threads_never_exceed_the_budget) {
  ThreadBudget b(3);
  std::atomic<int> held{0}, most{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      const int flow = b.join();
      std::mt19937 rng(i);
      for (int k = 0; k < 300; ++k) {
        const ThreadLease lease(&b, flow, 1 + static_cast<int>(rng() % 3), 1 + rng() % 500);
        const int now = held += lease.granted();
        int m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        held -= lease.granted();
      }
      b.leave(flow);
    });
  }
  for (auto& t : threads) t.join();
  const ThreadBudget::Stats s = b.stats();
  CHECK(most.load() <= 3);
  CHECK(s.peak_in_use <= 3);
  CHECK_EQ(s.leases, uint64_t(8 * 300));
  CHECK_EQ(s.in_use, 0);
  CHECK_EQ(s.flows, 0);
}

// The lease split: a share holding every thread is asked for one when another lease is the head of
// the order; it gives it up at its next checkpoint (not before), the waiting share starts on it, and
// the running one takes it back at a checkpoint once nothing waits.
TEST_CASE(split_a_waiting_share_starts_on_the_thread_the_running_share_gives_up) {
  ThreadBudget b(2, true);
  const int busy = b.join(), light = b.join();
  ThreadBudget::Share running;
  b.acquire_share(running, busy, 2, 1000);
  CHECK_EQ(running.granted, 2);
  CHECK_EQ(b.checkpoint(running), 2);  // nothing waits: keeps both
  Order order;
  std::atomic<bool> release_light{false};
  ThreadBudget::Share other;
  std::thread t([&] {
    b.acquire_share(other, light, 2, 10);
    order.add('l');
    while (!release_light) std::this_thread::sleep_for(1ms);
    b.release_share(other);
  });
  CHECK(eventually([&] { return running.give.load() == 1; }));  // asked for one thread
  CHECK_EQ(b.stats().waiting, 1);
  CHECK(order.get().empty());  // not granted before the running share's safe point
  CHECK_EQ(b.checkpoint(running), 1);
  CHECK(eventually([&] { return order.get().size() == 1; }));
  CHECK_EQ(other.granted, 1);  // wanted 2, started on the one given up
  ThreadBudget::Stats s = b.stats();
  CHECK_EQ(s.in_use, 2);
  CHECK_EQ(s.given_up, uint64_t(1));
  CHECK_EQ(s.peak_in_use, 2);
  CHECK_EQ(b.checkpoint(running), 1);  // the thread is the other's now
  release_light = true;
  t.join();
  CHECK_EQ(b.checkpoint(running), 2);  // nothing waits: taken back
  CHECK_EQ(b.stats().in_use, 2);
  b.release_share(running);
  s = b.stats();
  CHECK_EQ(s.in_use, 0);
  CHECK_EQ(s.leases, uint64_t(2));
  CHECK_EQ(s.peak_in_use, 2);
}

TEST_CASE(split_a_share_keeps_its_last_thread_and_the_order_holds) {
  ThreadBudget b(2, true);
  const int f = b.join(), g = b.join(), h = b.join();
  ThreadBudget::Share a, c;
  b.acquire_share(a, f, 1, 100);
  b.acquire_share(c, g, 1, 100);
  Order order;
  ThreadBudget::Share w;
  std::thread t([&] {
    b.acquire_share(w, h, 1, 100);
    order.add('h');
    b.release_share(w);
  });
  CHECK(eventually([&] { return b.stats().waiting == 1; }));
  // Both running shares are down to one thread: nobody is asked; the waiter waits for an end.
  CHECK_EQ(a.give.load(), 0);
  CHECK_EQ(c.give.load(), 0);
  CHECK_EQ(b.checkpoint(a), 1);
  CHECK(order.get().empty());
  b.release_share(a);
  t.join();
  CHECK_EQ(order.get().size(), size_t(1));
  CHECK_EQ(b.stats().given_up, uint64_t(0));
  b.release_share(c);
  CHECK_EQ(b.stats().in_use, 0);
}

TEST_CASE(split_a_fixed_lease_at_the_head_asks_running_shares_too) {
  ThreadBudget b(2, true);
  const int f = b.join(), g = b.join();
  ThreadBudget::Share running;
  b.acquire_share(running, f, 2, 100);
  Order order;
  std::thread t = lease_once(b, g, 1, 10, 'g', order);
  CHECK(eventually([&] { return running.give.load() == 1; }));
  CHECK_EQ(b.checkpoint(running), 1);
  t.join();
  CHECK_EQ(order.get().size(), size_t(1));
  CHECK_EQ(b.checkpoint(running), 2);
  b.release_share(running);
  CHECK_EQ(b.stats().in_use, 0);
}

TEST_CASE(split_many_shares_with_checkpoints_never_exceed_the_budget) {
  ThreadBudget b(3, true);
  std::atomic<int> over{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      const int flow = b.join();
      std::mt19937 rng(i);
      for (int k = 0; k < 200; ++k) {
        ThreadLease lease(&b, flow, 1 + static_cast<int>(rng() % 3), 1 + rng() % 500);
        for (int step = 0; step < 5; ++step) {
          const int n = lease.checkpoint();
          if (n < 1 || n > 3) ++over;
          std::this_thread::yield();
        }
      }
      b.leave(flow);
    });
  }
  for (auto& t : threads) t.join();
  const ThreadBudget::Stats s = b.stats();
  CHECK_EQ(over.load(), 0);
  CHECK(s.peak_in_use <= 3);
  CHECK_EQ(s.leases, uint64_t(8 * 200));
  CHECK_EQ(s.in_use, 0);
  CHECK_EQ(s.waiting, 0);
}

TEST_MAIN()
