// CUDA path: runs only where the addon was built against a CUDA libtorch and a GPU is visible;
// everywhere else it skips (the CPU build refuses device "cuda" with ERR_DEVICE_UNAVAILABLE, which
// test/integration/model-loading.test.mjs checks).
import t from 'tap';
import { Engine } from '../../dist/engine.js';
import { demoModel, maskCorpus, compareTopK } from '../integration/fixtures.mjs';

const probe = await Engine.load({ model: demoModel, device: 'cuda', warmup: false }).catch((e) => e);
if (probe instanceof Error) {
  t.equal(probe.code, 'ERR_DEVICE_UNAVAILABLE', 'without CUDA the device is refused cleanly');
  t.skip(`no CUDA device: ${probe.message}`);
} else {
  await probe.close();
  const cpu = await Engine.load({ model: demoModel });
  t.teardown(() => cpu.close());
  const texts = maskCorpus(100, 3, 100);
  const want = await Promise.all(texts.map((x) => cpu.fillMask(x, { topK: 5 })));
  for (const [dtype, tol] of [
    ['float32', 1e-4],
    ['float16', 2e-2],
    ['bfloat16', 5e-2],
  ]) {
    t.test(`cuda ${dtype} agrees with cpu float32`, async (t) => {
      const gpu = await Engine.load({ model: demoModel, device: 'cuda', dtype, workers: 2 });
      t.teardown(() => gpu.close());
      t.equal(gpu.info.device, 'cuda:0');
      const got = await Promise.all(texts.map((x) => gpu.fillMask(x, { topK: 5 })));
      let bad = 0;
      got.forEach((g, i) => {
        const a = Array.isArray(g[0]) ? g : [g],
          b = Array.isArray(want[i][0]) ? want[i] : [want[i]];
        a.forEach((preds, m) => {
          // half types: the best candidate must agree, scores within the dtype's tolerance
          const why = compareTopK(
            preds.slice(0, dtype === 'float32' ? 5 : 1).map((p) => ({ id: p.token, score: p.score })),
            b[m].slice(0, dtype === 'float32' ? 5 : 1).map((p) => ({ id: p.token, score: p.score })),
            tol,
          );
          if (why) bad++;
        });
      });
      t.ok(bad <= (dtype === 'float32' ? 0 : 3), `${bad} disagreements`);
    });
  }
}
