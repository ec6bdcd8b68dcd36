#!/usr/bin/env node
// Benchmark stage 2: the engine from JavaScript (the task's JSON call: Engine.fillMaskJson, embedJson,
// ...), no HTTP. bench/run.js runs it as a child process per model and reads its JSON lines:
//   {"type":"info"}      engine.info and the options used
//   {"type":"lengths"}   token counts of the corpus texts (also written to cfg.lengthsOut, one a line,
//                        for engine_limit --mix)
//   {"type":"texts"}     texts of exactly N tokens (for the server's single-connection runs)
//   {"type":"shape"}     batch B x seq S: B texts of S tokens submitted in one tick, awaited, repeated
//   {"type":"mix"}       the corpus (cfg.mixCount texts) submitted at once: sequences/s
//   {"type":"roundtrip"} sequential JS -> native -> JS costs: tokenize, fill-mask (cfg.roundtrip)
//   {"type":"check"}     an embedding model's answers to cfg.check texts (not normalized) and their
//                        token ids, for bench/peer.js to compare another runtime with
// For a model of another task than fill-mask, the corpus texts' [MASK] becomes a word.
// With cfg.serve the shapes and the mix are not run on their own: after {"type":"texts"} the engine
// stays loaded and times one of them per request (bench/lib/worker.js; bench/peer.js alternates it
// with other runtimes): {"op":"shape","batch":1,"seq":16,"repeats":8} or {"op":"mix","repeats":1}.
//
//   node bench/engine_stage.js '{"model":"models/demo","corpus":"/tmp/corpus.txt",...}'
import { readFileSync, writeFileSync } from 'node:fs';
import { textOfLength } from './corpus.js';
import { serveRequests } from './lib/worker.js';

const cfg = {
  model: 'models/demo',
  corpus: null,
  lengthsOut: null,
  mixCount: 1000,
  mixRepeats: 3,
  batches: [1, 8, 32],
  seqs: [16, 128],
  warmupRounds: 2,
  minRepeats: 3,
  maxRepeats: 200,
  targetSeconds: 2,
  roundtrip: null, // { n: 2000 } to measure round trips on this model
  check: null, // texts to embed (embedding models)
  engineOptions: {},
  ...JSON.parse(process.argv[2] ?? '{}'),
};

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const now = () => Number(process.hrtime.bigint()) / 1e6;

function summary(values) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return { n: 0 };
  const q = (p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))];
  const r = (x) => Math.round(x * 1000) / 1000;
  return {
    n: v.length,
    mean: r(v.reduce((a, b) => a + b, 0) / v.length),
    p50: r(q(0.5)),
    p90: r(q(0.9)),
    p99: r(q(0.99)),
    min: r(v[0]),
    max: r(v[v.length - 1]),
  };
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function statsDelta(a, b) {
  const batches = b.batchesRun - a.batchesRun,
    requests = b.requestsRun - a.requestsRun;
  const real = b.realTokens - a.realTokens,
    padded = b.paddedTokens - a.paddedTokens;
  return {
    batches,
    requests,
    mean_batch: batches ? requests / batches : 0,
    real_tokens: real,
    padded_tokens: padded,
    padding_efficiency: padded ? real / padded : null,
  };
}

