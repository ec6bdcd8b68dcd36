// A NativeBinding written in JavaScript: the same surface as the native addon (src/native/types.ts),
// no libtorch. Loaded through the addon path (BERT_SERVE_ADDON=<this file>: binding.ts requires
// whatever file that names), so Engine, Server and every admission path run for real while the
// tests decide when and how each request completes:
//   control.hold = true      requests wait in `control.held` until control.release()
//   control.answer(text, topK, kind) -> Buffer   the JSON bytes answered (default: a small list)
//   BERT_SERVE_FAKE_WORK_US=N   each request costs N us of CPU on a worker thread, one at a time
//                               (a stand-in for the model competing with the JS thread for cores,
//                               used by bench/goodput.js; unset: requests complete at once)
// Deadlines are honoured when held requests are released (ERR_DEADLINE_EXCEEDED), as the native
// scheduler does at dequeue.
// Why not the real addon: it has no hold/release hook (its queues are native), and its slow test
// models (models/test slow, hanging) only spin for a time, so "the queue is full now" or "this
// request is still waiting" would become a race with the machine's load instead of a state the test
// sets. The tests that use this binding (test/unit admission, hostile-http, http-clients-413;
// test/long/slow-upload) are about admission and the HTTP layer; the real addon's own admission
// bound, cancels and deadlines are tested in test/integration/engine-api.test.mjs. CommonJS so that an ESM test and binding.ts's require() share one
// module instance (and so one `control`).
'use strict';

const WORK_US = Number(process.env.BERT_SERVE_FAKE_WORK_US ?? 0);

const control = {
  hold: false,
  held: [],
  submitted: 0,
  completed: 0,
  engines: new Set(),
  answer: (text, topK) =>
    Buffer.from(
      JSON.stringify(
        Array.from({ length: Math.max(1, topK) }, (_, i) => ({
          score: 1 / (i + 2),
          token: 1000 + i,
          token_str: 'x',
          sequence: text.replace('[MASK]', 'x'),
        })),
      ),
    ),
  /** Completes every held request (or the first n). */
  release(n = Infinity) {
    const batch = this.held.splice(0, n);
    const byEngine = new Map();
    for (const r of batch) {
      if (!byEngine.has(r.engine)) byEngine.set(r.engine, []);
      byEngine.get(r.engine).push(r);
    }
    for (const [engine, rs] of byEngine) engine._complete(rs);
  },
  reset() {
    this.hold = false;
    this.held = [];
    this.submitted = 0;
    this.completed = 0;
    this.answer = control.defaultAnswer;
  },
};
control.defaultAnswer = control.answer;

