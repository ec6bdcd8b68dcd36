// The zoo's quick handful (the whole zoo runs in test/long/zoo.test.mjs): models saved the ways
// users save them (scripts/make_zoo.py), each answered as the eager reference answers or refused at
// load with what to do. Among them the trace from issue 20: a BertForMaskedLM whose traced `bert`
// is forward(attention_mask, input_ids), which once answered [PAD]/[unusedN] with null scores.
// Also: the table in docs/models.md lists every zoo case with the outcome its spec expects.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './fixtures.mjs';
import { checkCase, readCase } from '../helpers/model-cases.mjs';

const zoo = join(root, 'models', 'zoo');
const QUICK = [
  'issue-mlm-mask-first',
  'mlm-trace-no-types',
  'cls-trace-types-first',
  'ner-trace-reordered-inputs',
  'model-trace-unnamed-swapped',
  'st-cls-dense-normalize',
  'mlm-script',
  'model-export-float16',
  'ner-trace-bfloat16',
];

for (const name of QUICK) {
  t.test(name, async (t) => {
    const r = await checkCase(join(zoo, name));
    const spec = readCase(join(zoo, name)).spec;
    t.equal(r.outcome, spec.expect === 'ok' ? 'served' : 'refused', r.problems.join('; '));
    t.same(r.problems, [], 'answers equal to the reference (or the expected refusal)');
    if (name === 'issue-mlm-mask-first') {
      t.equal(r.info.taskInfo.head_path, 'encoder_then_head', 'the mask-row path is kept, with mapped arguments');
      t.equal(r.info.forwardSignature, 'forward(input_ids, attention_mask)');
    }
  });
}

t.test('docs/models.md lists every zoo case with its expected outcome', async (t) => {
  const index = JSON.parse(readFileSync(join(zoo, 'zoo.json'), 'utf8'));
  const doc = readFileSync(join(root, 'docs', 'models.md'), 'utf8');
  const rows = new Map();
  for (const line of doc.split('\n')) {
    const m = /^\| `([a-z0-9-]+)` \|(.*)\|\s*$/.exec(line);
    if (m) rows.set(m[1], m[2]);
  }
  for (const [name, c] of Object.entries(index)) {
    t.ok(rows.has(name), `${name} is in the table`);
    const outcome = c.expect === 'ok' ? (c.head_path ? `served (${c.head_path})` : 'served') : 'refused at load';
    t.ok(rows.get(name)?.includes(outcome), `${name}: "${outcome}"`);
  }
  t.equal(rows.size, Object.keys(index).length, 'and nothing else');
});
