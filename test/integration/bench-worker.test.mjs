// The peer bench's runtime worker (bench/lib/worker.js) around the real engine (bench/engine_stage.js
// with `serve`, on the tiny embedding model): it stays loaded, answers one timing per request with
// exactly the repeats asked (the engine's own request counters say so), answers a bad request with
// an error and keeps serving, and exits when its stdin closes.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBuilt, root, testModel } from '../helpers/server.mjs';

const { startWorker } = await import(join(root, 'bench', 'lib', 'worker.js'));
const model = testModel('embed');
requireBuilt(model);

t.test('engine_stage serve: timings on request, errors answered, closed by stdin', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-worker-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const corpus = join(tmp, 'corpus.txt');
  writeFileSync(corpus, ['the [MASK] sat on the mat', 'a short one', 'paris is the [MASK] of france, they say', 'x'].join('\n') + '\n');
  const cfg = { model, corpus, mixCount: 3, batches: [2], seqs: [16], serve: true, engineOptions: { intraOpThreads: 1 } };
  const w = await startWorker(process.execPath, [join(root, 'bench', 'engine_stage.js'), JSON.stringify(cfg)], {
    cwd: root,
    label: 'engine_stage',
    timeoutMs: 60_000,
  });
  let closed = false;
  t.teardown(() => (closed ? undefined : w.close()));
  const types = w.lines.map((l) => l.type);
  t.same(types, ['info', 'lengths', 'texts'], 'what it printed while loading: no timings before it is asked');
  t.equal(w.lines[1].mix_count, 3);
  t.equal(w.lines[2].texts[16].tokens, 16, 'a text of exactly 16 tokens');

  const one = await w.request({ op: 'shape', batch: 1, seq: 16, repeats: 3 });
  t.equal(one.type, 'result');
  t.equal(one.ms.length, 3, 'exactly the repeats asked');
  t.equal(one.requests, 3, 'the engine ran three requests');
  t.equal(one.median_ms, [...one.ms].sort((a, b) => a - b)[1]);
  t.ok(one.inference_ms > 0, "the engine's own inference time is kept (the server's x-inference-time)");

  const two = await w.request({ op: 'shape', batch: 2, seq: 16, repeats: 2 });
  t.equal(two.requests, 4);
  t.same(two.tokens, [16, 16]);

  const mix = await w.request({ op: 'mix', repeats: 1 });
  t.equal(mix.sequences, 3);
  t.equal(mix.requests, 3, 'one pass over the mix: each of its texts once');

  await t.rejects(w.request({ op: 'nonsense' }), /engine_stage nonsense: unknown op "nonsense"/);
  await t.rejects(w.request({ op: 'shape', batch: 1, seq: 99, repeats: 1 }), /engine_stage shape: /, 'a shape it has no texts for');
  const again = await w.request({ op: 'shape', batch: 1, seq: 16, repeats: 1 });
  t.equal(again.requests, 1, 'still serving after the errors');

  await w.close();
  closed = true;
  await t.rejects(w.request({ op: 'mix', repeats: 1 }), /exited/, 'a closed worker says so');
});
