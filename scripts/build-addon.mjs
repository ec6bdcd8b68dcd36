#!/usr/bin/env node
// Builds the native addon (build/Release/bert_serve.node) with cmake-js, only when it is missing or
// older than its sources. It is the package's `install` script, so `npm ci` in a clone and
// `npm install bert-serve` in a project both build it exactly once; scripts/setup.sh runs it again,
// which then only checks timestamps. An explicit install script also stops npm from running its
// implicit `node-gyp rebuild` for the binding.gyp at the package root (a second, slower build that
// would replace build/).
//
//   node scripts/build-addon.mjs [--force]
//
// Environment: BERT_SERVE_ADDON=path (a prebuilt addon: nothing is built), BERT_SERVE_LIBTORCH
// (another libtorch, see CMakeLists.txt), BERT_SERVE_BUILD_JOBS (parallel compiles; default: CPUs,
// bounded by memory at ~1.5 GB per compile), BERT_SERVE_BUILD_TESTS=ON|OFF (C++ tests and bench
// programs; default ON in a clone, where native/tests exists, OFF in an installed package),
// BERT_SERVE_CCACHE=0 (do not compile through ccache even when it is installed).
// With ccache on the PATH every compile goes through it, keyed on the sources and flags with the
// paths inside the project made relative to it (CCACHE_BASEDIR=<project root>, CCACHE_NOHASHDIR):
// a second checkout, a worktree, or the package test's install from the tarball (the same layout
// under another directory) reuses the objects of the first build instead of compiling
// libtorch-heavy files again (minutes each time on 2 cores). Paths outside the project (libtorch's
// headers in /usr/include) stay absolute, so the depth of the checkout does not change the key.
// Every line it prints starts with the seconds since it started, and the compiler's per-file lines
// pass through, so a first build (minutes) is never silent.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, freemem, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'bert_serve.node');
const stampPath = join(root, 'build', '.bert-serve-build.json');
const t0 = Date.now();
const log = (msg) => process.stderr.write(`[bert-serve build ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

/** Every file whose change must rebuild the addon. */
function sources() {
  const out = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(cc|h|cpp|hpp|txt|cmake)$/.test(e.name)) out.push(p);
    }
  };
  walk(join(root, 'native'));
  if (existsSync(join(root, 'bench'))) {
    for (const f of readdirSync(join(root, 'bench'))) if (f.endsWith('.cc')) out.push(join(root, 'bench', f));
  }
  out.push(join(root, 'CMakeLists.txt'));
  return out;
}

function buildSettings() {
  const tests = process.env.BERT_SERVE_BUILD_TESTS ?? (existsSync(join(root, 'native', 'tests', 'CMakeLists.txt')) ? 'ON' : 'OFF');
  return { libtorch: process.env.BERT_SERVE_LIBTORCH ?? '', tests: /^(1|on|true|yes)$/i.test(tests) ? 'ON' : 'OFF' };
}

/** Why a build is needed, or null when the addon is up to date. */
function staleReason(settings) {
  if (!existsSync(addon)) return 'the addon is not built yet';
  if (!existsSync(stampPath)) return 'no record of the last build';
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampPath, 'utf8'));
  } catch {
    return 'unreadable build record';
  }
  if (stamp.libtorch !== settings.libtorch)
    return `BERT_SERVE_LIBTORCH changed (${stamp.libtorch || 'Debian'} -> ${settings.libtorch || 'Debian'})`;
  if (stamp.tests !== settings.tests) return `BERT_SERVE_BUILD_TESTS changed to ${settings.tests}`;
  // Sources are compared with the time the last build started: an edit made during a build counts.
  const built = Number(stamp.startedAtMs) || statSync(stampPath).mtimeMs;
  for (const f of sources()) {
    if (statSync(f).mtimeMs > built) return `${relative(root, f)} changed`;
  }
  return null;
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Checks the tools and libraries the build needs, naming the Debian packages that provide them. */
function checkPrerequisites(settings) {
  const missing = [];
  if (!has('cmake')) missing.push('cmake');
  if (!has('c++') && !has('g++')) missing.push('g++');
  if (!has('pkg-config')) missing.push('pkg-config');
  if (!has('make') && !has('ninja')) missing.push('make (or ninja-build)');
  if (
    !settings.libtorch &&
    !existsSync('/usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake') &&
    !existsSync('/usr/lib/aarch64-linux-gnu/cmake/Torch/TorchConfig.cmake')
  ) {
    missing.push('libtorch-dev (or BERT_SERVE_LIBTORCH=/path/to/libtorch)');
  }
  if (!existsSync('/usr/include/utf8proc.h') && !existsSync('/usr/include/utf8proc/utf8proc.h')) missing.push('libutf8proc-dev');
  if (!existsSync('/usr/include/nlohmann/json.hpp')) missing.push('nlohmann-json3-dev');
  if (missing.length) {
    log(`cannot build the native addon: missing ${missing.join(', ')}.`);
    log(
      `On Debian bookworm: sudo bash ${relative(process.cwd(), join(root, 'scripts', 'install-system-deps.sh')) || 'scripts/install-system-deps.sh'} ` +
        '(or apt-get install libtorch-dev libopenblas0-openmp libutf8proc-dev nlohmann-json3-dev cmake ninja-build g++ pkg-config)',
    );
    process.exit(1);
  }
}

function jobs() {
  const env = Number(process.env.BERT_SERVE_BUILD_JOBS);
  if (Number.isInteger(env) && env > 0) return env;
  // A compile that includes the libtorch headers peaks at about 1.2 GB.
  const byMemory = Math.max(1, Math.floor(Math.min(freemem(), totalmem()) / 1.5e9));
  return Math.max(1, Math.min(availableParallelism(), byMemory));
}

function run(cmd, args) {
  return new Promise((resolve) => {
    // CCACHE_*: see the header (ignored when the build does not use ccache).
    const env = { CCACHE_BASEDIR: root, CCACHE_NOHASHDIR: '1', ...process.env };
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main() {
  const force = process.argv.includes('--force');
  if (process.env.BERT_SERVE_ADDON) {
    log(`BERT_SERVE_ADDON=${process.env.BERT_SERVE_ADDON}: using that addon, nothing to build`);
    return;
  }
  const settings = buildSettings();
  const reason = force ? '--force' : staleReason(settings);
  if (!reason) {
    log(`native addon up to date (${relative(process.cwd(), addon) || addon})`);
    return;
  }
  checkPrerequisites(settings);
  const require = createRequire(join(root, 'package.json'));
  let cmakeJs;
  try {
    cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  } catch {
    log('cannot build the native addon: the cmake-js package is missing (run npm install first)');
    process.exit(1);
  }
  const n = jobs();
  const generator = has('ninja') ? ['-G', 'Ninja'] : [];
  const cache =
    process.env.BERT_SERVE_CCACHE !== '0' && has('ccache')
      ? ['--CDCMAKE_CXX_COMPILER_LAUNCHER=ccache', '--CDCMAKE_C_COMPILER_LAUNCHER=ccache']
      : [];
  log(
    `building the native addon (${reason}): cmake-js, ${n} parallel compile(s), C++ tests ${settings.tests}, ` +
      `${cache.length ? 'through ccache' : 'without ccache'}; ` +
      'a first build takes minutes (one line per file below)',
  );
  mkdirSync(join(root, 'build'), { recursive: true });
  // Another libtorch: configure from scratch (CMake caches where it found Torch).
  const action = reason.startsWith('BERT_SERVE_LIBTORCH') ? 'rebuild' : 'compile';
  const code = await run(process.execPath, [
    cmakeJs,
    action,
    '--out',
    'build',
    '--parallel',
    String(n),
    ...generator,
    ...cache,
    '--log-level',
    'warn',
    `--CDBERT_SERVE_BUILD_TESTS=${settings.tests}`,
  ]);
  if (code !== 0 || !existsSync(addon)) {
    log(`the native build failed (exit ${code}); the compiler's messages are above`);
    process.exit(code || 1);
  }
  writeFileSync(stampPath, JSON.stringify({ ...settings, startedAtMs: t0, seconds: (Date.now() - t0) / 1000 }) + '\n');
  log(`built ${relative(process.cwd(), addon) || addon}`);
}

await main();
