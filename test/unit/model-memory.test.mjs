// --max-memory's arithmetic (src/server/model_memory.ts): the estimate from a model directory's
// model.pt, and the refusal naming every size. The HTTP and start-up refusals, with real models:
// test/e2e/http-model-control.test.mjs.
import t from 'tap';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_BYTES, FILE_FACTOR, estimateModelBytes, overMemory } from '../../dist/server/model_memory.js';

const MiB = 2 ** 20;

t.test('the estimate: model.pt x FILE_FACTOR + BASE_BYTES; 0 without model.pt', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bert-serve-mem-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(estimateModelBytes(dir), 0, 'no model.pt: the load itself will say why');
  writeFileSync(join(dir, 'model.pt'), '');
  truncateSync(join(dir, 'model.pt'), 400 * MiB);
  t.equal(estimateModelBytes(dir), Math.round(400 * MiB * FILE_FACTOR + BASE_BYTES));
});

t.test('overMemory: within the limit, at it, over it (naming the sizes), no limit', async (t) => {
  const held = new Map([
    ['embed', 300 * MiB],
    ['ner', 200 * MiB],
  ]);
  t.equal(overMemory(0, 'x', 2 ** 50, held), undefined, '0: no limit');
  t.equal(overMemory(1000 * MiB, 'x', 500 * MiB, held), undefined, 'exactly at the limit fits');
  t.equal(
    overMemory(1000 * MiB, 'x', 500 * MiB + 1, held),
    'loading "x" (estimated 500.0 MiB from its model.pt) would take the models\' memory to 1000.0 MiB, over --max-memory 1000.0 MiB ' +
      `(${1000 * MiB} bytes); held now: 500.0 MiB (embed 300.0 MiB, ner 200.0 MiB)`,
  );
  t.match(overMemory(MiB, 'first', 2 * MiB, new Map()), /held now: nothing$/);
});
