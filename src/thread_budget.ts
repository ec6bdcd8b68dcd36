// ThreadBudget: CPU threads that several engines share (the library face of
// native/engine/sched/thread_budget.h). Engines loaded with the same budget never run more intra-op
// threads at once than it holds, however many of them are busy: each batch leases the threads it
// will use (its engine's intraOpThreads, or 1 for a batch small enough to run on one thread) before
// it runs and gives them back after, in a fair order by tokens of work (start-time fair queueing
// over the engines: the one that consumed fewer tokens goes first), and while another engine is
// active an engine's batches are capped (fairBatchTokens), so a flood on one model cannot make
// another wait long. An idle model holds none, so a busy one gets every thread. The design and its
// why: docs/architecture.md (threads and queues). Without a budget an engine's threads are its own (workers x
// intraOpThreads), which is right for one model and oversubscribes the CPUs when several are busy.
//
//   const budget = new ThreadBudget();            // the CPUs this process may use (cgroup quota included)
//   const embed = await Engine.load({ model: 'models/embed', threadBudget: budget });
//   const ner = await Engine.load({ model: 'models/ner', threadBudget: budget });
//
// JS thread only (the native budget itself is used by the engines' worker threads).
import { loadBinding } from './native/binding.js';
import type { NativeThreadBudget, NativeThreadBudgetStats } from './native/types.js';
import { cpuBudget } from './cpu_quota.js';
import { invalidArgument, toBertServeError } from './errors.js';

export type ThreadBudgetStats = NativeThreadBudgetStats;

const natives = new WeakMap<ThreadBudget, NativeThreadBudget>();

export class ThreadBudget {
  /** The threads it holds. */
  readonly threads: number;

  /**
   * `threads`: default the CPUs this process may use (os.availableParallelism(), within a cgroup CPU quota).
   * `split`: a running batch gives a thread up at its next operator to another engine's waiting batch
   * (the lease split, docs/batching.md); default true, as the server's `--lease-split`.
   */
  constructor(threads: number = cpuBudget().cpus, options: { split?: boolean } = {}) {
    if (!Number.isInteger(threads) || threads < 1 || threads > 4096)
      throw invalidArgument('threads', 'an integer between 1 and 4096', threads);
    if (options.split !== undefined && typeof options.split !== 'boolean')
      throw invalidArgument('options.split', 'a boolean', options.split);
    this.threads = threads;
    try {
      natives.set(this, new (loadBinding().ThreadBudget)(threads, options.split ?? true));
    } catch (e) {
      throw toBertServeError(e);
    }
  }

  /** Threads leased now, the most ever leased at once, leases granted, how many waited, waiting now, engines sharing it. */
  stats(): ThreadBudgetStats {
    return natives.get(this)!.stats();
  }
}

/** The native budget of `budget` (Engine.load hands it to the addon). */
export function nativeBudget(budget: ThreadBudget): NativeThreadBudget {
  return natives.get(budget)!;
}
