// The report's section on bert-serve against ONNX Runtime (bench/peer.js measures) and its targets.
// Ratios are computed here from what was measured; nothing is asserted.

const fx = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
const r3 = (x) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);
// What the server adds to the engine from JS at one length: HTTP, the event loop and the hand-over,
// unless the two processes' warm-up calibrations put batches of this length on different team sizes
// (then that is the difference, and the report says so).
function serverExtra(P, tokens) {
  const server = P.server?.info?.single_thread_max_tokens;
  const engine = P.engine?.info?.singleThreadMaxTokens;
  if (server !== undefined && engine !== undefined && server >= tokens !== engine >= tokens)
    return `the server's batches of ${tokens} tokens ran on ${server >= tokens ? 'one thread' : 'the whole team'} and the engine's on ${engine >= tokens ? 'one thread' : 'the whole team'} (warm-up calibration: single_thread_max_tokens ${server} in the server, ${engine} in the engine from JS)`;
  return "HTTP, the event loop, the hand-over to the engine's threads";
}

function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const shape = (rows, b, s) => rows?.shapes?.find((x) => x.batch === b && x.seq === s);
// The engine limit's mix: the faster of its two batchings (as the main report holds the server to).
const limitMix = (l) => [l?.mix?.cost, l?.mix?.sorted256].filter(Boolean).reduce((a, b) => (!a || b.seq_per_s > a.seq_per_s ? b : a), null);

