// The peer stage's report logic (bench/report_peer.js) on synthetic results: targets are decided on
// the median of the per-round ratios (each round times both runtimes seconds apart), not on each
// runtime's own median, which carries the machine's drift between rounds; and a missed target
// states what bounds it, with the numbers it follows from.
import t from 'tap';
import { join } from 'node:path';
import { root } from '../helpers/server.mjs';

const { peerRatios, peerTargets } = await import(join(root, 'bench', 'report_peer.js'));
const { summarize } = await import(join(root, 'bench', 'peer.js'));

const BERT_BASE = { layers: 12, hidden: 768, intermediate: 3072 };
const shape = (ms, batch = 1) => ({ median_ms: ms, seq_per_s: batch / (ms / 1000) });
const lone = (ms, inference) => ({ median_ms: ms, inference_ms: inference, total_ms: inference + 1, tokens: 16 });

// Three rounds whose speed drifts (round 2 runs everything at about half speed).
function result({ engine16 = [20, 50, 90], ort16 = [25, 40, 100], serverInfo = {}, engineInfo = {} } = {}) {
  const rounds = [0, 1, 2].map((i) => ({
    round: i + 1,
    ort: {
      '1x16': shape(ort16[i]),
      '1x128': shape(150 * (i + 1)),
      '32x128': shape(6000 * (i + 1), 32),
      mix: { pass_ms: 3000, seq_per_s: 20 },
    },
    engine: {
      '1x16': { ...shape(engine16[i]), inference_ms: engine16[i] - 1 },
      '1x128': shape(200 * (i + 1)),
      '32x128': shape(8000 * (i + 1), 32),
      mix: { pass_ms: 4000, seq_per_s: 15 },
    },
    engineInt8: { mix: { pass_ms: 2667, seq_per_s: 22.5 } },
    server: { '1x16': lone(engine16[i] + 10, engine16[i] - 0.5) },
    limit: { '1x16': shape(engine16[i] - 1), mix: { seq_per_s: 16 } },
    limitInt8: { mix: { seq_per_s: 25.6 } },
  }));
  const closed = (throughput) => ({ throughput, latency_ok: { p50: 1000 }, engine: { mean_batch: 8 } });
  const R = {
    dir: 'models/bench/embed',
    onnx: 'models/bench/embed-onnx/model.onnx',
    model: BERT_BASE,
    mixCount: 64,
    repeats: { '1x16': 8 },
    lengths: { mix: { mean: 30, p50: 21, max: 181 } },
    rounds,
    serverRounds: [
      { round: 1, fp32: closed(14), int8: closed(21) },
      { round: 2, fp32: closed(10), int8: closed(14) },
      { round: 3, fp32: closed(15), int8: closed(21) },
    ],
    ort: { info: { threads: 2 }, agreement: { texts: 3, max_abs_diff: 3e-6, min_cosine: 1, tolerance: 1e-3, equal: true } },
    engine: { info: { hiddenSize: 768, ...engineInfo } },
    limit: { info: {} },
    server: { info: serverInfo },
    variants: { int8: { engine: {}, limit: {} }, bf16: { skipped: 'no bf16 here' } },
  };
  return summarize(R);
}
const find = (targets, re) => targets.find((x) => re.test(x.target));

t.test('batch-1 latency is decided on the median per-round ratio, not on the two runtimes’ own medians', async (t) => {
  const R = result();
  // Each runtime's own median: 50 vs 40 ms (1.25x, missed); per round 0.8, 1.25, 0.9 (median 0.9: met).
  t.equal(R.engine.shapes.find((s) => s.batch === 1 && s.seq === 16).median_ms, 50);
  t.equal(R.ort.shapes.find((s) => s.batch === 1 && s.seq === 16).median_ms, 40);
  const x = peerRatios(R)['engine/ort 1x16'];
  t.same(x.values, [0.8, 1.25, 0.9]);
  t.equal(x.median, 0.9);
  const row = find(peerTargets(R), /engine batch-1 latency <= 0\.9x .*\(16 tokens\)/);
  t.equal(row.ratio, 0.9);
  t.equal(row.met, true);
  t.notOk(row.bound, 'a met target needs no bound');
  t.match(row.measured, /per-round median 0\.90x, range 0\.80-1\.25x over 3 rounds/);

  const worse = peerTargets(result({ engine16: [30, 50, 95] }));
  const missed = find(worse, /engine batch-1 latency <= 0\.9x .*\(16 tokens\)/);
  t.equal(missed.met, false);
  // 340 MB of weights (12 x (4 x 768^2 + 2 x 768 x 3072) x 4 bytes) in 50 vs 40 ms: 6.8 vs 8.5 GB/s.
  t.match(missed.bound, /340 MB of float32 linear weights/);
  t.match(missed.bound, /streams them at 6\.8 GB\/s .*ONNX Runtime 8\.5 GB\/s/);
});

t.test('the server row splits its margin into the engine’s forward and what the server adds', async (t) => {
  const R = result();
  const X = peerRatios(R);
  t.same(X['server-engine 1x16'].values, [10, 10, 10], 'the server adds 10 ms in every round');
  t.same(X['inference-engine 1x16'].values, [0.5, 0.5, 0.5]);
  const row = find(peerTargets(R), /server single-connection p50 .*16 tokens/);
  t.equal(row.met, false);
  t.equal(row.ratioLabel, 'ms over');
  t.equal(row.ratio, 5, 'per round 30-25, 60-40, 100-100 ms: median 5 ms over');
  // The engine from JS against ONNX Runtime per round: -5, 10, -10 ms (median -5).
  t.match(
    row.bound,
    /the 5\.00 ms over ONNX Runtime are the engine's forward, -5\.00 ms .*plus what the server adds to the engine from JS: 10\.00 ms/,
  );
});

