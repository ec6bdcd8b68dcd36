// Models nobody wrote by hand: 300 random BERT models (scripts/make_generated_models.py: random
// architecture, layers, hidden size, heads, intermediate size, vocabulary size, max positions,
// activation, labels, trace signature, encoder parameter order, output kind, stored dtype), built
// in one Python process and loaded through the real Engine here, each answered as the eager
// reference answers or refused at load when its trace cannot be read (inputs named x, y in an
// unusual order). Prints what it covered.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { python, root } from '../integration/fixtures.mjs';
import { checkCase } from '../helpers/model-cases.mjs';

const COUNT = Number(process.env.BERT_SERVE_GENERATED_COUNT ?? 300);
const SEED = 1000;
t.setTimeout(1_800_000);
const dir = mkdtempSync(join(tmpdir(), 'bert-serve-generated-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const made = spawnSync(python, [join(root, 'scripts', 'make_generated_models.py'), dir, '--count', String(COUNT), '--seed', String(SEED)], {
  encoding: 'utf8',
  timeout: 1_200_000,
});
if (made.status !== 0) throw new Error(`make_generated_models failed (${made.status}): ${made.stderr}`);
console.log(`# ${made.stdout.trim()}`);
const specs = JSON.parse(readFileSync(join(dir, 'generated.json'), 'utf8'));

const tally = { served: 0, refused: 0, unexpected: 0 };
const failures = [];
for (const [name, spec] of Object.entries(specs)) {
  const r = await checkCase(join(dir, name));
  tally[r.outcome]++;
  if (r.problems.length || r.outcome === 'unexpected')
    failures.push(`${name} (${JSON.stringify(spec)}): ${r.problems.slice(0, 3).join('; ')}`);
}
t.same(failures, [], `${COUNT} generated models`);
t.equal(tally.unexpected, 0);
console.log(`# generated: ${COUNT} models: ${tally.served} served as the reference, ${tally.refused} refused at load as expected`);
