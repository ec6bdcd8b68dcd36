// EngineBridge: the JavaScript side of one native engine (native/addon/engine_wrap.cc). It owns
// the native object and every request in flight to it: requests made in the same tick are handed
// over in ONE call (flushed on a microtask); the native engine completes each finished batch with
// one call back (complete()), and the native log sink's messages come back through onLog.
//
// Contract: every request submitted settles exactly once: answered, failed with the native code,
// cancelled (its signal), past its deadline (a timer per call), or closed. The pending count is
// the admission bound (maxQueue): past it a call is refused at once with ERR_QUEUE_FULL, before it
// costs anything. JS thread only.
import type { JsonAnswer, Timings } from '../answers.js';
import { BertServeError, invalidArgument, toBertServeError, type ErrorCode } from '../errors.js';
import type { Item } from '../tasks/inputs.js';
import type { RequestOptions } from '../tasks/common.js';
import type {
  NativeBinding,
  NativeEngine,
  NativeEngineOptions,
  NativeLog,
  NativeModelInfo,
  NativeStats,
  NativeTokenizer,
} from './types.js';
import { NativeTaskKind, TIMING_FIELDS } from './types.js';

interface Pending {
  resolve: (a: JsonAnswer) => void;
  reject: (e: BertServeError) => void;
  stack: Error;
}

interface Queued extends Item {
  id: number;
  kind: NativeTaskKind;
  params: string;
  flags: number;
  timeoutMs: number;
}

