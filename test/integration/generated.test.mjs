// A handful of generated models (the long tier runs 300: test/long/generated.test.mjs): random
// shapes and trace orders built by scripts/make_generated_models.py in one Python process, each
// answered through the real Engine as the eager reference answers (or refused when its inputs
// cannot be read).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { python, root } from './fixtures.mjs';
import { checkCase } from '../helpers/model-cases.mjs';

const dir = mkdtempSync(join(tmpdir(), 'bert-serve-generated-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const made = spawnSync(python, [join(root, 'scripts', 'make_generated_models.py'), dir, '--count', '6', '--seed', '7'], {
  encoding: 'utf8',
  timeout: 300_000,
});
if (made.status !== 0) throw new Error(`make_generated_models failed (${made.status}): ${made.stderr}`);
t.comment(made.stdout.trim());
for (const [name, spec] of Object.entries(JSON.parse(readFileSync(join(dir, 'generated.json'), 'utf8')))) {
  t.test(`${name}: ${spec.architecture} ${spec.save} ${spec.signature ?? ''} ${JSON.stringify(spec.shape)}`, async (t) => {
    const r = await checkCase(join(dir, name));
    t.not(r.outcome, 'unexpected', r.problems.join('; '));
    t.same(r.problems, []);
  });
}
