// Several real models in one program on one shared thread budget (src/thread_budget.ts): an
// embedding model, a NER model and a classifier loaded with the same ThreadBudget answer concurrent
// requests exactly as they answer one at a time, every batch leases its threads from the budget,
// and no more threads than the budget holds are ever leased at once; the lease split is an option of
// the budget; bad budgets are refused.
import t from 'tap';
import { Engine, ThreadBudget } from '../../dist/index.js';
import { testModel } from './fixtures.mjs';

const budget = new ThreadBudget(1);
// Two intra-op threads each, on a budget of one: every lease is cut to the budget.
const load = (name) => Engine.load({ model: testModel(name), threadBudget: budget, intraOpThreads: 2 });
const embed = await load('embed');
const ner = await load('ner');
const classify = await load('classify');
t.teardown(() => Promise.all([embed.close(), ner.close(), classify.close()]));

const TEXTS = Array.from({ length: 12 }, (_, i) => `sentence ${i} about Berlin and ${'word '.repeat(i % 5)}Angela Merkel`);

t.test('the engines report the shared budget', async (t) => {
  t.equal(budget.threads, 1);
  for (const e of [embed, ner, classify]) {
    t.equal(e.info.threadBudget, 1);
    t.equal(e.threadBudget, budget);
  }
});

t.test('concurrent requests on three models: the answers of one at a time, within the budget', async (t) => {
  const one = [];
  for (const text of TEXTS) one.push([await embed.embed(text), await ner.tokenClassify(text), await classify.classify(text)]);
  const before = budget.stats();
  t.ok(before.leases >= TEXTS.length * 3, `one lease per batch at least (${before.leases})`);
  const all = await Promise.all(TEXTS.map((text) => Promise.all([embed.embed(text), ner.tokenClassify(text), classify.classify(text)])));
  for (let i = 0; i < TEXTS.length; i++) {
    const [v, entities, labels] = all[i];
    t.ok(
      v.every((x, j) => Math.abs(x - one[i][0][j]) < 1e-5),
      `embedding ${i}`,
    );
    t.same(
      entities.map((e) => [e.entity_group ?? e.entity, e.start, e.end]),
      one[i][1].map((e) => [e.entity_group ?? e.entity, e.start, e.end]),
      `entities ${i}`,
    );
    t.same(
      labels.map((l) => l.label),
      one[i][2].map((l) => l.label),
      `labels ${i}`,
    );
  }
  const after = budget.stats();
  t.ok(after.leases > before.leases, 'the concurrent batches leased from the budget');
  t.equal(after.peakInUse, 1, 'never more threads leased at once than the budget holds');
  t.equal(after.inUse, 0, 'every lease given back');
});

t.test('the lease split is an option of the budget (docs/batching.md)', async (t) => {
  const split = new ThreadBudget(2, { split: true });
  t.equal(split.stats().split, true);
  t.equal(split.stats().givenUp, 0, 'no thread given up before any lease');
  t.equal(budget.stats().split, true, 'on by default');
  t.equal(new ThreadBudget(2, { split: false }).stats().split, false, 'off when asked');
  t.throws(() => new ThreadBudget(2, { split: 'yes' }), { code: 'ERR_INVALID_ARGUMENT', message: /options\.split/ });
});

t.test('bad budgets are refused', async (t) => {
  t.throws(() => new ThreadBudget(0), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => new ThreadBudget(1.5), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(Engine.load({ model: testModel('embed'), threadBudget: { threads: 2 } }), {
    code: 'ERR_INVALID_ARGUMENT',
    message: /threadBudget/,
  });
  const alone = await Engine.load({ model: testModel('embed'), warmup: false });
  t.teardown(() => alone.close());
  t.equal(alone.info.threadBudget, 0, 'no budget: its threads are its own');
  t.equal(alone.threadBudget, undefined);
});
