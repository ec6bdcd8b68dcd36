// The admission gate between a parsed request and one model's engine: room in that engine's queue
// (--max-queue texts) and room in the process's memory budget for answers
// (--max-inflight-answer-bytes, answer_memory.ts). Each served model has its own gate, so its own
// waiting room (--max-waiting requests) and its own queue bound: a flood on one model fills that
// model's queue and waiting room and is refused there, while another model's requests are admitted
// as if it were alone (only the memory budget is the process's, with a floor per model).
//
// Why a request may wait here instead of being refused at once: a refusal is cheap, but a client
// that is refused at once sends its next request at once, and with enough connections the
// refusals themselves (server and clients sharing the CPUs with the engine) starve the engine:
// goodput at 1,024 connections fell to 0.43x of what 64 connections got. A request that waits
// costs nothing while it waits. At most --max-waiting requests wait; past that a request is refused
// at once, as before: 429 when the queue is what is full, 503 + Retry-After when the memory budget
// is. A waiting request that reaches its deadline gets 504 (one sweep timer for all of them), one
// whose client goes away is dropped.
// First come, first served, until the wait grows long (pump(): then the newest first).
//
// The memory budget counts, per request, an upper bound of its answer's bytes from the moment it
// is handed to the engine (times BUILD_COPIES while the answer is being built: the native string,
// its copy into a Buffer, a list's concatenation), then the answer's exact size while it is being
// written (twice that for a list's answer: the parts it was concatenated from stay until V8's next
// collection), until the last byte is written or the client is gone. Requests that arrive while the
// budget is spent are refused (503) before their body is read. JS thread only.
import { performance } from 'node:perf_hooks';
import type { AnswerMemory, MemoryHolder } from './answer_memory.js';

/** Copies of an answer that exist at once while it is built (native string, Buffer, concatenation). */
export const BUILD_COPIES = 3;

export type Admission = 'go' | 'queue-full' | 'memory-full' | 'timeout' | 'gone';

/** The engine as the gate sees it. */
export interface QueueRoom {
  readonly pending: number;
  readonly options: { readonly maxQueue: number };
}

interface Waiter {
  readonly engine: QueueRoom;
  readonly count: number;
  readonly bytes: number;
  readonly resolve: (a: Admission) => void;
  /** performance.now() when it started waiting, and when its deadline passes. */
  readonly since: number;
  readonly until: number;
}

/**
 * A waiter whose deadline is this close (ms) is expired by the sweep that finds it: Node's timers
 * count whole milliseconds, so a sweep may run up to one early.
 */
const SWEEP_SLACK_MS = 1;

export class Gate implements MemoryHolder {
  readonly memory: AnswerMemory;
  readonly maxWaiting: number;
  /** Bytes of the memory budget reserved by this model's requests in the engine or being written. */
  #held = 0;
  /** Texts admitted whose engine call has not been made yet (it follows in the same tick). */
  #granted = 0;
  #waiting: Waiter[] = [];
  /**
   * One timer for every waiter's deadline, armed for the earliest (#sweepAt), instead of one timer
   * per waiter: under an overload a thousand requests wait, and arming and clearing a timer each
   * was a visible share of the JS thread's work in the profile.
   */
  #sweep: NodeJS.Timeout | undefined;
  #sweepAt = Infinity;

  constructor(memory: AnswerMemory, maxWaiting: number) {
    this.memory = memory;
    this.maxWaiting = maxWaiting;
    memory.join(this);
  }

  get heldBytes(): number {
    return this.#held;
  }
  get waiting(): number {
    return this.#waiting.length;
  }
  /** The budget is spent for this model: a new request is refused (503) before its body is read. */
  get overBudget(): boolean {
    return this.memory.full(this);
  }
  /** No request could wait now: arrivals that find the queue full are refused (429) at once. */
  get waitingFull(): boolean {
    return this.#waiting.length >= this.maxWaiting;
  }

