// The report's section on bert-serve against ONNX Runtime (bench/peer.js measures) and its targets.
// Ratios are computed here from what was measured; nothing is asserted.

const fx = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
const r3 = (x) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);
function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const shape = (rows, b, s) => rows?.shapes?.find((x) => x.batch === b && x.seq === s);
// The engine limit's mix: the faster of its two batchings (as the main report holds the server to).
const limitMix = (l) => [l?.mix?.cost, l?.mix?.sorted256].filter(Boolean).reduce((a, b) => (!a || b.seq_per_s > a.seq_per_s ? b : a), null);

/** Targets of issue 26 as rows for the report's target table. */
export function peerTargets(P) {
  if (!P) return [];
  const out = [];
  const model = 'bench/embed';
  const ort = P.ort?.shapes ? P.ort : null;
  const push = (target, measured, ratio, met, ratioLabel) =>
    out.push({ model, target, measured, ratio: r3(ratio), met, ...(ratioLabel ? { ratioLabel } : {}) });
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
  for (const seq of [16, 128]) {
    const o = shape(ort, 1, seq),
      e = shape(P.engine, 1, seq);
    if (o && e)
      push(
        `float32: engine batch-1 latency <= 0.9x ONNX Runtime's (${seq} tokens)`,
        `${fx(e.median_ms, 2)} vs ${fx(o.median_ms, 2)} ms`,
        e.median_ms / o.median_ms,
        e.median_ms <= 0.9 * o.median_ms,
      );
    const s = P.server?.single?.find((x) => x.seq === seq);
    if (o && s?.latency_ok?.p50)
      push(
        `float32: server single-connection p50 <= ONNX Runtime batch 1 + 0.5 ms (${s.tokens} tokens)`,
        `${fx(s.latency_ok.p50, 2)} vs ${fx(o.median_ms, 2)} + 0.5 ms`,
        s.latency_ok.p50 - o.median_ms,
        s.latency_ok.p50 <= o.median_ms + 0.5,
        'ms over',
      );
  }
  const o32 = shape(ort, 32, 128),
    e32 = shape(P.engine, 32, 128);
  if (o32 && e32)
    push(
      'float32: engine throughput at 32 x 128 >= 1.2x ONNX Runtime',
      `${fx(e32.seq_per_s, 2)} vs ${fx(o32.seq_per_s, 2)} seq/s`,
      e32.seq_per_s / o32.seq_per_s,
      e32.seq_per_s >= 1.2 * o32.seq_per_s,
    );
  if (ort.mix && P.engine?.mix)
    push(
      'float32: engine throughput on the length mix >= 1.2x ONNX Runtime',
      `${fx(P.engine.mix.seq_per_s, 1)} vs ${fx(ort.mix.seq_per_s, 1)} seq/s`,
      P.engine.mix.seq_per_s / ort.mix.seq_per_s,
      P.engine.mix.seq_per_s >= 1.2 * ort.mix.seq_per_s,
    );
  const bf = P.variants?.bf16;
  if (bf?.skipped) {
    push(
      'bf16: throughput >= 2.5x ONNX Runtime float32, batch-1 latency <= 0.5x; server >= 2.5x float32',
      `not measured: ${bf.skipped}`,
      undefined,
      false,
    );
  } else if (bf?.engine) {
    const b32 = shape(bf.engine, 32, 128);
    if (b32 && o32)
      push(
        'bf16: engine throughput at 32 x 128 >= 2.5x ONNX Runtime float32',
        `${fx(b32.seq_per_s, 2)} vs ${fx(o32.seq_per_s, 2)} seq/s`,
        b32.seq_per_s / o32.seq_per_s,
        b32.seq_per_s >= 2.5 * o32.seq_per_s,
      );
    for (const seq of [16, 128]) {
      const b = shape(bf.engine, 1, seq),
        o = shape(ort, 1, seq);
      if (b && o)
        push(
          `bf16: engine batch-1 latency <= 0.5x ONNX Runtime float32 (${seq} tokens)`,
          `${fx(b.median_ms, 2)} vs ${fx(o.median_ms, 2)} ms`,
          b.median_ms / o.median_ms,
          b.median_ms <= 0.5 * o.median_ms,
        );
    }
  }
  const fp = P.server?.closed64?.throughput;
  for (const [key, min] of [
    ['bf16', 2.5],
    ['int8', 2],
  ]) {
    const v = P.variants?.[key]?.server?.closed64?.throughput;
    if (v && fp)
      push(
        `${key}: server throughput (64 connections, the mix) >= ${min}x float32`,
        `${fx(v, 1)} vs ${fx(fp, 1)} req/s`,
        v / fp,
        v >= min * fp,
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
      c.push(x ? `${fx(x.seq_per_s, 2)}${rows === ort ? '' : rel(x.seq_per_s, o?.seq_per_s)}` : '–');
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
      "The engine limit runs them in two batchings (the scheduler's own picker on a full queue, and length-sorted windows of 256 cut at 32 texts / 16384 padded tokens) " +
      'and ONNX Runtime runs exactly the same batches; the faster batching counts for each. The engine from JS gets them all at once and batches them itself.',
    '',
  );
  L.push(table(['Runtime', '1 x 16 ms', '1 x 128 ms', '32 x 16 seq/s', '32 x 128 seq/s', 'Mix seq/s'], rows), '');
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
        `p50 ${fx(s.latency_ok?.p50, 2)} ms${o ? ` (ONNX Runtime batch 1: ${fx(o.median_ms, 2)} ms; ${fx(s.latency_ok?.p50 - o.median_ms, 2)} ms over)` : ''}`,
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
