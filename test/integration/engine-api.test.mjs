// The Engine library API against the real addon and real TorchScript models: result shapes as the
// Hugging Face fill-mask pipeline, typed errors with the caller's stack, cancellation, deadlines,
// admission bound, thousands of concurrent promises, stats, and close().
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { Engine } from '../../dist/engine.js';
import { BertServeError } from '../../dist/errors.js';
import { Logger } from '../../dist/logger.js';
import { demoModel, testModel, root } from './fixtures.mjs';
import { until } from '../helpers/server.mjs';

const engine = await Engine.load({ model: demoModel });
t.teardown(() => engine.close());

t.test('info describes the model', async (t) => {
  t.equal(engine.info.task, 'fill-mask');
  t.equal(engine.info.device, 'cpu');
  t.equal(engine.info.dtype, 'float32');
  t.equal(engine.info.vocabSize, 30522);
  t.equal(engine.info.maskedPositionsFastPath, true, 'the exporter fast path is detected');
  t.match(engine.info.blas, /openblas/, `BLAS is OpenBLAS (${engine.info.blas})`);
  t.ok(
    engine.info.batchOverheadTokens >= 1 && engine.info.batchOverheadTokens <= 8192,
    `batch overhead measured at warm-up: ${engine.info.batchOverheadTokens} tokens`,
  );
});