  /**
   * Room for `count` texts and `bytes` of answer: 'go' (reserved: the caller hands the request
   * to the engine synchronously, then calls submitted(count)), or, after waiting, why not.
   * `deadlineMs`: how long it may wait (Infinity for none); `onGone` registers the client's
   * hang-up.
   */
  admit(
    engine: QueueRoom,
    count: number,
    bytes: number,
    deadlineMs: number,
    onGone: (fn: () => void) => void,
  ): Promise<Admission> | Admission {
    if (this.#waiting.length === 0 && this.#fits(engine, count, bytes)) return this.#grant(count, bytes);
    const queueFull = !this.#queueFits(engine, count);
    const refusal: Admission = queueFull ? 'queue-full' : 'memory-full';
    if (count > engine.options.maxQueue || this.waitingFull) return refusal;
    return new Promise<Admission>((resolve) => {
      const now = performance.now();
      const w: Waiter = { engine, count, bytes, resolve, since: now, until: now + deadlineMs };
      this.#waiting.push(w);
      if (w.until < this.#sweepAt) this.#arm(w.until, now);
      onGone(() => this.#leave(w, 'gone'));
    });
  }

  /** The granted texts are in the engine's pending count now. */
  submitted(count: number): void {
    this.#granted -= count;
  }

  /** Replaces a reservation by another (the exact answer size once it exists). */
  resize(from: number, to: number): void {
    this.#held += to - from;
    this.memory.add(to - from);
  }

  /** Gives back a reservation (the answer is written, or its client is gone). */
  release(bytes: number): void {
    if (bytes === 0) return;
    this.#held -= bytes;
    this.memory.add(-bytes);
  }

  /** The engine answered (or failed) a request: its queue room goes to the waiting. */
  answered(): void {
    this.pump();
  }

  /**
   * Admits waiting requests while the next one fits: first come first served, until the oldest
   * has used half its time to its deadline waiting; from then on the newest first (adaptive LIFO).
   * Under an overload the oldest would reach the engine with too little time left and expire
   * there, and every admitted request would be one that times out: the newest still have their
   * time, so what is admitted is answered, and the oldest get their 504 at their deadline.
   */
  pump(): void {
    while (this.#waiting.length > 0) {
      const oldest = this.#waiting[0];
      const now = performance.now();
      const lifo = now - oldest.since > (oldest.until - oldest.since) / 2;
      const w = lifo ? this.#waiting[this.#waiting.length - 1] : oldest;
      if (!this.#fits(w.engine, w.count, w.bytes)) return;
      if (lifo) this.#waiting.pop();
      else this.#waiting.shift();
      if (this.#waiting.length === 0) this.#disarm();
      w.resolve(this.#grant(w.count, w.bytes));
    }
  }

  #leave(w: Waiter, why: Admission): void {
    const i = this.#waiting.indexOf(w);
    if (i < 0) return;
    this.#waiting.splice(i, 1);
    if (this.#waiting.length === 0) this.#disarm();
    w.resolve(why);
    if (i === 0 || i === this.#waiting.length) this.pump();
  }

  /** The sweep timer fires at `at` (performance.now() time). */
  #arm(at: number, now: number): void {
    if (this.#sweep) clearTimeout(this.#sweep);
    this.#sweepAt = at;
    this.#sweep = setTimeout(() => this.#expire(), Math.max(0, at - now));
  }

  #disarm(): void {
    if (this.#sweep) clearTimeout(this.#sweep);
    this.#sweep = undefined;
    this.#sweepAt = Infinity;
  }

  /** The sweep: every waiter past its deadline leaves with 'timeout'; the timer is re-armed for the next. */
  #expire(): void {
    this.#sweep = undefined;
    this.#sweepAt = Infinity;
    const now = performance.now();
    const expired: Waiter[] = [];
    let next = Infinity;
    this.#waiting = this.#waiting.filter((w) => {
      if (w.until > now + SWEEP_SLACK_MS) {
        next = Math.min(next, w.until);
        return true;
      }
      expired.push(w);
      return false;
    });
    if (next < Infinity) this.#arm(next, now);
    for (const w of expired) w.resolve('timeout');
    // Those that left may have been the oldest: whether pump() serves the newest first may change.
    if (expired.length > 0) this.pump();
  }

  #queueFits(engine: QueueRoom, count: number): boolean {
    return engine.pending + this.#granted + count <= engine.options.maxQueue;
  }

  #fits(engine: QueueRoom, count: number, bytes: number): boolean {
    return this.#queueFits(engine, count) && this.memory.fits(this, bytes);
  }

  #grant(count: number, bytes: number): 'go' {
    this.#granted += count;
    this.#held += bytes;
    this.memory.add(bytes);
    return 'go';
  }
}