const median = (v) => {
  const s = [...v].sort((a, b) => a - b),
    n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const ms = (r, who, k) => r[who]?.[k]?.median_ms ?? r[who]?.[k]?.pass_ms;
const sps = (r, who, k) => r[who]?.[k]?.seq_per_s;
const tput = (c) => c?.throughput;

// What each round compares (bench/peer.js times the two sides of each seconds apart): time ratios
// at batch 1 (lower is faster), throughput ratios at batch 32 and on the mix, and ms differences
// for the server.
const COMPARISONS = [
  ...['1x16', '1x128'].flatMap((k) => [
    { key: `engine/ort ${k}`, label: `engine from JS / ONNX Runtime, ${k} (time)`, f: (r) => ms(r, 'engine', k) / ms(r, 'ort', k) },
    { key: `limit/ort ${k}`, label: `engine limit / ONNX Runtime, ${k} (time)`, f: (r) => ms(r, 'limit', k) / ms(r, 'ort', k) },
    { key: `limit/engine ${k}`, label: `engine limit / engine from JS, ${k} (time)`, f: (r) => ms(r, 'limit', k) / ms(r, 'engine', k) },
    { key: `engine-ort ${k}`, label: `engine from JS − ONNX Runtime, ${k}`, unit: 'ms', f: (r) => ms(r, 'engine', k) - ms(r, 'ort', k) },
    { key: `server-ort ${k}`, label: `server p50 − ONNX Runtime, ${k}`, unit: 'ms', f: (r) => ms(r, 'server', k) - ms(r, 'ort', k) },
    {
      key: `server-engine ${k}`,
      label: `server p50 − engine from JS, ${k}`,
      unit: 'ms',
      f: (r) => ms(r, 'server', k) - ms(r, 'engine', k),
    },
    {
      key: `server-engine cpu ${k}`,
      label: `server process CPU − engine from JS process CPU per request, ${k}`,
      unit: 'ms',
      f: (r) => r.server?.[k]?.cpu_ms - r.engine?.[k]?.cpu_ms,
    },
    {
      key: `inference-engine ${k}`,
      label: `server x-inference-time − engine from JS's inference time, ${k}`,
      unit: 'ms',
      f: (r) => r.server?.[k]?.inference_ms - r.engine?.[k]?.inference_ms,
    },
  ]),
  ...['32x16', '32x128', 'mix'].flatMap((k) => [
    { key: `engine/ort ${k}`, label: `engine from JS / ONNX Runtime, ${k} (throughput)`, f: (r) => sps(r, 'engine', k) / sps(r, 'ort', k) },
    ...[
      ['int8', 'engineInt8'],
      ['bf16', 'engineBf16'],
    ].map(([v, who]) => ({
      key: `${v}/fp32 engine ${k}`,
      label: `${v} / float32, engine from JS, ${k} (throughput)`,
      f: (r) => sps(r, who, k) / sps(r, 'engine', k),
    })),
  ]),
  // bf16's targets are against ONNX Runtime's float32 (CPUs with native bf16 only).
  ...['1x16', '1x128'].map((k) => ({
    key: `bf16/ort ${k}`,
    label: `bf16 engine from JS / ONNX Runtime float32, ${k} (time)`,
    f: (r) => ms(r, 'engineBf16', k) / ms(r, 'ort', k),
  })),
  {
    key: 'bf16/ort 32x128',
    label: 'bf16 engine from JS / ONNX Runtime float32, 32x128 (throughput)',
    f: (r) => sps(r, 'engineBf16', '32x128') / sps(r, 'ort', '32x128'),
  },
  {
    key: 'limit/ort mix',
    label: 'engine limit / ONNX Runtime, mix, the same batches (throughput)',
    f: (r) => sps(r, 'limit', 'mix') / sps(r, 'ort', 'mix'),
  },
  {
    key: 'int8/fp32 limit mix',
    label: 'int8 / float32, engine limit, mix (throughput)',
    f: (r) => sps(r, 'limitInt8', 'mix') / sps(r, 'limit', 'mix'),
  },
];

/** Each comparison's per-round values with their median and range (rounds where both sides ran). */
export function peerRatios(P) {
  const out = {};
  const add = (key, label, unit, values) => {
    const v = values.filter(Number.isFinite);
    if (v.length) out[key] = { label, unit: unit ?? 'x', values: v, median: median(v), min: Math.min(...v), max: Math.max(...v) };
  };
  for (const c of COMPARISONS) add(c.key, c.label, c.unit, (P?.rounds ?? []).map(c.f));
  for (const key of ['int8', 'bf16'])
    add(
      `${key}/fp32 server`,
      `${key} / float32, server, 64 connections on the mix (throughput)`,
      'x',
      (P?.serverRounds ?? []).map((r) => tput(r[key]) / tput(r.fp32)),
    );
  return out;
}

const showRatio = (x, d = 2) => (x.unit === 'ms' ? `${fx(x.median, d)} ms` : `${fx(x.median, d)}x`);
const showRange = (x, d = 2) => (x.unit === 'ms' ? `${fx(x.min, d)} to ${fx(x.max, d)} ms` : `${fx(x.min, d)}-${fx(x.max, d)}x`);
const perRound = (x) => (x ? `; per-round median ${showRatio(x)}, range ${showRange(x)} over ${x.values.length} rounds` : '');

// Work per token of the encoder's linear layers (2 FLOP per weight) and the bytes of their float32
// weights, which a batch of one reads once per forward.
function linearWork(P) {
  const m = P.model?.layers
    ? P.model
    : { layers: 12, hidden: P.engine?.info?.hiddenSize ?? 768, intermediate: 4 * (P.engine?.info?.hiddenSize ?? 768) };
  const weights = m.layers * (4 * m.hidden * m.hidden + 2 * m.hidden * m.intermediate);
  return { flopPerToken: 2 * weights, bytes: 4 * weights, ...m };
}

// What bounds a target that is missed, in numbers (the issue's "Done when").
function batchOneBound(P, seq, e, o) {
  const w = linearWork(P);
  const gbs = (t) => w.bytes / (t / 1000) / 1e9;
  const gf = (t) => (w.flopPerToken * seq) / (t / 1000) / 1e9;
  return (
    `a batch of one reads the encoder's ${fx(w.bytes / 1e6, 0)} MB of float32 linear weights once per forward for ${fx((w.flopPerToken * seq) / 1e9, 1)} GFLOP ` +
    `(${seq * 0.5} FLOP per weight byte): bert-serve streams them at ${fx(gbs(e), 1)} GB/s and computes ${fx(gf(e), 0)} GFLOP/s, ONNX Runtime ${fx(gbs(o), 1)} GB/s and ${fx(gf(o), 0)} GFLOP/s ` +
    (e > o
      ? `on the same cores: ONNX Runtime shows these cores read and compute faster, so the packed GEMM kernel's rate at ${seq} rows, not the memory, is what bounds it`
      : 'on the same cores: bert-serve is ahead, by less than the tenth the target asks')
  );
}

function throughputBound(P, label, engineSps, ortSps, tokensPerSeq) {
  const w = linearWork(P);
  const gf = (s) => (s * tokensPerSeq * w.flopPerToken) / 1e9;
  return (
    `arithmetic: the linear layers run at ${fx(gf(engineSps), 0)} GFLOP/s in bert-serve against ${fx(gf(ortSps), 0)} in ONNX Runtime ${label} ` +
    `(${fx(w.flopPerToken / 1e6, 0)} MFLOP per token; FMA peaks measured in docs/performance.md: about 94 GFLOP/s per core on the AVX2-only Zen 3, 232 with AVX-512 on the Zen 5): ` +
    `1.2x needs ${fx(1.2 * gf(ortSps), 0)} GFLOP/s from the packed GEMM kernel`
  );
}

// bf16 halves the bytes of the weights and doubles the dot-product rate per instruction (AVX512-BF16),
// so 2.5x ONNX Runtime's float32 asks the bf16 layers for more than twice float32's arithmetic rate.
function bf16ThroughputBound(P, X, bf16Sps, ortSps) {
  const w = linearWork(P);
  const gf = (s) => (s * 128 * w.flopPerToken) / 1e9;
  const own = X['bf16/fp32 engine 32x128'];
  return (
    `arithmetic: the linear layers run at ${fx(gf(bf16Sps), 0)} GFLOP/s in bf16 against ONNX Runtime's ${fx(gf(ortSps), 0)} in float32 at 32 x 128; ` +
    `2.5x needs ${fx(2.5 * gf(ortSps), 0)} GFLOP/s` +
    (own
      ? `, and bf16 gives the engine ${showRatio(own)} its own float32 throughput here (range ${showRange(own)}), where 2.5x ONNX Runtime would need ${fx((2.5 * ortSps) / (bf16Sps / own.median), 2)}x`
      : '') +
    " (libtorch's bf16 linear layers through oneDNN; the attention, softmax, LayerNorms and residual sums stay float32 or memory-bound)"
  );
}

function bf16BatchOneBound(P, seq, bf16Ms, ortMs, fp32Ms) {
  const w = linearWork(P);
  const gbs = (t) => w.bytes / 2 / (t / 1000) / 1e9;
  const gf = (t) => (w.flopPerToken * seq) / (t / 1000) / 1e9;
  return (
    `a batch of one reads the encoder's ${fx(w.bytes / 2e6, 0)} MB of bf16 linear weights once per forward for ${fx((w.flopPerToken * seq) / 1e9, 1)} GFLOP: ` +
    `bert-serve's bf16 streams them at ${fx(gbs(bf16Ms), 1)} GB/s and computes ${fx(gf(bf16Ms), 0)} GFLOP/s ` +
    `(${fx(bf16Ms, 2)} ms` +
    (fp32Ms ? `, against its own float32's ${fx(fp32Ms, 2)} ms: ${fx(bf16Ms / fp32Ms, 2)}x` : '') +
    `); 0.5x ONNX Runtime needs ${fx(ortMs / 2, 2)} ms: ${fx(gbs(ortMs / 2), 1)} GB/s and ${fx(gf(ortMs / 2), 0)} GFLOP/s` +
    (seq <= 16
      ? ', and at this length the per-operator costs (casts to and from bf16 around each layer, launches) weigh as much as the weights'
      : '')
  );
}

/** Targets of issue 26 as rows for the report's target table; decided on the median per-round ratio when there are rounds. */
export function peerTargets(P) {
  if (!P) return [];
  const out = [];
  const model = 'bench/embed';
  const ort = P.ort?.shapes ? P.ort : null;
  const X = peerRatios(P);
  const push = (target, measured, ratio, met, extra = {}) => out.push({ model, target, measured, ratio: r3(ratio), met, ...extra });
  if (P.ort?.agreement) {
    const a = P.ort.agreement;
    push(
      'ONNX Runtime and bert-serve answer the same (check before timing)',
      `largest difference ${a.max_abs_diff.toExponential(2)}, min cosine ${a.min_cosine.toFixed(7)} over ${a.texts} texts`,
      undefined,
      a.equal,
    );
  }
  if (!ort) return out;
  const rounds = P.rounds?.length ? ` (medians of ${P.rounds.length} alternated rounds)` : '';
  // The per-round median decides when there are rounds; a single run's ratio otherwise.
  const decide = (key, single) => X[key]?.median ?? single;
  for (const seq of [16, 128]) {
    const k = `1x${seq}`;
    const o = shape(ort, 1, seq),
      e = shape(P.engine, 1, seq);
    if (o && e) {
      const ratio = decide(`engine/ort ${k}`, e.median_ms / o.median_ms);
      const met = ratio <= 0.9;
      push(
        `float32: engine batch-1 latency <= 0.9x ONNX Runtime's (${seq} tokens)`,
        `${fx(e.median_ms, 2)} vs ${fx(o.median_ms, 2)} ms${rounds}${perRound(X[`engine/ort ${k}`])}`,
        ratio,
        met,
        met ? {} : { bound: batchOneBound(P, seq, e.median_ms, o.median_ms) },
      );
    }
    const s = P.server?.single?.find((x) => x.seq === seq);
    if (o && s?.latency_ok?.p50) {
      const over = decide(`server-ort ${k}`, s.latency_ok.p50 - o.median_ms);
      const met = over <= 0.5;
      const own = X[`server-engine ${k}`];
      push(
        `float32: server single-connection p50 <= ONNX Runtime batch 1 + 0.5 ms (${s.tokens} tokens)`,
        `${fx(s.latency_ok.p50, 2)} vs ${fx(o.median_ms, 2)} + 0.5 ms${rounds}${perRound(X[`server-ort ${k}`])}`,
        over,
        met,
        {
          ratioLabel: 'ms over',
          ...(met || !e
            ? {}
            : {
                bound:
                  `the ${fx(over, 2)} ms over ONNX Runtime are the engine's forward, ${fx(decide(`engine-ort ${k}`, e.median_ms - o.median_ms), 2)} ms (the engine from JS against ONNX Runtime), ` +
                  (own
                    ? `plus what the server adds to the engine from JS: ${showRatio(own)} (per-round range ${showRange(own)}: ${serverExtra(P, s.tokens)})`
                    : 'plus the server'),
              }),
        },
      );
    }
  }
  const tokens = P.lengths?.mix?.mean;
  for (const [k, label, e, o, perSeq] of [
    ['32x128', 'at 32 x 128', shape(P.engine, 32, 128), shape(ort, 32, 128), 128],
    ['mix', 'on the length mix', P.engine?.mix, ort.mix, tokens],
  ]) {
    if (!e || !o) continue;
    const ratio = decide(`engine/ort ${k}`, e.seq_per_s / o.seq_per_s);
    const met = ratio >= 1.2;
    push(
      `float32: engine throughput ${label} >= 1.2x ONNX Runtime`,
      `${fx(e.seq_per_s, 2)} vs ${fx(o.seq_per_s, 2)} seq/s${rounds}${perRound(X[`engine/ort ${k}`])}`,
      ratio,
      met,
      met || !perSeq ? {} : { bound: throughputBound(P, label, e.seq_per_s, o.seq_per_s, perSeq) },
    );
  }
  const bf = P.variants?.bf16;
  const o32 = shape(ort, 32, 128);
  if (bf?.skipped) {
    push(
      'bf16: throughput >= 2.5x ONNX Runtime float32, batch-1 latency <= 0.5x; server >= 2.5x float32',
      `not measured: ${bf.skipped}`,
      undefined,
      false,
    );
  } else if (bf?.engine) {
    const b32 = shape(bf.engine, 32, 128);
    if (b32 && o32) {
      const ratio = decide('bf16/ort 32x128', b32.seq_per_s / o32.seq_per_s);
      push(
        'bf16: engine throughput at 32 x 128 >= 2.5x ONNX Runtime float32',
        `${fx(b32.seq_per_s, 2)} vs ${fx(o32.seq_per_s, 2)} seq/s${rounds}${perRound(X['bf16/ort 32x128'])}`,
        ratio,
        ratio >= 2.5,
        ratio >= 2.5 ? {} : { bound: bf16ThroughputBound(P, X, b32.seq_per_s, o32.seq_per_s) },
      );
    }
    for (const seq of [16, 128]) {
      const b = shape(bf.engine, 1, seq),
        o = shape(ort, 1, seq);
      if (b && o) {
        const ratio = decide(`bf16/ort 1x${seq}`, b.median_ms / o.median_ms);
        push(
          `bf16: engine batch-1 latency <= 0.5x ONNX Runtime float32 (${seq} tokens)`,
          `${fx(b.median_ms, 2)} vs ${fx(o.median_ms, 2)} ms${rounds}${perRound(X[`bf16/ort 1x${seq}`])}`,
          ratio,
          ratio <= 0.5,
          ratio <= 0.5 ? {} : { bound: bf16BatchOneBound(P, seq, b.median_ms, o.median_ms, shape(P.engine, 1, seq)?.median_ms) },
        );
      }
    }
  }
  const fp = P.server?.closed64?.throughput;
  for (const [key, min] of [
    ['bf16', 2.5],
    ['int8', 2],
  ]) {
    const v = P.variants?.[key]?.server?.closed64?.throughput;
    if (!v || !fp) continue;
    const ratio = decide(`${key}/fp32 server`, v / fp);
    const met = ratio >= min;
    const eng = X[`${key}/fp32 engine mix`],
      lim = X[`${key}/fp32 limit mix`];
    push(
      `${key}: server throughput (64 connections, the mix) >= ${min}x float32`,
      `${fx(v, 1)} vs ${fx(fp, 1)} req/s${P.serverRounds?.length ? ` (median rounds of ${P.serverRounds.length} alternated)` : ''}${perRound(X[`${key}/fp32 server`])}`,
      ratio,
      met,
      met || !(eng || lim)
        ? {}
        : {
            bound:
              `the engine's own ${key} / float32 ratio on the same mix: ${[eng && `engine from JS ${showRatio(eng)} (range ${showRange(eng)})`, lim && `engine limit ${showRatio(lim)} (range ${showRange(lim)})`].filter(Boolean).join(', ')}` +
              (Math.max(eng?.median ?? 0, lim?.median ?? 0) < min
                ? `: below ${min}x, so the server, which runs that engine, cannot reach ${min}x`
                : ''),
          },
    );
  }
  return out;
}

/** The report section. */
export function peerSection(P) {
  if (!P) return [];
  const L = ['## bert-serve and ONNX Runtime on the same weights', ''];
  L.push(
    `BERT-base-sized embedding model \`${P.dir}\` (scripts/make_bench_models.py), the same checkpoint exported to \`${P.onnx}\` ` +
      `(scripts/make_bench_onnx.py: torch.onnx.export, opset 14), ${P.ort?.info?.threads ?? '?'} intra-op threads each. ONNX Runtime: onnxruntime-node ` +
      `${P.ort?.info?.onnxruntime ?? '?'} (CPU, its default graph optimizations and spinning thread pool). bert-serve: ${P.limit?.info?.linear_kernel ?? P.engine?.info?.linearKernel ?? '?'}` +
      // The threads the packed layers' split really reached (1 when the build left them serial).
      (P.limit?.info?.packed_linear_threads ? `, split over ${P.limit.info.packed_linear_threads} thread(s)` : '') +
      '.',
    '',
  );
  const a = P.ort?.agreement;
  if (a)
    L.push(
      `Answers checked before timing: ${a.texts} texts embedded by both (bert-serve's mean-pooled embeddings against ONNX Runtime's last_hidden_state mean-pooled over the same token ids): largest difference ${a.max_abs_diff.toExponential(2)}, lowest cosine ${a.min_cosine.toFixed(7)}${a.equal ? '' : ` — **over the tolerance ${a.tolerance}: ONNX Runtime was not timed**`}.`,
      '',
    );
  if (P.ort?.skipped) L.push(`ONNX Runtime rows: ${P.ort.skipped}.`, '');
  const ort = P.ort?.shapes ? P.ort : null;
  const rel = (v, o, lower) => (Number.isFinite(v) && Number.isFinite(o) && o > 0 ? ` (${fx(lower ? v / o : v / o, 2)}x)` : '');
  const cells = (rows, mix) => {
    const c = [];
    for (const [b, s] of [
      [1, 16],
      [1, 128],
    ]) {
      const x = shape(rows, b, s),
        o = shape(ort, b, s);
      c.push(x ? `${fx(x.median_ms, 2)}${rows === ort ? '' : rel(x.median_ms, o?.median_ms, true)}` : '–');
    }
    for (const [b, s] of [
      [32, 16],
      [32, 128],
    ]) {
      const x = shape(rows, b, s),
        o = shape(ort, b, s);
      c.push(x ? `${fx(x.seq_per_s, 2)}${x.once ? '†' : ''}${rows === ort ? '' : rel(x.seq_per_s, o?.seq_per_s)}` : '–');
    }
    c.push(mix ? `${fx(mix.seq_per_s, 1)}${rows === ort ? '' : rel(mix.seq_per_s, ort?.mix?.seq_per_s)}` : '–');
    return c;
  };
  const rows = [];
  if (ort) rows.push(['ONNX Runtime, float32', ...cells(ort, ort.mix)]);
  if (P.limit) rows.push(['bert-serve engine limit, float32', ...cells(P.limit, limitMix(P.limit))]);
  if (P.limitLibtorch)
    rows.push([
      'bert-serve engine limit, float32, libtorch linear layers (`BERT_SERVE_PACKED_LINEAR=0`)',
      ...cells(P.limitLibtorch, limitMix(P.limitLibtorch)),
    ]);
  if (P.engine) rows.push(['bert-serve engine from JS, float32', ...cells(P.engine, P.engine.mix)]);
  for (const [key, V] of Object.entries(P.variants ?? {})) {
    if (V.skipped) {
      rows.push([`${key}`, `not measured: ${V.skipped}`, '', '', '', '']);
      continue;
    }
    if (V.limit) rows.push([`bert-serve engine limit, ${key}`, ...cells(V.limit, limitMix(V.limit))]);
    if (V.engine) rows.push([`bert-serve engine from JS, ${key}`, ...cells(V.engine, V.engine.mix)]);
  }
  L.push(
    'Batch-1 latency (median ms; ratio to ONNX Runtime, lower is faster) and throughput (sequences/s; ratio to ONNX Runtime, higher is faster). ' +
      `The mix: ${P.mixCount} corpus texts (token lengths ${P.lengths ? `mean ${fx(P.lengths.mix.mean)}, p50 ${P.lengths.mix.p50}, max ${P.lengths.mix.max}` : '?'}); ` +
      (P.rounds
        ? "the engine limit runs them as the scheduler's own picker batches a full queue (at most 32 texts / 16384 padded tokens) and ONNX Runtime runs exactly the same batches. "
        : "The engine limit runs them in two batchings (the scheduler's own picker on a full queue, and length-sorted windows of 256 cut at 32 texts / 16384 padded tokens) " +
          'and ONNX Runtime runs exactly the same batches; the faster batching counts for each. ') +
      'The engine from JS gets them all at once and batches them itself.',
    '',
  );
  L.push(table(['Runtime', '1 x 16 ms', '1 x 128 ms', '32 x 16 seq/s', '32 x 128 seq/s', 'Mix seq/s'], rows), '');
  const X = peerRatios(P);
  if (Object.keys(X).length) {
    L.push(
      `Each figure above is the median over ${P.rounds.length} rounds of the round's median (repeats per round: ${Object.entries(
        P.repeats ?? {},
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}); † marks a figure measured once after the rounds, not alternated. ` +
        'In a round the runtimes are timed one right after the other, shape by shape (ONNX Runtime, the engine from JS float32 and int8, the server at batch 1; the order reversed every other round), ' +
        'the engine limit at the end of the round; so each round gives each comparison a ratio that the machine’s drift between minutes does not reach. ' +
        `The targets are decided on the median of these (the stage took ${P.seconds ?? '?'} s):`,
      '',
      table(
        ['Comparison, per round', 'Median', 'Range', 'Rounds'],
        Object.values(X).map((x) => [x.label, showRatio(x), showRange(x), x.values.map((v) => fx(v, 2)).join(', ')]),
      ),
      '',
    );
  }
  // What bounds the large batches: arithmetic. BERT-base's linear layers are 2 x 85M multiply-adds
  // per token, attention 4 x seq x hidden per token and layer.
  const cfg = P.engine?.info;
  const gflops = (rows) => {
    const x = shape(rows, 32, 128);
    if (!x || !cfg) return null;
    const h = cfg.hiddenSize,
      layers = 12,
      inter = 4 * h;
    const perToken = 2 * layers * (4 * h * h + 2 * h * inter) + 4 * layers * 128 * h;
    return (x.seq_per_s * 128 * perToken) / 1e9;
  };
  const g = [
    ['ONNX Runtime', gflops(ort)],
    ['the engine limit', gflops(P.limit)],
    ['the engine from JS', gflops(P.engine)],
  ].filter(([, v]) => v);
  if (g.length)
    L.push(
      `At 32 x 128 the work is arithmetic (BERT-base: ~${fx((2 * 12 * (4 * 768 * 768 + 2 * 768 * 3072) + 4 * 12 * 128 * 768) / 1e6, 0)} MFLOP per token): ${g.map(([k, v]) => `${k} ${fx(v, 0)} GFLOP/s`).join(', ')} on ${P.ort?.info?.threads ?? '?'} threads (docs/performance.md gives this CPU's FMA peak).`,
      '',
    );
  const S = P.server;
  if (S) {
    const srows = [];
    for (const s of S.single ?? []) {
      const o = shape(ort, 1, s.seq);
      srows.push([
        `float32, single connection, ${s.tokens} tokens`,
        `p50 ${fx(s.latency_ok?.p50, 2)} ms${o ? ` (ONNX Runtime batch 1: ${fx(o.median_ms, 2)} ms; ${fx(s.latency_ok?.p50 - o.median_ms, 2)} ms over)` : ''}` +
          (s.server_timing_ms?.inference?.p50 ? `; x-inference-time p50 ${fx(s.server_timing_ms.inference.p50, 2)} ms` : ''),
      ]);
    }
    const fp = S.closed64?.throughput;
    srows.push([
      'float32, 64 connections, the mix',
      `${fx(fp, 1)} req/s, p50 ${fx(S.closed64?.latency_ok?.p50, 1)} ms, mean batch ${fx(S.closed64?.engine?.mean_batch, 1)}`,
    ]);
    for (const [key, V] of Object.entries(P.variants ?? {})) {
      const c = V.server?.closed64;
      if (c)
        srows.push([
          `${key}, 64 connections, the mix`,
          `${fx(c.throughput, 1)} req/s (${fx(c.throughput / fp, 2)}x float32), p50 ${fx(c.latency_ok?.p50, 1)} ms, mean batch ${fx(c.engine?.mean_batch, 1)}`,
        ]);
    }
    L.push('The HTTP server (bin/bert-serve, `POST /` with the raw text):', '', table(['Row', 'Measured'], srows), '');
  }
  return L;
}