const SPECIAL = { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', mask: '[MASK]', unk: '[UNK]' };
const SPECIAL_IDS = { cls: 101, sep: 102, pad: 0, mask: 103, unk: 100 };

class FakeTokenizer {
  encode(text, addSpecialTokens) {
    const words = text.split(/\s+/).filter(Boolean);
    const tokens = addSpecialTokens ? ['[CLS]', ...words, '[SEP]'] : words;
    return {
      ids: Int32Array.from(tokens, (_, i) => 1000 + i),
      tokens,
      offsets: new Uint32Array(tokens.length * 2),
      typeIds: new Uint32Array(tokens.length),
      specialTokensMask: new Uint8Array(tokens.length),
      truncated: false,
    };
  }
  decode(ids) {
    return Array.from(ids, (id) => `t${id}`).join(' ');
  }
  idToToken(id) {
    return `t${id}`;
  }
  tokenToId() {
    return null;
  }
  info() {
    return {
      vocabSize: 30522,
      model: 'WordPiece',
      source: 'fake',
      lowercase: true,
      stripAccents: true,
      modelMaxLength: 512,
      cleanUpTokenizationSpaces: true,
      addedTokens: { single: 2, pair: 3 },
      pipeline: {
        normalizer: 'BertNormalizer',
        preTokenizer: 'BertPreTokenizer',
        model: 'WordPiece',
        postProcessor: 'TemplateProcessing',
        decoder: 'WordPiece',
        fastPath: true,
      },
      specialTokens: SPECIAL,
      specialIds: SPECIAL_IDS,
    };
  }
}

class FakeEngine {
  constructor(onComplete, onLog) {
    if (typeof onComplete !== 'function' || typeof onLog !== 'function')
      throw new Error('Engine(onComplete, onLog): expected two functions');
    this.onComplete = onComplete;
    this.closed = false;
    this.stats_ = {
      queueDepth: 0,
      inFlight: 0,
      batchesRun: 0,
      requestsRun: 0,
      meanBatchSize: 0,
      realTokens: 0,
      paddedTokens: 0,
      droppedCancelled: 0,
      droppedExpired: 0,
      runningBatchMs: 0,
      nonFiniteOutputs: 0,
      batchSizeHistogram: { bounds: [1, 32], counts: [0, 0, 0] },
      batchTokensHistogram: { bounds: [16, 512], counts: [0, 0, 0] },
    };
    control.engines.add(this);
  }

  async load(options) {
    this.options = options;
    return {
      modelDir: options.model,
      task: 'fill-mask',
      architecture: 'FakeForMaskedLM',
      modelType: 'bert',
      family: 'BERT',
      tokenTypes: true,
      positionOffset: 0,
      device: 'cpu',
      dtype: 'float32',
      vocabSize: 30522,
      hiddenSize: 8,
      maxPositionEmbeddings: 512,
      maxTokens: 512,
      maskedPositionsFastPath: true,
      headPath: 'fake',
      pathId: 'fill_mask_logits',
      forwardSignature: 'forward(input_ids, attention_mask)',
      taskInfo: '{"head_path":"fill_mask_logits"}',
      cpuNativeBf16: false,
      forwardInputs: 2,
      intraOpThreads: 1,
      workers: 1,
      blas: 'none',
      torchVersion: 'fake',
      loadMs: 0,
      warmupMs: 0,
      batchOverheadTokens: 64,
      fairBatchTokens: 0,
    };
  }

  submit(b) {
    const now = Date.now();
    for (let i = 0; i < b.ids.length; i++) {
      control.submitted++;
      const params = b.params[i] ? JSON.parse(b.params[i]) : {};
      const r = {
        engine: this,
        id: b.ids[i],
        kind: b.kinds[i],
        text: b.texts[i],
        topK: params.top_k ?? 5,
        deadline: b.deadlinesMs[i] > 0 ? now + b.deadlinesMs[i] : 0,
      };
      if (control.hold) control.held.push(r);
      else if (WORK_US > 0) this._work(r);
      else setImmediate(() => this._complete([r]));
    }
    this.stats_.queueDepth = control.held.filter((r) => r.engine === this).length;
  }

  _work(r) {
    if (!this.worker) {
      const { Worker } = require('node:worker_threads');
      this.worker = new Worker(
        `const { parentPort } = require('node:worker_threads');
        parentPort.on('message', (id) => { const end = process.hrtime.bigint() + ${WORK_US}000n; while (process.hrtime.bigint() < end); parentPort.postMessage(id); });`,
        { eval: true },
      );
      this.working = new Map();
      this.worker.on('message', (id) => {
        const w = this.working.get(id);
        this.working.delete(id);
        if (w) this._complete([w]);
      });
    }
    this.working.set(r.id, r);
    this.worker.postMessage(r.id);
  }

  cancel(id) {
    const i = control.held.findIndex((r) => r.engine === this && r.id === id);
    if (i < 0) return;
    const [r] = control.held.splice(i, 1);
    this.stats_.droppedCancelled++;
    this._answer([r], () => ['ERR_CANCELLED', 'cancelled']);
  }

  _complete(rs) {
    const now = Date.now();
    this._answer(rs, (r) => {
      if (r.deadline && now > r.deadline) {
        this.stats_.droppedExpired++;
        return ['ERR_DEADLINE_EXCEEDED', 'deadline passed'];
      }
      this.stats_.requestsRun++;
      return ['', control.answer(r.text, r.topK, r.kind)];
    });
  }

  _answer(rs, decide) {
    const ids = new Float64Array(rs.length),
      codes = [],
      payloads = [],
      timings = new Float64Array(rs.length * 5); // src/native/types.ts TIMING_FIELDS
    rs.forEach((r, i) => {
      ids[i] = r.id;
      const [code, payload] = decide(r);
      codes.push(code);
      payloads.push(payload);
    });
    control.completed += rs.length;
    this.stats_.queueDepth = control.held.filter((r) => r.engine === this).length;
    this.onComplete(ids, codes, payloads, timings);
  }

  stats() {
    return { ...this.stats_ };
  }
  tokenizer() {
    return new FakeTokenizer();
  }

  async close(drain) {
    this.closed = true;
    if (this.worker) {
      await this.worker.terminate();
      this.worker = undefined;
    }
    const mine = control.held.filter((r) => r.engine === this);
    control.held = control.held.filter((r) => r.engine !== this);
    if (drain) this._complete(mine);
    else this._answer(mine, () => ['ERR_CLOSED', 'closed']);
    control.engines.delete(this);
  }
}

const SUPPORTED = {
  normalizers: ['BertNormalizer'],
  preTokenizers: ['BertPreTokenizer'],
  models: ['WordPiece'],
  postProcessors: ['TemplateProcessing'],
  decoders: ['WordPiece'],
};
module.exports = {
  Tokenizer: { load: () => new FakeTokenizer(), supportedComponents: () => SUPPORTED },
  Engine: FakeEngine,
  // Holds no native memory: nothing to give back ('' is the addon's "nothing could").
  releaseFreeMemory: () => '',
  control,
};
