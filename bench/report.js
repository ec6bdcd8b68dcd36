// The bench report: targets (as ratios, never asserted), where the time goes, and the Markdown +
// JSON + SVG files under bench/results/ (bench/run.js measures; this file only renders what it
// measured, also from a saved JSON with `node bench/run.js --report-from FILE`).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerSection, peerTargets } from './report_peer.js';
import { trainedSection, trainedTargets } from './report_trained.js';
import { lineChart } from './svg.js';

const RESULTS = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'bench', 'results');
export const round = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? x : Math.round(x * 10 ** d) / 10 ** d);

// Targets (reported as ratios, never asserted)
// The engine limit for the length mix: the faster of the limit's batchings of it (the scheduler's
// own split, or plain sorted chunks), so the server is held to the best a plain loop could do.
function bestLimitMix(M) {
  const c = [M.limit?.mix?.cost, M.limit?.mix?.sorted256].filter(Boolean);
  return c.length ? c.reduce((a, b) => (b.seq_per_s > a.seq_per_s ? b : a)) : undefined;
}

export function targets(R) {
  const out = [];
  for (const [name, M] of Object.entries(R.models)) {
    const S = M.server;
    const limitMix = bestLimitMix(M);
    if (S?.saturation && limitMix) {
      out.push({
        model: name,
        target: 'server throughput at saturation >= 0.9x engine limit (same length mix)',
        measured: `${round(S.saturation, 1)} vs ${round(limitMix.seq_per_s, 1)} seq/s`,
        ratio: round(S.saturation / limitMix.seq_per_s, 3),
        met: S.saturation >= 0.9 * limitMix.seq_per_s,
      });
    }
    for (const s of S?.single ?? []) {
      const lim = M.limit?.shapes?.find((x) => x.batch === 1 && x.seq === s.seq);
      if (!lim || !s.latency_ok?.p50) continue;
      out.push({
        model: name,
        target: `single-connection p50 <= engine batch-1 forward + 0.5 ms (${s.tokens} tokens)`,
        measured: `${round(s.latency_ok.p50, 2)} vs ${round(lim.median_ms, 2)} + 0.5 ms`,
        ratio: round(s.latency_ok.p50 - lim.median_ms, 3),
        ratioLabel: 'ms over',
        met: s.latency_ok.p50 <= lim.median_ms + 0.5,
      });
    }
    const o4 = S?.overload?.find((o) => o.factor === 4);
    if (o4) {
      const refP99 = o4.latency_refused?.p99;
      const accP99 = o4.latency_ok?.p99;
      out.push({
        model: name,
        target: 'under 4x overload the server stays up',
        measured: `alive ${o4.alive}, /health ${o4.health}`,
        met: o4.alive && o4.health === 200,
      });
      out.push({
        model: name,
        target: 'under 4x overload refusals (429/503) p99 < 5 ms',
        measured: refP99 === undefined ? 'no refusals' : `${round(refP99, 2)} ms (${o4.latency_refused.n} refusals)`,
        met: refP99 !== undefined && refP99 < 5,
      });
      out.push({
        model: name,
        target: `under 4x overload accepted p99 < deadline (${S.overloadConfig.deadlineMs} ms)`,
        measured: accP99 === undefined ? 'none accepted' : `${round(accP99, 1)} ms`,
        met: accP99 !== undefined && accP99 < S.overloadConfig.deadlineMs,
      });
    }
    out.push(...variantTargets(name, M));
  }
  out.push(...peerTargets(R.peer), ...trainedTargets(R.trained));
  return out;
}

// precision / trace rows (bench/variants.js): everything at 64 connections, closed loop.
const at64 = (closed) => closed?.find((r) => r.connections === 64);
function ratioTarget(model, target, a, b, min, unit) {
  if (!a || !Number.isFinite(b)) return null;
  if (b === 0) return { model, target, measured: `${round(a.throughput, 1)} vs 0 ${unit} (no answers to compare with)`, met: false };
  return {
    model,
    target,
    measured: `${round(a.throughput, 1)} vs ${round(b, 1)} ${unit}`,
    ratio: round(a.throughput / b, 3),
    met: a.throughput >= min * b,
  };
}

