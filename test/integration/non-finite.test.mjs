// Through the library: a batch holding texts whose output is NaN or Inf (the nonfinite-* fixtures)
// answers the others exactly as the same weights without the poison do (the classify, embed, ner
// and tiny fixtures), and fails only the poisoned ones, with ERR_NON_FINITE_OUTPUT and a message
// that names the model and what was not finite; the engine counts them.
import t from 'tap';
import { Engine } from '../../dist/engine.js';
import { testModel } from './fixtures.mjs';

const CASES = [
  ['nonfinite-classify', 'classify', (e, x) => e.classify(x, { topK: null })],
  ['nonfinite-embed', 'embed', (e, x) => e.embed(x)],
  ['nonfinite-ner', 'ner', (e, x) => e.tokenClassify(x, { ignoreLabels: [] })],
  ['nonfinite-mlm', 'tiny', (e, x) => e.fillMask(`${x} [MASK]`)],
];
// Numbers within 1e-5 (a row's answer moves by float rounding with its batch-mates), the rest equal.
function close(a, b) {
  if (ArrayBuffer.isView(a)) return close(Array.from(a), Array.from(b));
  if (typeof a === 'number') return typeof b === 'number' && Math.abs(a - b) <= 1e-5;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => close(x, b[i]));
  if (a && typeof a === 'object')
    return b && typeof b === 'object' && Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => close(a[k], b[k]));
  return a === b;
}
const TEXTS = ['a small house', 'nan is not a number', 'the river bank', 'to infinity and beyond', 'paris in spring'];

for (const [poisoned, plain, call] of CASES) {
  t.test(`${poisoned}: one batch, the poisoned texts fail alone`, async (t) => {
    const [e, ref] = await Promise.all([
      Engine.load({ model: testModel(poisoned), warmup: false, maxBatchDelayMs: 50 }),
      Engine.load({ model: testModel(plain), warmup: false }),
    ]);
    t.teardown(() => Promise.all([e.close(), ref.close()]));
    const before = e.stats();
    const got = await Promise.allSettled(TEXTS.map((x) => call(e, x)));
    const after = e.stats();
    t.equal(after.batchesRun - before.batchesRun, 1, 'all five in one batch');
    t.equal(after.nonFiniteOutputs - before.nonFiniteOutputs, 2, 'two non-finite outputs counted');
    for (const [i, x] of TEXTS.entries()) {
      if (/nan|infinity/.test(x)) {
        t.equal(got[i].status, 'rejected', `"${x}" fails`);
        t.equal(got[i].reason?.code, 'ERR_NON_FINITE_OUTPUT');
        t.match(got[i].reason?.message, new RegExp(`^model ${poisoned} produced a non-finite value \\((NaN|\\+Inf) at \\d+\\) in `));
      } else {
        t.equal(got[i].status, 'fulfilled', `"${x}" is answered`);
        const want = await call(ref, x);
        t.ok(close(got[i].value, want), `"${x}": the plain model's answer`);
      }
    }
  });
}
