// AnswerMemory: the process's memory budget for answers (--max-inflight-answer-bytes), shared by
// the served models' gates (gate.ts). Each request holds an upper bound of its answer's bytes from
// the moment it is handed to the engine until its answer is written (gate.ts says how much when).
//
// Why one budget for the process and not one per model: it bounds the process's memory, which the
// models share; dividing it would refuse a busy model's answers while an idle model's share lies
// unused. Why a floor per model: without one, a flood on one model could hold the whole budget and
// another model's requests would wait for memory behind it. So while several models are served,
// each keeps a floor of budget / (2 x models) that the others cannot take: a model is admitted only
// if, after it, every other model could still reach its floor. A flooded model may hold up to
// budget - (models - 1) x floor (over half of it), an idle one its floor at once.
//
// When bytes are given back, every gate pumps its waiters, a different gate first each time. JS
// thread only.

/** What AnswerMemory needs of a gate: the bytes its requests hold, and a pump for its waiters. */
export interface MemoryHolder {
  readonly heldBytes: number;
  pump(): void;
}

export class AnswerMemory {
  readonly budgetBytes: number;
  #used = 0;
  readonly #holders: MemoryHolder[] = [];
  /** Rotates which gate pumps first, so no model's waiters always see the room last. */
  #next = 0;

  constructor(budgetBytes: number) {
    this.budgetBytes = budgetBytes;
  }

  get usedBytes(): number {
    return this.#used;
  }

  /** Registers a model's gate (its floor counts from now on). */
  join(holder: MemoryHolder): void {
    this.#holders.push(holder);
  }

  /** Unregisters a gate (a model no longer served): its floor is given to the others. */
  leave(holder: MemoryHolder): void {
    const i = this.#holders.indexOf(holder);
    if (i < 0) return;
    this.#holders.splice(i, 1);
    this.#next = 0;
    this.pumpAll();
  }

  /** Each model's floor: budget / (2 x models), 0 with one model. */
  get floorBytes(): number {
    const n = this.#holders.length;
    return n > 1 ? Math.floor(this.budgetBytes / (2 * n)) : 0;
  }

  /**
   * Whether `holder` may reserve `bytes` now. A request larger than what is left still runs when
   * nothing else holds any (otherwise it would never run).
   */
  fits(holder: MemoryHolder, bytes: number): boolean {
    if (this.#used === 0) return true;
    return this.#used + bytes + this.#keptFor(holder) <= this.budgetBytes;
  }

  /** No request of `holder` fits now, even an empty one: it is refused (503) before its body is read. */
  full(holder: MemoryHolder): boolean {
    return this.#used > 0 && this.#used + this.#keptFor(holder) >= this.budgetBytes;
  }

  /** Adds `delta` bytes (negative: given back; then the waiters are pumped). */
  add(delta: number): void {
    this.#used += delta;
    if (delta < 0) this.pumpAll();
  }

  /** Every gate admits what now fits, starting with a different one each time. */
  pumpAll(): void {
    const n = this.#holders.length;
    const first = this.#next;
    this.#next = n > 0 ? (first + 1) % n : 0;
    for (let i = 0; i < n; i++) this.#holders[(first + i) % n].pump();
  }

  /** The room the other models' floors keep: what each holds below its floor. */
  #keptFor(holder: MemoryHolder): number {
    const floor = this.floorBytes;
    if (floor === 0) return 0;
    let kept = 0;
    for (const h of this.#holders) if (h !== holder) kept += Math.max(0, floor - h.heldBytes);
    return kept;
  }
}