function variantTargets(name, M) {
  const V = M.variants ?? {};
  const fp32 = at64(M.server?.closed),
    traced = V.traced?.server?.closed,
    limit = bestLimitMix(M);
  const rows = [
    ratioTarget(
      name,
      "standard HF trace, fill-mask, 64 connections >= 3x the seed recipe's batched server (same file)",
      traced,
      M.recipe?.server?.closed.throughput,
      3,
      'req/s',
    ),
    M.limit?.info?.method === 'fill_mask_logits'
      ? ratioTarget(
          name,
          'standard HF trace, 64 connections >= 0.85x the mask-row engine limit (same length mix)',
          traced,
          limit?.seq_per_s,
          0.85,
          'seq/s',
        )
      : null,
  ];
  // BERT-base-sized: reduced precision must pay off where the model dominates (on demo, HTTP does).
  if (name === 'base') {
    if (V.bf16?.skipped)
      rows.push({
        model: name,
        target: 'bf16 server throughput, 64 connections >= 2.5x float32',
        measured: `not measured: ${V.bf16.skipped}`,
        met: false,
      });
    rows.push(
      ratioTarget(name, 'bf16 server throughput, 64 connections >= 2.5x float32', V.bf16?.server?.closed, fp32?.throughput, 2.5, 'req/s'),
    );
    rows.push(
      ratioTarget(name, 'int8 server throughput, 64 connections >= 1.5x float32', V.int8?.server?.closed, fp32?.throughput, 1.5, 'req/s'),
    );
  }
  return rows.filter(Boolean);
}

function variantSection(M) {
  const V = M.variants ?? {},
    L = [];
  if (!Object.keys(V).length && !M.recipe) return L;
  const fp32 = { limit: M.limit?.mix?.cost, engine: M.engine?.mix, closed: at64(M.server?.closed) };
  const x = (v, ref) => (Number.isFinite(v) && ref > 0 ? ` (${fx(v / ref, 2)}x)` : '');
  const row = (label, limit, engine, c) => [
    label,
    limit ? `${fx(limit.seq_per_s, 1)}${x(limit.seq_per_s, fp32.limit?.seq_per_s)}` : '–',
    engine ? `${fx(engine.seq_per_s, 1)}${x(engine.seq_per_s, fp32.engine?.seq_per_s)}` : '–',
    c ? `${fx(c.throughput, 1)}${x(c.throughput, fp32.closed?.throughput)}` : '–',
    c ? `${fx(c.latency_ok.p50, 1)} / ${fx(c.latency_ok.p99, 1)}` : '–',
    fx(c?.engine?.mean_batch, 1),
    pctS(c?.engine?.padding_efficiency),
    fx(c?.server_cpu_cores, 2),
    fx(c?.client_cpu_cores, 2),
    statusStr(c?.status),
  ];
  L.push('### 6. Precision and the standard trace', '');
  L.push(
    "Same length mix; each ratio is to the float32 row. Engine limit: the scheduler's cost batches (`engine_limit --mix-policy cost`); " +
      'engine from JS: the mix submitted at once; server: closed loop, 64 connections, a fresh server per row.',
    '',
  );
  const rows = [row('float32 (exported, mask-row head)', fp32.limit, fp32.engine, fp32.closed)];
  for (const v of Object.values(V)) {
    if (v.skipped) rows.push([v.label, `not run: ${v.skipped}`, '', '', '', '', '', '', '', '']);
    else rows.push(row(v.label, v.limit, v.engine, v.server?.closed));
  }
  if (M.recipe?.server)
    rows.push(
      row(
        `seed recipe's batched server on ${M.recipe.dir} (Python, Starlette + uvicorn; ${M.recipe.server.closed.amount} requests, ${fx(M.recipe.server.closed.duration_s, 1)} s)`,
        null,
        null,
        M.recipe.server.closed,
      ),
    );
  L.push(
    table(
      [
        'Row',
        'Engine limit seq/s',
        'Engine from JS seq/s',
        'Server req/s (200)',
        'Server p50 / p99 ms',
        'Mean batch',
        'Padding eff.',
        'Server CPU',
        'Client CPU',
        'Statuses',
      ],
      rows,
    ),
    '',
  );
  const notes = [];
  if (V.traced) {
    notes.push(
      `The trace's engine-limit row runs the file as it is (\`forward\`: the vocabulary projection at every token, ${V.traced.limitInfo?.method ?? '?'}); ` +
        `the server finds its bert + cls submodules (head_path \`${V.traced.server?.info?.head_path ?? V.traced.engineInfo?.headPath ?? '?'}\`). ` +
        `The mask-row engine limit is the float32 row's (the exported file of the same weights, ${M.limit?.info?.method ?? '?'}).`,
    );
  }
  if (V.bf16)
    notes.push(
      `bf16: the engine converts the float32 weights at load (\`/info\` dtype \`${V.bf16.server?.info?.dtype ?? '?'}\`, native bf16 on this CPU: ${V.bf16.server?.info?.cpu_native_bf16 ?? '?'}).`,
    );
  const R = M.recipe;
  if (R?.skipped) notes.push(`Seed recipe row skipped: ${R.skipped}.`);
  const rc = R?.server?.closed?.engine;
  if (rc) {
    notes.push(
      `Seed recipe (bench/recipe_server.py, torch ${R.server.info.torch}, uvicorn ${R.server.info.uvicorn}, ${R.server.info.threads} threads, batches of <= ${R.server.info.max_batch}): ` +
        `over the ${rc.engine_requests} texts its model loop ran while measured (${rc.batches} batches), per text: tokenizing ${fx(rc.tokenize_us_per_request, 0)} us, ` +
        `padding + model ${fx(rc.forward_us_per_request, 0)} us, top-5 and decoding ${fx(rc.postprocess_us_per_request, 0)} us, of ${fx(rc.loop_us_per_request, 0)} us in the loop: ` +
        `tokenizing is **${pctS(rc.tokenize_share_of_loop)}** of the loop's time. That tokenizer is pure Python (bench/wordpiece.py); the recipe as published runs Hugging Face's ` +
        'Rust fast tokenizer, which would take most of that share away (the loop is serial, so its throughput scales with 1 / (1 - share) at most).',
    );
  }
  if (notes.length) L.push(...notes.map((n) => `- ${n}`), '');
  if (M.accuracy?.length) {
    L.push(
      'Accuracy against float32 on the same weights (bench/accuracy.js: fill-mask corpus of test/integration/fixtures.mjs, top_k 5, every text submitted at once):',
      '',
    );
    L.push(
      table(
        ['Variant', 'Masks', 'Top-1 agreement', 'Identical top-5 sets', 'Mean top-5 overlap', 'fp32 top-1 in top-5', 'Largest score diff'],
        M.accuracy.map((a) =>
          a.type === 'skipped'
            ? [a.variant, 'skipped', a.reason, '', '', '', '']
            : [
                a.variant,
                a.masks,
                pctS(a.top1_agreement),
                pctS(a.top5_set_agreement),
                pctS(a.top5_overlap),
                pctS(a.fp32_top1_in_top5),
                fx(a.max_score_diff, 4),
              ],
        ),
      ),
      '',
    );
  }
  return L;
}