export class EngineBridge {
  readonly #native: NativeEngine;
  readonly #maxQueue: number;
  #pending = new Map<number, Pending>();
  #queued: Queued[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(binding: NativeBinding, maxQueue: number, onLog: NativeLog) {
    this.#native = new binding.Engine((ids, codes, payloads, timings) => this.#complete(ids, codes, payloads, timings), onLog);
    this.#maxQueue = maxQueue;
  }

  load(options: NativeEngineOptions): Promise<NativeModelInfo> {
    return this.#native.load(options);
  }

  tokenizer(): NativeTokenizer {
    return this.#native.tokenizer();
  }

  /** Requests accepted and not yet answered. */
  get pending(): number {
    return this.#pending.size;
  }

  stats(): NativeStats {
    return this.#native.stats();
  }

  /**
   * Queues one native request per item (all or none: the queue bound is checked for the whole call)
   * and returns one promise per item. One abort listener and one deadline timer serve the whole call.
   */
  submit(items: Item[], params: string, flags: number, options: RequestOptions, kind = NativeTaskKind.Model): Promise<JsonAnswer>[] {
    const stack = new Error();
    if (this.#closed) throw new BertServeError('ERR_CLOSED', 'the engine is closed');
    if (this.#pending.size + items.length > this.#maxQueue) {
      throw new BertServeError('ERR_QUEUE_FULL', `too many pending requests (maxQueue ${this.#maxQueue})`);
    }
    const signal = options.signal;
    if (signal?.aborted) throw new BertServeError('ERR_CANCELLED', 'the request was cancelled');
    const timeoutMs = checkTimeout(options.timeoutMs);
    const ids: number[] = [];
    const promises = items.map((item) => {
      const id = this.#nextId++;
      ids.push(id);
      this.#queued.push({ id, kind, params, flags, timeoutMs, ...item });
      return new Promise<JsonAnswer>((resolve, reject) => this.#pending.set(id, { resolve, reject, stack }));
    });
    if (timeoutMs > 0) {
      // The native side also drops a request whose deadline passed before it was batched; this
      // timer covers the rest (a batch that runs past the deadline).
      const timer = setTimeout(() => {
        for (const id of ids)
          this.#cancel(id, 'ERR_DEADLINE_EXCEEDED', `the request's deadline (timeoutMs ${Math.round(timeoutMs)}) passed`, false);
      }, timeoutMs);
      timer.unref();
      void Promise.allSettled(promises).then(() => clearTimeout(timer));
    }
    if (signal) {
      const onAbort = () => {
        for (const id of ids) this.#cancel(id);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // Settled one way or another: the listener goes, so signals shared across calls do not pile up.
      void Promise.allSettled(promises).then(() => signal.removeEventListener('abort', onAbort));
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
    return promises;
  }

  /**
   * Stops the native engine (drain: finish what is accepted first; else fail it with ERR_CLOSED) and
   * rejects whatever it can no longer answer. Joins every native thread.
   */
  close(drain: boolean): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#flush();
    this.#closing = this.#native.close(drain).then(() => {
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.reject(toBertServeError(new BertServeError('ERR_CLOSED', 'the engine was closed'), p.stack));
      }
    });
    return this.#closing;
  }

  /**
   * Rejects a pending request now. With `tellNative` the native request is marked cancelled (dropped
   * if not yet batched); a deadline needs no telling: the native side holds the same deadline and
   * drops the request itself (counted as expired), and a running batch cannot be interrupted.
   */
  #cancel(id: number, code: ErrorCode = 'ERR_CANCELLED', message = 'the request was cancelled', tellNative = true): void {
    const p = this.#pending.get(id);
    if (!p) return;
    // Forgotten first: the native side still answers it (dropped or finished), and that answer,
    // whenever it comes, is ignored.
    this.#pending.delete(id);
    const idx = this.#queued.findIndex((q) => q.id === id);
    if (idx >= 0) this.#queued.splice(idx, 1);
    else if (tellNative) this.#native.cancel(id);
    p.reject(toBertServeError(new BertServeError(code, message), p.stack));
  }

  #flush(): void {
    this.#flushScheduled = false;
    const qs = this.#queued;
    if (qs.length === 0) return;
    this.#queued = [];
    const n = qs.length;
    const ids = new Float64Array(n),
      kinds = new Uint8Array(n),
      flags = new Uint8Array(n),
      deadlines = new Float64Array(n);
    const texts = new Array<string>(n),
      pairs = new Array<string | null>(n),
      tokenIds = new Array<Int32Array | null>(n),
      params = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const q = qs[i];
      ids[i] = q.id;
      kinds[i] = q.kind;
      flags[i] = q.flags;
      deadlines[i] = q.timeoutMs;
      texts[i] = q.text;
      pairs[i] = q.pair;
      tokenIds[i] = q.tokenIds;
      params[i] = q.params;
    }
    try {
      this.#native.submit({ ids, kinds, texts, pairs, tokenIds, params, flags, deadlinesMs: deadlines });
    } catch (e) {
      const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'ERR_INTERNAL';
      for (const q of qs) this.#settle(q.id, code, (e as Error).message ?? String(e), undefined);
    }
  }

  /** The native completion: once per finished batch. */
  #complete(ids: Float64Array, codes: string[], payloads: Array<Buffer | string>, timings: Float64Array): void {
    for (let i = 0; i < ids.length; i++) {
      const [tokenizeUs, queueUs, inferenceUs, tokens, threadWaitUs] = timings.subarray(TIMING_FIELDS * i, TIMING_FIELDS * (i + 1));
      this.#settle(ids[i], codes[i], payloads[i], { tokenizeUs, queueUs, threadWaitUs, inferenceUs }, tokens);
    }
  }

  #settle(id: number, code: string, payload: Buffer | string | undefined, timings: Timings | undefined, tokens = 0): void {
    const p = this.#pending.get(id);
    if (!p) return; // cancelled earlier: already answered
    this.#pending.delete(id);
    if (code === '') {
      p.resolve({ body: payload as Buffer, timings: timings ?? { tokenizeUs: 0, queueUs: 0, threadWaitUs: 0, inferenceUs: 0 }, tokens });
    } else {
      const err = Object.assign(new Error(typeof payload === 'string' ? payload : 'request failed'), { code });
      p.reject(toBertServeError(err, p.stack));
    }
  }
}

function checkTimeout(t: number | undefined): number {
  if (t === undefined) return 0;
  if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) throw invalidArgument('timeoutMs', 'a positive number of milliseconds', t);
  return t;
}