async function main() {
  const { Engine } = await import('../dist/engine.js');
  const engine = await Engine.load({ model: cfg.model, maxQueue: 1 << 20, ...cfg.engineOptions });
  try {
    out({ type: 'info', info: engine.info, options: engine.options });
    const fillMask = engine.task === 'fill-mask';
    const text = (t) => (fillMask ? t : t.replace('[MASK]', 'city'));
    const call = (t) =>
      fillMask ? engine.fillMaskJson(t) : engine.task === 'feature-extraction' ? engine.embedJson(t) : engine.classifyJson(t);
    const count = async (t) => (await engine.tokenize(text(t))).length;

    // The corpus mix: every text submitted at once, the engine batches them; `repeats` passes.
    let subset = [];
    const timeMix = async (repeats) => {
      const s0 = engine.stats();
      const ms = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = now();
        await Promise.all(subset.map((t) => call(text(t))));
        ms.push(now() - t0);
      }
      const m = median(ms);
      const real = statsDelta(s0, engine.stats());
      return {
        sequences: subset.length,
        pass_ms: m,
        passes_ms: ms,
        seq_per_s: subset.length / (m / 1000),
        tokens_per_s: real.real_tokens / repeats / (m / 1000),
        ...real,
      };
    };
    // batch texts of seq tokens submitted in one tick and awaited: a fixed number of repeats, or
    // until targetSeconds (at least minRepeats, at most maxRepeats).
    const texts = {};
    const timeShape = async (batch, seq, { repeats = 0, warmupRounds, minRepeats, targetSeconds, maxRepeats }) => {
      const rows = texts[seq].slice(0, batch).map((t) => t.text);
      const inference = []; // the engine's own inference time per answer (the server's x-inference-time)
      const round = async () => {
        const t0 = now();
        const answers = await Promise.all(rows.map((t) => call(t)));
        const ms = now() - t0;
        for (const a of answers) if (a?.timings?.inferenceUs !== undefined) inference.push(a.timings.inferenceUs / 1000);
        return ms;
      };
      for (let i = 0; i < warmupRounds; i++) await round();
      inference.length = 0;
      const s0 = engine.stats();
      const ms = [];
      const start = now();
      if (repeats) while (ms.length < repeats) ms.push(await round());
      else while (ms.length < maxRepeats && (ms.length < minRepeats || now() - start < targetSeconds * 1000)) ms.push(await round());
      const m = median(ms);
      return {
        batch,
        seq,
        tokens: texts[seq].slice(0, batch).map((t) => t.tokens),
        seq_per_s: batch / (m / 1000),
        tokens_per_s: (batch * seq) / (m / 1000),
        median_ms: m,
        ms,
        min_ms: Math.min(...ms),
        max_ms: Math.max(...ms),
        repeats: ms.length,
        ...(inference.length ? { inference_ms: median(inference) } : {}),
        ...statsDelta(s0, engine.stats()),
      };
    };

    if (cfg.check) {
      const embeddings = await engine.embed(cfg.check, { normalize: false });
      const ids = await Promise.all(cfg.check.map(async (t) => (await engine.tokenize(t)).map((x) => x.id)));
      out({ type: 'check', embeddings: embeddings.map((e) => Array.from(e)), ids });
    }

    // Token counts of the corpus (the same tokenizer the server uses).
    if (cfg.corpus) {
      const corpus = readFileSync(cfg.corpus, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0);
      const lengths = await Promise.all(corpus.map(count));
      if (cfg.lengthsOut) writeFileSync(cfg.lengthsOut, lengths.join('\n') + '\n');
      const mix = lengths.slice(0, cfg.mixCount);
      out({ type: 'lengths', n: lengths.length, all: summary(lengths), mix: summary(mix), mix_count: mix.length });

      subset = corpus.slice(0, cfg.mixCount);
      if (!cfg.serve && subset.length > 0 && cfg.mixRepeats > 0) {
        await timeMix(1); // warm-up pass
        out({ type: 'mix', ...(await timeMix(cfg.mixRepeats)) });
      }
    }

    // Texts of exactly `seq` tokens, one per row of the largest batch.
    const maxB = Math.max(0, ...cfg.batches);
    for (const seq of cfg.seqs) {
      texts[seq] = [];
      for (let i = 0; i < maxB; i++) {
        const t = await textOfLength(count, seq, 1000 + i);
        texts[seq].push({ ...t, text: text(t.text) });
      }
    }
    out({ type: 'texts', texts: Object.fromEntries(cfg.seqs.map((s) => [s, texts[s][0]])) });

    if (cfg.serve)
      await serveRequests({
        shape: ({ batch, seq, repeats }) => timeShape(batch, seq, { repeats, warmupRounds: 0 }),
        mix: ({ repeats }) => timeMix(repeats),
      });
    else for (const seq of cfg.seqs) for (const batch of cfg.batches) out({ type: 'shape', ...(await timeShape(batch, seq, cfg)) });

    if (cfg.roundtrip) {
      const n = cfg.roundtrip.n ?? 2000;
      const short = 'Paris is the [MASK] of France.';
      const seqTimes = async (fn) => {
        for (let i = 0; i < Math.min(200, n / 10); i++) await fn();
        const us = [];
        for (let i = 0; i < n; i++) {
          const t0 = now();
          await fn();
          us.push((now() - t0) * 1000);
        }
        return summary(us);
      };
      const tokenizeUs = await seqTimes(() => engine.tokenizeJson(short));
      const fillUs = await seqTimes(() => engine.fillMaskJson(short));
      // The same fill-mask with the JSON parse that Engine.fillMask adds for library users.
      const fillParsedUs = await seqTimes(() => engine.fillMask(short));
      out({
        type: 'roundtrip',
        text: short,
        tokens: await count(short),
        tokenize_us: tokenizeUs,
        fill_mask_us: fillUs,
        fill_mask_parsed_us: fillParsedUs,
      });
    }
  } finally {
    await engine.close();
  }
}

main().catch((e) => {
  process.stderr.write(`engine_stage: ${e?.stack ?? e}\n`);
  process.exit(1);
});