t.test('batchOverheadTokens: a given value is used as is; invalid values are refused', async (t) => {
  const e = await Engine.load({ model: testModel('tiny'), batchOverheadTokens: 777 });
  t.equal(e.info.batchOverheadTokens, 777);
  await e.close();
  const cold = await Engine.load({ model: testModel('tiny'), warmup: false });
  t.equal(cold.info.batchOverheadTokens, 64, 'without warm-up nothing is timed: the default is used');
  await cold.close();
  await t.rejects(Engine.load({ model: testModel('tiny'), batchOverheadTokens: -1 }), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(Engine.load({ model: testModel('tiny'), batchOverheadTokens: 1.5 }), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('single mask: top 5 {score, token, token_str, sequence}, scores descending', async (t) => {
  const out = await engine.fillMask('The capital of France is [MASK].');
  t.equal(out.length, 5);
  for (const p of out) {
    t.same(Object.keys(p), ['score', 'token', 'token_str', 'sequence']);
    t.type(p.score, 'number');
    t.ok(Number.isInteger(p.token));
    t.equal(p.token_str, engine.tokenizer.decode([p.token]));
    t.equal(
      p.sequence,
      engine.tokenizer.decode(
        engine.tokenizer.encode('The capital of France is [MASK].').ids.map((id) => (id === 103 ? p.token : id)),
        { skipSpecialTokens: true },
      ),
    );
    t.notMatch(p.sequence, /\[CLS\]|\[SEP\]|\[MASK\]/, 'single-mask sequences skip special tokens');
  }
  for (let i = 1; i < out.length; i++) t.ok(out[i - 1].score >= out[i].score, 'descending');
});

t.test('several masks: one list per mask, other masks kept in the sequence', async (t) => {
  const out = await engine.fillMask('[MASK] is the [MASK] of music.');
  t.equal(out.length, 2);
  t.equal(out[0].length, 5);
  t.match(out[0][0].sequence, /^\[CLS\] .* \[MASK\] .*\[SEP\]$/, 'as the pipeline: specials kept with several masks');
});

t.test('list input, topK and targets', async (t) => {
  const list = await engine.fillMask(['a [MASK] b', 'c d [MASK]'], { topK: 3 });
  t.equal(list.length, 2);
  t.equal(list[0].length, 3);
  const one = await engine.fillMask(['only [MASK] here']);
  t.equal(one.length, 5, 'a list of one text answers like the text alone (as Hugging Face)');
  t.type(one[0].score, 'number');
  const targeted = await engine.fillMask('the [MASK] sat.', { targets: ['cat', 'dog', 'Paris'] });
  t.equal(targeted.length, 3, 'top_k is capped at the number of targets');
  t.same(
    new Set(targeted.map((p) => p.token_str)),
    new Set(['cat', 'dog', 'paris']),
    'a target outside the vocabulary maps to its first token',
  );
  const json = await engine.fillMaskJson('the [MASK] sat.', { topK: 2 });
  t.ok(Buffer.isBuffer(json.body));
  t.same(JSON.parse(json.body), await engine.fillMask('the [MASK] sat.', { topK: 2 }), 'JSON bytes equal the parsed answer');
  t.ok(json.timings.inferenceUs > 0, 'timings are reported');
});

t.test('typed errors with stable codes and the caller stack', async (t) => {
  const noMask = await engine.fillMask('no mask here').catch((e) => e);
  t.ok(noMask instanceof BertServeError);
  t.equal(noMask.code, 'ERR_NO_MASK_TOKEN');
  t.match(noMask.stack, /engine-api\.test\.mjs/, 'stack points at the caller');
  const bad = await engine.fillMask('x [MASK]', { topK: 0 }).catch((e) => e);
  t.equal(bad.code, 'ERR_INVALID_ARGUMENT');
  t.match(bad.message, /topK/);
  const notText = await engine.fillMask(42).catch((e) => e);
  t.equal(notText.code, 'ERR_INVALID_ARGUMENT');
  const tooLong = await engine.fillMask('word '.repeat(600) + '[MASK]').catch((e) => e);
  t.equal(tooLong.code, 'ERR_INPUT_TOO_LONG');
  t.match(tooLong.message, /limit is 512/);
  const badTargets = await engine.fillMask('x [MASK]', { targets: [] }).catch((e) => e);
  t.equal(badTargets.code, 'ERR_INVALID_ARGUMENT');
});

t.test('truncation when configured', async (t) => {
  const e = await Engine.load({ model: testModel('tiny'), maxTokens: 16, truncate: true, warmup: false });
  t.teardown(() => e.close());
  const out = await e.fillMask('[MASK] ' + 'word '.repeat(100));
  t.equal(out.length, 5, 'answered after truncation');
  const lost = await e.fillMask('word '.repeat(100) + '[MASK]').catch((err) => err);
  t.equal(lost.code, 'ERR_NO_MASK_TOKEN', 'a mask cut off by truncation is reported');
  const toks = await e.tokenize('word '.repeat(100));
  t.equal(toks.length, 16);
  t.equal(toks[15].text, '[SEP]');
});

t.test('tokenize on the engine threads: TEI shape', async (t) => {
  const toks = await engine.tokenize('Hello [MASK] world!');
  t.same(
    toks.map((x) => x.text),
    ['[CLS]', 'Hello', '[MASK]', 'world', '!', '[SEP]'],
  );
  t.same(toks[1], { id: 7592, text: 'Hello', special: false, start: 0, stop: 5 });
  t.same(toks[0], { id: 101, text: '[CLS]', special: true, start: null, stop: null });
  const bare = await engine.tokenize('Hello', { addSpecialTokens: false });
  t.same(
    bare.map((x) => x.id),
    [7592],
  );
});

t.test('thousands of concurrent promises all resolve, exactly once', async (t) => {
  const e = await Engine.load({ model: testModel('tiny'), maxQueue: 10000 });
  t.teardown(() => e.close());
  const n = 3000;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => e.fillMask(`item ${i} is [MASK]`, { topK: 1 })));
  t.equal(results.length, n);
  t.ok(results.every((r) => r.length === 1));
  const s = e.stats();
  t.equal(s.requestsRun, n, 'every request ran once');
  t.ok(s.meanBatchSize > 4, `batched (mean batch ${s.meanBatchSize.toFixed(1)})`);
  t.ok(s.paddedTokens >= s.realTokens && s.realTokens > 0, 'padding stats');
  t.equal(e.pending, 0);
});

t.test('admission bound: ERR_QUEUE_FULL at once past maxQueue', async (t) => {
  const e = await Engine.load({ model: testModel('slow'), maxQueue: 2, warmup: false });
  t.teardown(() => e.close());
  const a = e.fillMask('a [MASK]'),
    b = e.fillMask('b [MASK]');
  const c = await e.fillMask('c [MASK]').catch((err) => err);
  t.equal(c.code, 'ERR_QUEUE_FULL');
  await Promise.all([a, b]);
  t.ok(await e.fillMask('d [MASK]'), 'accepted again once the queue drained');
});

t.test('cancel and deadline: dropped before they reach the model', async (t) => {
  const e = await Engine.load({ model: testModel('slow'), warmup: false });
  t.teardown(() => e.close());
  // The slow model holds the only worker (~200 ms per call): wait until `first` runs.
  const first = e.fillMask('busy [MASK]');
  await until(() => e.stats().inFlight >= 1, { what: 'the first request to run' });
  const ac = new AbortController();
  const cancelled = e.fillMask('cancel [MASK]', { signal: ac.signal }).catch((err) => err);
  // Rejected at its deadline by the engine's timer, whatever the scheduler does meanwhile.
  let expiredSettled = false;
  const expired = e
    .fillMask('late [MASK]', { timeoutMs: 10 })
    .catch((err) => err)
    .finally(() => (expiredSettled = true));
  // Both must be in the native queue before the abort, so that the scheduler (not the JS side)
  // drops them; the expired one may already have been dropped by then, by the scheduler (counted)
  // or, on a loaded machine, by the prep thread before it reached the queue (not counted, below).
  await until(
    () => {
      const s = e.stats();
      return s.queueDepth + s.droppedExpired >= 2 || (expiredSettled && s.queueDepth >= 1);
    },
    { what: 'both queued natively (or the expired one failed before the queue)' },
  );
  ac.abort();
  const [c, x] = await Promise.all([cancelled, expired]);
  t.equal(c.code, 'ERR_CANCELLED');
  t.equal(x.code, 'ERR_DEADLINE_EXCEEDED');
  await first;
  await until(
    () => {
      const s = e.stats();
      return s.droppedCancelled === 1 && s.queueDepth === 0;
    },
    { what: 'the cancelled one dropped' },
  );
  const s = e.stats();
  t.equal(s.requestsRun, 1, 'only the first request ran');
  t.equal(s.droppedCancelled, 1, 'the cancelled one was dropped by the scheduler');
  // On a loaded machine the prep thread may reach the expired one after its 10 ms and fail it there
  // (engine.cc), before the scheduler sees it: dropped either way, counted only by the scheduler.
  t.ok(s.droppedExpired <= 1, 'the expired one was dropped before the model');
});

t.test('close: drains, rejects later calls; a script exits on its own', async (t) => {
  const e = await Engine.load({ model: testModel('tiny'), warmup: false });
  const pending = Array.from({ length: 20 }, (_, i) => e.fillMask(`x ${i} [MASK]`));
  await e.close();
  t.equal((await Promise.allSettled(pending)).filter((r) => r.status === 'fulfilled').length, 20, 'drained');
  const after = await e.fillMask('y [MASK]').catch((err) => err);
  t.equal(after.code, 'ERR_CLOSED');
  // A process that loads, answers and closes exits by itself (no open handles, threads joined);
  // one that closes during load too.
  const script = `
    import { Engine } from ${JSON.stringify(root + '/dist/engine.js')};
    const e = await Engine.load({ model: ${JSON.stringify(testModel('tiny'))} });
    console.log((await e.fillMask('hello [MASK]')).length);
    await e.close();
    const p = Engine.load({ model: ${JSON.stringify(demoModel)} });
    console.log('loading');
  `;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  t.equal(res.status, 0, `exits 0 by itself: ${res.stderr}`);
  t.match(res.stdout, /^5\nloading/);
});

t.test("native messages reach the engine's JS logger as JSON lines (level, msg, fields)", async (t) => {
  const lines = [];
  const logger = new Logger({ format: 'json', level: 'debug', write: (l) => lines.push(JSON.parse(l)) });
  const e = await Engine.load({ model: testModel('failing'), warmup: false, logger });
  t.teardown(() => e.close());
  const err = await e.fillMask('please explode [MASK]').catch((x) => x);
  t.equal(err.code, 'ERR_INFERENCE_FAILED');
  await until(() => lines.some((l) => l.source === 'engine' && l.level === 'error'), { what: 'the native error record' });
  const rec = lines.find((l) => l.source === 'engine' && l.level === 'error');
  t.match(rec, { msg: /fails the model|a batch failed/, error: /explode/ }, 'the detail is in the log (never in the answer)');
  t.type(rec.time, 'string');
  t.notMatch(err.message, /explode/, 'the answer has no internals');
});

t.test('the native load takes complete options only: a missing one is refused by name', async (t) => {
  const { loadBinding } = await import('../../dist/native/binding.js');
  const { resolveEngineOptions, toNativeOptions } = await import('../../dist/engine_options.js');
  const b = loadBinding();
  t.throws(() => new b.Engine(() => {}), { code: 'ERR_INVALID_ARGUMENT' }, 'no log function');
  const n = new b.Engine(
    () => {},
    () => {},
  );
  const { maxBatchRequests: _, ...partial } = toNativeOptions(resolveEngineOptions({ model: testModel('tiny') }));
  t.throws(() => n.load(partial), { code: 'ERR_INVALID_ARGUMENT', message: /"maxBatchRequests" must be a number/ });
  await n.close(true);
});

t.test('close during load is safe', async (t) => {
  const script = `
    import { loadBinding } from ${JSON.stringify(root + '/dist/native/binding.js')};
    import { resolveEngineOptions, toNativeOptions } from ${JSON.stringify(root + '/dist/engine_options.js')};
    const b = loadBinding();
    const n = new b.Engine(() => {}, () => {});
    const loading = n.load(toNativeOptions(resolveEngineOptions({ model: ${JSON.stringify(demoModel)} })));
    const closed = n.close(true);
    const r = await loading.then(() => 'loaded', (e) => e.code);
    await closed;
    console.log(r);
  `;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  t.equal(res.status, 0, res.stderr);
  t.equal(res.stdout.trim(), 'ERR_CLOSED');
});
