// The trained fixture (test/data/trained, scripts/make_trained_models.py) is a real model: exported
// like any checkpoint, it answers held-out masked words far better than chance with peaked answers,
// and its int8 export keeps most of them. A handful of the texts the long tier runs in full
// (test/long/trained-precision.test.mjs, which also covers bf16 and the other two models).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../dist/engine.js';
import { python, root } from './fixtures.mjs';

const training = JSON.parse(readFileSync(join(root, 'test/data/trained/training.json'), 'utf8'));
const heldout = readFileSync(join(root, 'test/data/trained/mlm/heldout-fill-mask.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).slice(0, 40);

t.test('the training record describes a trained model', async (t) => {
  t.ok(training.corpus.training_tokens > 100_000, `${training.corpus.training_tokens} training tokens`);
  t.ok(training.mlm_held_out.top1_accuracy > 0.2, `held-out top-1 accuracy ${training.mlm_held_out.top1_accuracy}`);
  t.ok(training.classifier.held_out.accuracy > 0.6, `classifier held-out accuracy ${training.classifier.held_out.accuracy}`);
});

t.test('exported, it answers held-out words, and its int8 export mostly agrees', async (t) => {
  const r = spawnSync(python, [join(root, 'scripts', 'export_trained_models.py'), join(root, 'models', 'trained'), '--only', 'mlm'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr.slice(-2000));
  const run = async (dir) => {
    const e = await Engine.load({ model: join(root, 'models', 'trained', dir) });
    try { return await Promise.all(heldout.map((x) => e.fillMask(x.text, { topK: 5 }))); } finally { await e.close(); }
  };
  const fp32 = await run('mlm');
  const int8 = await run('mlm-int8');
  const right = fp32.filter((a, i) => a[0].token_str === heldout[i].word).length;
  t.ok(right / heldout.length > 0.15, `float32 right on ${right} of ${heldout.length} held-out masked words`);
  const peaked = fp32.filter((a) => a[0].score - a[1].score > 0.05).length;
  t.ok(peaked / heldout.length > 0.5, `${peaked} of ${heldout.length} answers lead by more than 0.05`);
  const agree = int8.filter((a, i) => a[0].token === fp32[i][0].token).length;
  t.ok(agree / heldout.length >= 0.85, `int8 top-1 agrees with float32 on ${agree} of ${heldout.length}`);
});