/** Facts derived from the timing headers, metrics and CPU samples that locate the bottlenecks. */
function whereTimeGoes(M) {
  const S = M.server,
    out = [];
  for (const s of S?.single ?? []) {
    const lim = M.limit?.shapes?.find((x) => x.batch === 1 && x.seq === s.seq);
    const A = s.latency_ok.p50,
      B = s.server_timing_ms.total.p50,
      C = s.server_timing_ms.inference.p50;
    if (![A, B, C].every(Number.isFinite)) continue;
    out.push(
      `single connection, ${s.tokens} tokens, p50 ${fx(A, 2)} ms = HTTP + loopback + client ${fx(A - B, 2)} ms` +
        ` + server outside inference (admission, tokenize ${fx(s.server_timing_ms.tokenization.p50, 3)}, queue ${fx(s.server_timing_ms.queue.p50, 3)}, completion hop, write) ${fx(B - C, 2)} ms` +
        ` + inference ${fx(C, 2)} ms${lim ? ` (engine limit ${fx(lim.median_ms, 2)} ms: the batch run adds ${fx(C - lim.median_ms, 2)} ms)` : ''}.`,
    );
  }
  const best = (S?.closed ?? []).reduce((a, b) => (b.throughput > (a?.throughput ?? 0) ? b : a), null);
  const lim = bestLimitMix(M);
  if (best && lim) {
    const pe = best.engine?.padding_efficiency;
    out.push(
      `saturation (${best.connections} connections): ${fx(best.throughput, 1)} req/s, server ${fx(best.server_cpu_cores, 2)} cores + load generator ${fx(best.client_cpu_cores, 2)} cores of ${os.cpus().length}; ` +
        `mean batch ${fx(best.engine?.mean_batch, 1)}, padding efficiency ${pctS(pe)} vs ${pctS(lim.padding_efficiency)} for the engine limit's batches (${lim.policy})` +
        (pe
          ? ` (the server ran ${fx(best.engine.padded_tokens / best.engine.engine_requests, 0)} padded tokens per text vs ${fx(lim.padded_tokens / lim.sequences, 0)} for a mean of ${fx(lim.real_tokens / lim.sequences, 0)} real)`
          : '') +
        `; median x-inference-time ${fx(best.server_timing_ms.inference.p50, 1)} ms, x-queue-time ${fx(best.server_timing_ms.queue.p50, 1)} ms.`,
    );
    if (pe && lim.padding_efficiency) {
      const fifo = M.limit?.mix?.fifo;
      out.push(
        `padding: at the engine limit, the same mix runs at ${fx(lim.seq_per_s, 1)} seq/s with ${lim.policy} batches (${pctS(lim.padding_efficiency)} real tokens)` +
          (fifo ? ` and ${fx(fifo.seq_per_s, 1)} seq/s with arrival-order batches (${pctS(fifo.padding_efficiency)})` : '') +
          '.',
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report
const fx = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
const pctS = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`);
function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
function statusStr(st) {
  return (
    Object.entries(st ?? {})
      .sort()
      .map(([k, v]) => `${k === '0' ? 'conn-err' : k === '-1' ? 'timeout' : k}: ${v}`)
      .join(', ') || '–'
  );
}

export function writeReport(R, out, { history = true } = {}) {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = R.started.replace(/[:.]/g, '-');
  const svgs = [];
  const L = [];
  const m = R.machine;
  const anyInfo = Object.values(R.models)
    .map((x) => x.engineInfo)
    .find(Boolean);
  const limInfo = Object.values(R.models)
    .map((x) => x.limit?.info)
    .find(Boolean);
  L.push('# bert-serve benchmark results', '');
  L.push(
    `Generated by \`npm run bench${R.profile === 'default' ? '' : ` -- --${R.profile}`}\` (bench/run.js) on ${R.started}, ${R.elapsed_s} s. ` +
      'How to run and what each number means: [docs/benchmarks.md](../../docs/benchmarks.md). ' +
      'A benchmark reports; nothing here passes or fails on timings.',
    '',
  );
  L.push('## Machine', '');
  L.push(
    table(
      ['', ''],
      [
        ['CPU', `${m.cpu_model} (${m.cores} cores${m.simd.length ? `, ${m.simd.join('/')}` : ''})`],
        ['Memory', `${m.memory_gib} GiB`],
        ['OS / Node', `${m.os}, kernel ${m.kernel} / Node ${m.node}`],
        ['libtorch', anyInfo?.torchVersion ?? limInfo?.torch_version ?? '?'],
        ['BLAS', anyInfo?.blas ?? limInfo?.blas ?? '?'],
        ['Device / dtype', `${anyInfo?.device ?? 'cpu'} / ${anyInfo?.dtype ?? 'float32'}`],
        [
          'Threads',
          `engine: ${anyInfo?.workers ?? '?'} worker x ${anyInfo?.intraOpThreads ?? '?'} intra-op threads; engine_limit: ${limInfo?.threads ?? '?'} threads; OMP_WAIT_POLICY=${limInfo?.omp_wait_policy || 'PASSIVE'}`,
        ],
        ['Commit', `${m.commit ?? '?'}${m.dirty ? ' (with uncommitted changes)' : ''}`],
        [
          'CPU busy before / after the run',
          `${pctS(m.busy_before)} / ${pctS(m.busy_after)} (load average ${m.loadavg_before?.join(' ')} / ${m.loadavg_after?.join(' ')})`,
        ],
      ],
    ),
    '',
  );
  if (m.busy_before > 0.15)
    L.push(
      `**Warning:** other processes used ${pctS(m.busy_before)} of the CPU when the run started; these numbers are lower and noisier than on an idle machine.`,
      '',
    );
  L.push(
    'Load generator and server share the same cores (everything on 127.0.0.1), so client CPU is reported next to server CPU. ' +
      `Corpus: ${R.corpus?.size ?? '?'} deterministic fill-mask texts (${R.corpus?.generator ?? ''}); each model's length mix is its first N texts (N below). ` +
      `Binaries: addon ${m.addon ?? '?'}, engine_limit ${m.engineLimit ?? '?'}.`,
    '',
  );

  if (R.targets.length) {
    L.push('## Targets', '');
    L.push(
      table(
        ['Model', 'Target', 'Measured', 'Ratio / margin', 'Met'],
        R.targets.map((t) => [
          t.model,
          t.target,
          // A missed target says what bounds it, with numbers (set by the stage that measured it).
          t.bound ? `${t.measured}. **What bounds it:** ${t.bound}` : t.measured,
          t.ratio === undefined ? '' : `${t.ratio}${t.ratioLabel ? ` ${t.ratioLabel}` : 'x'}`,
          t.met ? 'yes' : '**no**',
        ]),
      ),
      '',
    );
  }
  if (R.stageErrors.length) {
    L.push('## Stage errors', '', ...R.stageErrors.map((e) => `- ${e.stage}: ${e.error}`), '');
  }
  L.push(...peerSection(R.peer), ...trainedSection(R.trained));

  for (const [name, M] of Object.entries(R.models)) {
    const info = M.engineInfo;
    L.push(`## Model \`${name}\` (${M.dir})`, '');
    if (info)
      L.push(
        `${info.architecture}, hidden ${info.hiddenSize}, vocab ${info.vocabSize}, head: ${info.headPath ?? ((info.maskedPositionsFastPath ?? info.maskedFastPath) ? 'fill_mask_logits' : 'full forward')}, load ${fx(info.loadMs, 0)} ms, warm-up ${fx(info.warmupMs, 0)} ms.`,
        '',
      );
    if (M.lengths)
      L.push(
        `Length mix (${M.lengths.mix_count} texts, tokens incl. [CLS]/[SEP]): mean ${fx(M.lengths.mix.mean)}, p50 ${M.lengths.mix.p50}, p90 ${M.lengths.mix.p90}, max ${M.lengths.mix.max}.`,
        '',
      );

    if (M.limit?.shapes?.length) {
      L.push(`### 1. Engine limit (bench/engine_limit.cc: libtorch only, ${M.limit.info?.method}, ${M.limit.info?.threads} threads)`, '');
      const eng = M.engine?.shapes ?? [];
      L.push(
        table(
          ['Batch', 'Seq', 'Median ms', 'Seq/s', 'Tokens/s', 'Engine (JS) seq/s', 'Engine / limit', 'Engine mean batch'],
          M.limit.shapes.map((s) => {
            const e = eng.find((x) => x.batch === s.batch && x.seq === s.seq);
            return [
              s.batch,
              s.seq,
              fx(s.median_ms, 2),
              fx(s.seq_per_s, 1),
              fx(s.tokens_per_s, 0),
              e ? fx(e.seq_per_s, 1) : '–',
              e ? fx(e.seq_per_s / s.seq_per_s, 2) : '–',
              e ? fx(e.mean_batch, 1) : '–',
            ];
          }),
        ),
        '',
      );
      const mx = M.limit.mix ?? {};
      const rows = [];
      for (const [k, label] of [
        [
          'cost',
          `batches as the scheduler's picker splits a full queue (cost model, overhead ${M.engineInfo?.batchOverheadTokens ?? '?'} tokens, window 256)`,
        ],
        ['sorted256', 'batches of <= 32 sorted by length within windows of 256, cut in order'],
        ['fifo', 'batches of 32 in arrival order'],
        ['unbatched', 'one sequence at a time'],
      ]) {
        if (mx[k])
          rows.push([
            `engine limit: ${label}`,
            fx(mx[k].seq_per_s, 1),
            fx(mx[k].tokens_per_s, 0),
            pctS(mx[k].padding_efficiency),
            fx(mx[k].sequences / mx[k].batches, 1),
          ]);
      }
      if (M.engine?.mix)
        rows.push([
          'engine from JS: all texts submitted at once',
          fx(M.engine.mix.seq_per_s, 1),
          fx(M.engine.mix.tokens_per_s, 0),
          pctS(M.engine.mix.padding_efficiency),
          fx(M.engine.mix.mean_batch, 1),
        ]);
      if (M.server?.saturation) {
        const best = M.server.closed.reduce((a, b) => (b.throughput > (a?.throughput ?? 0) ? b : a), null);
        rows.push([
          `HTTP server: closed loop, best of ${M.server.closed.map((c) => c.connections).join('/')} connections (${best?.connections})`,
          fx(M.server.saturation, 1),
          '–',
          pctS(best?.engine?.padding_efficiency),
          fx(best?.engine?.mean_batch, 1),
        ]);
      }
      if (rows.length) {
        L.push(`Same length mix (${M.mixCount} corpus texts):`, '');
        L.push(table(['Path', 'Seq/s', 'Tokens/s', 'Padding efficiency (real/padded)', 'Mean batch'], rows), '');
      }
    } else if (M.engine?.shapes?.length) {
      L.push('### 2. Engine from JavaScript', '');
      L.push(
        table(
          ['Batch', 'Seq', 'Median ms', 'Seq/s', 'Mean batch'],
          M.engine.shapes.map((s) => [s.batch, s.seq, fx(s.median_ms, 2), fx(s.seq_per_s, 1), fx(s.mean_batch, 1)]),
        ),
        '',
      );
    }

    const S = M.server;
    if (S) {
      L.push(
        `### 3. HTTP server (bin/bert-serve --model ${M.dir}, default flags otherwise; malloc: ${S.info?.malloc ?? '?'}; ready in ${fx(S.startupS, 1)} s)`,
        '',
      );
      if (S.closed.length) {
        L.push(
          'Closed loop (autocannon, each connection sends the next request when the previous answer arrives; latency of 200 answers, ms):',
          '',
        );
        L.push(
          table(
            [
              'Connections',
              'Req/s (200)',
              'p50',
              'p90',
              'p99',
              'p99.9',
              'Statuses',
              'Mean batch',
              'Padding eff.',
              'Server CPU',
              'Client CPU',
              'queue p50',
              'inference p50',
            ],
            S.closed.map((r) => [
              r.connections,
              fx(r.throughput, 1),
              fx(r.latency_ok.p50, 2),
              fx(r.latency_ok.p90, 2),
              fx(r.latency_ok.p99, 2),
              fx(r.latency_ok.p999, 2),
              statusStr(r.status) + (r.errors ? `, socket errors ${r.errors}` : ''),
              fx(r.engine.mean_batch, 1),
              pctS(r.engine.padding_efficiency),
              fx(r.server_cpu_cores, 2),
              fx(r.client_cpu_cores, 2),
              fx(r.server_timing_ms.queue.p50, 2),
              fx(r.server_timing_ms.inference.p50, 2),
            ]),
          ),
          '',
        );
        const svg = `${out}-${name}-throughput-vs-connections.svg`;
        svgs.push([
          svg,
          lineChart({
            title: `${name}: closed-loop throughput vs connections`,
            xLabel: 'connections',
            yLabel: 'requests/s (200)',
            series: [{ name: 'server', points: S.closed.map((r) => [r.connections, r.throughput]) }],
            hlines: bestLimitMix(M) ? [{ y: bestLimitMix(M).seq_per_s, label: 'engine limit (same mix)' }] : [],
            xTicks: S.closed.map((r) => r.connections),
            xLog: true,
          }),
        ]);
        L.push(`![throughput vs connections](${svg})`, '');
      }
      if (S.single.length) {
        L.push('Single connection, fixed text (the round trip of one request on an idle server), ms:', '');
        L.push(
          table(
            [
              'Tokens',
              'p50',
              'p90',
              'p99',
              'Engine limit batch 1',
              'p50 - limit',
              'tokenize p50',
              'queue p50',
              'inference p50',
              'server total p50',
            ],
            S.single.map((s) => {
              const lim = M.limit?.shapes?.find((x) => x.batch === 1 && x.seq === s.seq);
              return [
                s.tokens,
                fx(s.latency_ok.p50, 2),
                fx(s.latency_ok.p90, 2),
                fx(s.latency_ok.p99, 2),
                lim ? fx(lim.median_ms, 2) : '–',
                lim ? fx(s.latency_ok.p50 - lim.median_ms, 2) : '–',
                fx(s.server_timing_ms.tokenization.p50, 3),
                fx(s.server_timing_ms.queue.p50, 3),
                fx(s.server_timing_ms.inference.p50, 2),
                fx(s.server_timing_ms.total.p50, 2),
              ];
            }),
          ),
          '',
        );
      }
      if (S.open.length) {
        L.push(
          `Open loop (bench/loadgen.js: Poisson arrivals at the offered rate, latency of 200 answers from the scheduled send time, ms; knee bound p99 <= ${S.p99BoundMs} ms):`,
          '',
        );
        L.push(
          table(
            [
              'Offered/s',
              'Answered 200/s',
              'p50',
              'p90',
              'p99',
              'p99.9',
              'Statuses',
              'Mean batch',
              'Padding eff.',
              'Server CPU',
              'Client CPU',
              'Client send lag p99',
              'queue p50 / p99',
              'inference p50 / p99',
            ],
            S.open.map((r) => [
              r.offered,
              fx(r.ok_rate, 1),
              fx(r.latency_ok_from_schedule.p50, 2),
              fx(r.latency_ok_from_schedule.p90, 2),
              fx(r.latency_ok_from_schedule.p99, 2),
              fx(r.latency_ok_from_schedule.p999, 2),
              statusStr(r.status),
              fx(r.engine.mean_batch, 1),
              pctS(r.engine.padding_efficiency),
              fx(r.server_cpu_cores, 2),
              fx(r.client_cpu_cores, 2),
              fx(r.send_lag.p99, 2),
              `${fx(r.server_timing_ms.queue.p50, 2)} / ${fx(r.server_timing_ms.queue.p99, 2)}`,
              `${fx(r.server_timing_ms.inference.p50, 2)} / ${fx(r.server_timing_ms.inference.p99, 2)}`,
            ]),
          ),
          '',
        );
        L.push(
          S.knee?.offered
            ? `**Knee:** ${S.knee.offered} req/s offered (${fx(S.knee.ok_rate, 1)} answered/s) is the highest rate measured whose p99 stays under ${S.p99BoundMs} ms (p50 ${fx(S.knee.p50_ms, 2)} ms, p99 ${fx(S.knee.p99_ms, 2)} ms) with >= 95% of it answered 200.`
            : `**Knee:** no offered rate kept p99 under ${S.p99BoundMs} ms.`,
          '',
        );
        const svg = `${out}-${name}-latency-vs-load.svg`;
        svgs.push([
          svg,
          lineChart({
            title: `${name}: latency vs offered load (open loop)`,
            xLabel: 'offered requests/s',
            yLabel: 'latency ms',
            yLog: true,
            series: [
              { name: 'p50', points: S.open.map((r) => [r.offered, r.latency_ok_from_schedule.p50]) },
              { name: 'p99', points: S.open.map((r) => [r.offered, r.latency_ok_from_schedule.p99]) },
            ],
            hlines: [{ y: S.p99BoundMs, label: `p99 bound ${S.p99BoundMs} ms` }],
          }),
        ]);
        L.push(`![latency vs offered load](${svg})`, '');
      }
      const where = whereTimeGoes(M);
      if (where.length) L.push('Where the time goes:', '', ...where.map((w) => `- ${w}`), '');
      if (S.batching.length) {
        L.push('### 4. Batching', '');
        L.push(
          `Closed loop with ${S.batching[0].closed?.connections ?? '?'} connections, and open loop at ${S.batching[0].open.offered}/s (half the knee), each on a fresh server:`,
          '',
        );
        L.push(
          table(
            [
              'Configuration',
              'Closed: req/s',
              'Closed: p50 / p99 ms',
              'Mean batch',
              'Padding eff.',
              'Open: answered/s',
              'Open: p50 / p99 ms',
              'Open: mean batch',
              'Open: padding eff.',
              'Open: statuses',
            ],
            S.batching.map((b) => [
              b.config,
              fx(b.closed?.throughput, 1),
              `${fx(b.closed?.latency_ok.p50, 2)} / ${fx(b.closed?.latency_ok.p99, 2)}`,
              fx(b.closed?.engine.mean_batch, 1),
              pctS(b.closed?.engine.padding_efficiency),
              fx(b.open.ok_rate, 1),
              `${fx(b.open.latency_ok_from_schedule.p50, 2)} / ${fx(b.open.latency_ok_from_schedule.p99, 2)}`,
              fx(b.open.engine.mean_batch, 1),
              pctS(b.open.engine.padding_efficiency),
              statusStr(b.open.status),
            ]),
          ),
          '',
        );
      }
      if (S.overload.length) {
        const c = S.overloadConfig;
        L.push('### 5. Overload', '');
        L.push(
          `Server with \`--max-queue ${c.maxQueue} --request-timeout-ms ${c.deadlineMs}\`; offered load at multiples of the ${c.reference} (${c.referenceRate}/s). Latency from the moment each request was written, ms:`,
          '',
        );
        L.push(
          table(
            [
              'Load',
              'Offered/s',
              'Answered 200/s',
              'Refused (429/503)',
              'Statuses',
              'Refusal p50 / p99',
              'Accepted p50 / p99 / max',
              'Server CPU',
              'Client CPU',
              'Alive, /health',
            ],
            S.overload.map((o) => [
              `${o.factor}x`,
              o.offered,
              fx(o.ok_rate, 1),
              pctS(o.refused_fraction),
              statusStr(o.status),
              `${fx(o.latency_refused.p50, 2)} / ${fx(o.latency_refused.p99, 2)}`,
              `${fx(o.latency_ok.p50, 1)} / ${fx(o.latency_ok.p99, 1)} / ${fx(o.latency_ok.max, 1)}`,
              fx(o.server_cpu_cores, 2),
              fx(o.client_cpu_cores, 2),
              `${o.alive ? 'yes' : '**no**'}, ${o.health}`,
            ]),
          ),
          '',
        );
      }
    }
    L.push(...variantSection(M));
  }

  if (R.roundtrip) {
    const rt = R.roundtrip;
    L.push('## Round trip JS -> native -> JS', '');
    L.push(
      `Sequential calls (one in flight), ${rt.tokenize_us?.n ?? '?'} each, on ${rt.model}${rt.isTiny ? '' : ' (the tiny test model was not available)'}; text "${rt.text}" (${rt.tokens} tokens). Microseconds:`,
      '',
    );
    const lim = rt.limit ? rt.limit.median_ms * 1000 : null;
    L.push(
      table(
        ['Call', 'p50', 'p90', 'p99', 'mean'],
        [
          [
            'engine.tokenizeJson (prep thread + completion hop, no model)',
            fx(rt.tokenize_us?.p50, 0),
            fx(rt.tokenize_us?.p90, 0),
            fx(rt.tokenize_us?.p99, 0),
            fx(rt.tokenize_us?.mean, 0),
          ],
          [
            'engine.fillMaskJson (+ scheduler, model, top-k, JSON)',
            fx(rt.fill_mask_us?.p50, 0),
            fx(rt.fill_mask_us?.p90, 0),
            fx(rt.fill_mask_us?.p99, 0),
            fx(rt.fill_mask_us?.mean, 0),
          ],
          [
            'engine.fillMask (+ JSON.parse in JS)',
            fx(rt.fill_mask_parsed_us?.p50, 0),
            fx(rt.fill_mask_parsed_us?.p90, 0),
            fx(rt.fill_mask_parsed_us?.p99, 0),
            fx(rt.fill_mask_parsed_us?.mean, 0),
          ],
          ...(lim !== null
            ? [
                [`engine_limit, same model, batch 1 x ${rt.tokens} tokens (model compute only)`, fx(lim, 0), '', '', ''],
                ['fillMaskJson p50 - engine_limit (engine + N-API overhead)', fx(rt.fill_mask_us.p50 - lim, 0), '', '', ''],
              ]
            : []),
        ],
      ),
      '',
    );
  }

  L.push('## Notes', '');
  L.push(
    '- Engine limit: the model compute only (inputs prepared before the clock starts), median of repeats after warm-up. Ratios below 1 are the cost of everything else: tokenization, scheduling, padding, N-API, JSON.',
  );
  L.push(
    '- Closed-loop numbers are throughput at a given concurrency; their latencies hide queueing in the client (coordinated omission). Open-loop latencies are measured from the scheduled send time, so a slow server cannot slow the offered load down.',
  );
  L.push(
    '- "queue"/"inference"/"tokenize" are the server\'s own x-queue-time / x-inference-time / x-tokenization-time headers; client latency minus x-total-time is HTTP, loopback and client time.',
  );
  L.push('- Server CPU / client CPU: cores used on average during the run (2 = both cores of this machine).', '');

  const md = L.join('\n');
  const json = JSON.stringify(R, null, 2);
  writeFileSync(join(RESULTS, `${out}.md`), md);
  writeFileSync(join(RESULTS, `${out}.json`), json);
  for (const [file, svg] of svgs) writeFileSync(join(RESULTS, file), svg);
  if (history) writeFileSync(join(RESULTS, `${stamp}.json`), json);
}