t.test('the server row names a team-size difference when the two warm-up calibrations disagree', async (t) => {
  const plain = find(peerTargets(result()), /server single-connection p50 .*16 tokens/);
  t.match(plain.bound, /HTTP, the event loop, the hand-over/, 'no calibration recorded: the server’s own costs');
  const split = find(
    peerTargets(result({ serverInfo: { single_thread_max_tokens: 16 }, engineInfo: { singleThreadMaxTokens: 0 } })),
    /server single-connection p50 .*16 tokens/,
  );
  t.match(split.bound, /the server's batches of 16 tokens ran on one thread and the engine's on the whole team/);
  t.match(split.bound, /single_thread_max_tokens 16 in the server, 0 in the engine from JS/);
  t.notMatch(split.bound, /HTTP, the event loop/);
  const same = find(
    peerTargets(result({ serverInfo: { single_thread_max_tokens: 8 }, engineInfo: { singleThreadMaxTokens: 0 } })),
    /server single-connection p50 .*16 tokens/,
  );
  t.match(same.bound, /HTTP, the event loop/, 'both on the team at 16 tokens');
});

t.test('a missed throughput target states the GFLOP/s of the linear layers against ONNX Runtime’s', async (t) => {
  const row = find(peerTargets(result()), /throughput at 32 x 128 >= 1\.2x/);
  t.equal(row.met, false);
  t.equal(row.ratio, 0.75);
  // Medians 2 vs 2.67 seq/s x 128 tokens x 169.9 MFLOP: 43 against 58 GFLOP/s; 1.2x needs 70.
  t.match(row.bound, /run at 43 GFLOP\/s in bert-serve against 58 in ONNX Runtime at 32 x 128 \(170 MFLOP per token/);
  t.match(row.bound, /1\.2x needs 70 GFLOP\/s/);
  const mix = find(peerTargets(result()), /on the length mix >= 1\.2x/);
  t.equal(mix.ratio, 0.75);
  t.match(mix.bound, /on the length mix/);
});

t.test('int8: the server’s ratio is bounded by the engine’s own int8 / float32 ratio', async (t) => {
  const R = result();
  const row = find(peerTargets(R), /int8: server throughput/);
  t.equal(row.ratio, 1.4, 'per round 21/14, 14/10, 21/15: median 1.4');
  t.equal(row.met, false);
  t.match(row.bound, /engine from JS 1\.50x .*engine limit 1\.60x/);
  t.match(row.bound, /below 2x, so the server, which runs that engine, cannot reach 2x/);
});

t.test('a result without rounds (an older run) is still decided on its single ratios', async (t) => {
  const old = {
    dir: 'models/bench/embed',
    ort: {
      agreement: { texts: 3, max_abs_diff: 1e-6, min_cosine: 1, tolerance: 1e-3, equal: true },
      shapes: [{ batch: 1, seq: 16, median_ms: 40 }],
    },
    engine: { shapes: [{ batch: 1, seq: 16, median_ms: 35 }] },
  };
  const row = find(peerTargets(old), /engine batch-1 latency .*16 tokens/);
  t.equal(row.ratio, 0.875);
  t.equal(row.met, true);
  t.notMatch(row.measured, /per-round/);
});

t.test('bf16 (CPUs with native bf16): its targets against ONNX Runtime float32 are decided per round too', async (t) => {
  const R = result();
  for (const [i, r] of R.rounds.entries())
    r.engineBf16 = { '1x16': shape(r.ort['1x16'].median_ms * [0.4, 0.6, 0.45][i]), mix: { seq_per_s: 40 } };
  R.variants.bf16 = { engine: {} };
  R.serverRounds.forEach((r, i) => (r.bf16 = { throughput: r.fp32.throughput * [2.6, 2.4, 2.7][i] }));
  summarize(R);
  const row = find(peerTargets(R), /bf16: engine batch-1 latency <= 0\.5x .*\(16 tokens\)/);
  t.equal(row.ratio, 0.45, 'per round 0.4, 0.6, 0.45');
  t.equal(row.met, true);
  const server = find(peerTargets(R), /bf16: server throughput/);
  t.equal(server.ratio, 2.6);
  t.equal(server.met, true);
  t.equal(peerRatios(R)['bf16/fp32 engine mix'].median, 40 / 15);
});

t.test('missed bf16 engine targets state what bounds them', async (t) => {
  const R = result();
  for (const r of R.rounds)
    r.engineBf16 = {
      '1x16': shape(r.engine['1x16'].median_ms * 0.9),
      '32x128': shape(r.engine['32x128'].median_ms / 1.8, 32),
      mix: { seq_per_s: 20 },
    };
  R.variants.bf16 = { engine: {} };
  summarize(R);
  const tput = find(peerTargets(R), /bf16: engine throughput at 32 x 128/);
  t.equal(tput.met, false);
  // 1.8x the engine's float32, which is 0.75x ONNX Runtime's: 1.35x ONNX Runtime; 2.5x needs 2.5 / 0.75 = 3.33x.
  t.equal(tput.ratio, 1.35);
  t.match(tput.bound, /bf16 gives the engine 1\.80x its own float32 throughput .*would need 3\.33x/);
  const one = find(peerTargets(R), /bf16: engine batch-1 latency <= 0\.5x .*\(16 tokens\)/);
  t.equal(one.met, false);
  t.match(one.bound, /170 MB of bf16 linear weights/);
  t.match(one.bound, /against its own float32's .* 0\.90x/);
});
