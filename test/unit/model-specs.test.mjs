// Which models a server serves and under which names (--model [NAME=]DIR repeated,
// --model-repository, --default-model: src/server/model_specs.ts, parsed by src/config.ts), and the
// content hash that names a model's version (src/model_version.ts), on real directories.
import t from 'tap';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli } from '../../dist/config.js';
import { planModels } from '../../dist/server/model_specs.js';
import { modelVersion } from '../../dist/model_version.js';

const cpus = () => ({ cpus: 2, schedulable: 2 });
const dir = mkdtempSync(join(tmpdir(), 'bert-serve-specs-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('--model repeats; the environment variable gives one; none: the demo model', async (t) => {
  const two = parseCli(['--model', 'a=/m/a', '--model', '/m/b'], {}, cpus).config;
  t.same(two.models, ['a=/m/a', '/m/b']);
  t.equal(two.model, 'a=/m/a', "the option's own value is the first");
  t.same(parseCli([], { BERT_SERVE_MODEL: '/m/x' }, cpus).config.models, ['/m/x']);
  const none = parseCli([], {}, cpus).config;
  t.same(none.models, []);
  t.ok(none.modelIsDefault);
  t.notOk(parseCli(['--model-repository', '/r'], {}, cpus).config.modelIsDefault, 'a repository is not the demo model');
  t.throws(() => parseCli(['--model', '/m/a', '--model', ' '], {}, cpus), /--model: expected a value/);
});

t.test('names: NAME=DIR, a directory name, the repository; duplicates and bad names refused', async (t) => {
  const repo = join(dir, 'repo');
  for (const m of ['b-model', 'a.model', '.hidden']) mkdirSync(join(repo, m), { recursive: true });
  writeFileSync(join(repo, 'README'), 'not a model');
  const plan = planModels(['x=/m/one', '/m/two'], repo, '/demo', '');
  t.same(
    plan.specs.map((s) => [s.name, s.dir]),
    [
      ['x', '/m/one'],
      ['two', '/m/two'],
      ['a.model', join(repo, 'a.model')],
      ['b-model', join(repo, 'b-model')],
    ],
  );
  t.equal(plan.defaultName, 'x', 'the first');
  t.equal(planModels([], repo, '/demo', 'b-model').defaultName, 'b-model');
  t.same(
    planModels([], '', '/models/demo', '').specs.map((s) => s.name),
    ['demo'],
    'nothing given: the --model value',
  );
  t.throws(() => planModels(['/m/a', '/n/a'], '', '/demo', ''), /two models are named "a" \(\/m\/a and \/n\/a\)/);
  t.throws(() => planModels(['bad name=/m/a'], '', '/demo', ''), /the name "bad name" must be/);
  t.throws(() => planModels(['/m/a'], '', '/demo', 'z'), /--default-model "z" is not a served model; served: a/);
  t.throws(() => planModels([], join(dir, 'missing'), '/demo', ''), /cannot be read \(ENOENT\)/);
  mkdirSync(join(dir, 'empty'));
  t.throws(() => planModels([], join(dir, 'empty'), '/demo', ''), /holds no model directory/);
  const odd = join(dir, 'has=sign');
  mkdirSync(odd);
  t.throws(() => planModels([odd], '', '/demo', ''), /give --model NAME=/, 'an existing path with "=" is a directory');
});

t.test('the version is a hash of the files: same files same version, any byte or file changes it', async (t) => {
  const a = join(dir, 'va');
  mkdirSync(join(a, '1_Pooling'), { recursive: true });
  writeFileSync(join(a, 'model.pt'), Buffer.alloc(3 << 20, 7));
  writeFileSync(join(a, 'config.json'), '{}');
  writeFileSync(join(a, '1_Pooling', 'config.json'), '{"pooling_mode_mean_tokens": true}');
  writeFileSync(join(a, '.cache'), 'ignored');
  const v = await modelVersion(a);
  t.match(v, /^[0-9a-f]{16}$/);
  const b = join(dir, 'vb');
  cpSync(a, b, { recursive: true });
  writeFileSync(join(b, '.cache'), 'other');
  t.equal(await modelVersion(b), v, 'another directory with the same files (hidden ones aside)');
  appendFileSync(join(b, '1_Pooling', 'config.json'), ' ');
  t.not(await modelVersion(b), v, 'a file in a subdirectory');
  cpSync(a, join(dir, 'vc'), { recursive: true });
  writeFileSync(join(dir, 'vc', 'README.md'), 'x');
  t.not(await modelVersion(join(dir, 'vc')), v, 'one more file');
  const d = join(dir, 'vd');
  cpSync(a, d, { recursive: true });
  const w = Buffer.alloc(3 << 20, 7);
  w[2 << 20] = 8;
  writeFileSync(join(d, 'model.pt'), w);
  t.not(await modelVersion(d), v, 'one byte past the first chunk');
});
