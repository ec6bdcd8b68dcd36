// The server's memory policy, as bin/bert-serve starts it: jemalloc preloaded by default
// (libjemalloc2 is a set-up package, so it must be there) and tensors from the engine's block cache;
// BERT_SERVE_MALLOC=glibc keeps glibc with the engine's thresholds; =untuned turns the policy off
// (the baseline); the launcher is replaced by node (same PID: signals reach the server); the same
// answers in every case; a user's MALLOC_CONF, LD_PRELOAD and glibc tuning are kept.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnServer, requireBuilt, demoModel } from '../helpers/server.mjs';
import { postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(demoModel);
const libDirs = readdirSync('/usr/lib')
  .filter((d) => d.endsWith('-linux-gnu'))
  .map((d) => `/usr/lib/${d}`);
const lib = libDirs.map((d) => `${d}/libjemalloc.so.2`).find(existsSync);
if (!lib) throw new Error('libjemalloc.so.2 is missing: run `bash scripts/install-system-deps.sh` (npm test does)');

const TEXT = 'The capital of France is [MASK].';
const info = async (s) => (await request(s.port, { path: '/info' })).json;
const mapsOf = (pid) => readFileSync(`/proc/${pid}/maps`, 'utf8');
const CACHE = '; tensors >= 128 KiB from a block cache (reused per size class, unmapped after 10 s unused); oneDNN kernel cache 256';
const esc = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const jemallocWith = (conf) => new RegExp(`^jemalloc 5\\.\\S+ \\(${esc(conf)}\\)${esc(CACHE)}$`);

t.test('bin/bert-serve: jemalloc and the block cache by default; the PID is the server, SIGTERM exits 0', async (t) => {
  const s = await spawnServer(['--model', demoModel], { t });
  t.match(readFileSync(`/proc/${s.pid}/cmdline`, 'utf8'), /dist\/cli\.js/, "the launcher exec'd node: the spawned PID is the server");
  t.match(mapsOf(s.pid), /libjemalloc\.so\.2/);
  t.match((await info(s)).malloc, jemallocWith('its defaults'));
  t.equal((await postText(s.port, TEXT)).status, 200);
  t.equal((await s.stop('SIGTERM')).code, 0);
});

t.test('BERT_SERVE_MALLOC=glibc and =untuned: glibc, the same answers as the default', async (t) => {
  const je = await spawnServer(['--model', demoModel], { t });
  const gl = await spawnServer(['--model', demoModel], { t, env: { BERT_SERVE_MALLOC: 'glibc' } });
  const un = await spawnServer(['--model', demoModel], { t, env: { BERT_SERVE_MALLOC: 'untuned' } });
  for (const s of [gl, un]) t.notMatch(mapsOf(s.pid), /libjemalloc/);
  t.equal((await info(gl)).malloc, `glibc (mmap threshold 1 MiB, trim threshold 64 MiB)${CACHE}`);
  t.equal((await info(un)).malloc, "glibc defaults, libtorch's own allocator (BERT_SERVE_MALLOC=untuned)");
  const texts = [TEXT, 'Paris is the [MASK] of France.', 'a [MASK] b [MASK] c', `${'word '.repeat(200)}[MASK]`];
  const flat = (j) => j.flat();
  for (const text of texts) {
    const [a, b, c] = await Promise.all([postText(je.port, text), postText(gl.port, text), postText(un.port, text)]);
    t.equal(a.status, 200, text.slice(0, 30));
    // Same tokens; scores equal up to float summation order (each server's warm-up picks its own
    // single-thread bound, so a batch may run on one thread in one and on two in the other). The
    // baseline (libtorch's allocator, fresh zeroed pages) against reused blocks: no op may depend on
    // what a reused block held before.
    for (const other of [b, c]) {
      t.same(
        flat(a.json).map((p) => p.token),
        flat(other.json).map((p) => p.token),
        `same tokens: ${text.slice(0, 30)}`,
      );
      const worst = Math.max(...flat(a.json).map((p, k) => Math.abs(p.score - flat(other.json)[k].score)));
      t.ok(worst < 1e-5, `scores within 1e-5 (worst ${worst})`);
    }
  }
  t.equal((await gl.stop('SIGTERM')).code, 0);
});

t.test("a user's MALLOC_CONF, a malloc already in LD_PRELOAD and their glibc tuning are kept", async (t) => {
  const s = await spawnServer(['--model', demoModel], { t, env: { MALLOC_CONF: 'narenas:2' } });
  t.match((await info(s)).malloc, jemallocWith('MALLOC_CONF=narenas:2'));
  const p = await spawnServer(['--model', demoModel], { t, env: { LD_PRELOAD: lib } });
  t.match((await info(p)).malloc, jemallocWith('its defaults'), 'not preloaded twice');
  const environ = readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0');
  t.same(
    environ.filter((e) => e.startsWith('LD_PRELOAD=')),
    [`LD_PRELOAD=${lib}`],
    'LD_PRELOAD as the user set it',
  );
  const g = await spawnServer(['--model', demoModel], { t, env: { BERT_SERVE_MALLOC: 'glibc', MALLOC_ARENA_MAX: '2' } });
  t.equal((await info(g)).malloc, `glibc, tuned by the environment (MALLOC_* / GLIBC_TUNABLES)${CACHE}`);
});

// oneDNN's JIT kernels live in 256 KiB code buffers made executable with mprotect: anonymous rwx
// mappings, one per kernel (a text of a new length is a new GELU shape, one kernel for all layers).
const jitRegions = (pid) =>
  mapsOf(pid)
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((f) => f[1] === 'rwxp' && !f[5])
    .reduce((n, f) => {
      const [a, b] = f[0].split('-').map((x) => parseInt(x, 16));
      return n + (b - a) / 262144;
    }, 0);
async function newShapes(t, s, count) {
  for (let n = 1; n <= count; n++) {
    const r = await postText(s.port, `${'word '.repeat(n)}[MASK]`);
    if (r.status !== 200) t.fail(`length ${n}: ${r.status}`);
  }
}

// Where the linear layers run packed (AVX2 CPUs, the default: docs/performance.md), GELU is fused
// into them and oneDNN makes no kernel per text length; libtorch's own layers (CPUs without AVX2,
// or BERT_SERVE_PACKED_LINEAR=0) still run GELU through oneDNN, and that is where the bound matters.
const ONEDNN_GELU = { BERT_SERVE_PACKED_LINEAR: '0' };
t.test('oneDNN keeps at most 256 kernels (its own default is 1024); ONEDNN_PRIMITIVE_CACHE_CAPACITY wins', async (t) => {
  const s = await spawnServer(['--model', demoModel], { t, env: ONEDNN_GELU });
  const before = jitRegions(s.pid);
  await newShapes(t, s, 400);
  const capped = jitRegions(s.pid) - before;
  t.ok(capped <= 256 + 8, `400 shapes left ${capped} new kernel regions (at most 256 kept, a few for the head)`);
  t.equal((await s.stop('SIGTERM')).code, 0);
  const u = await spawnServer(['--model', demoModel], { t, env: { ...ONEDNN_GELU, ONEDNN_PRIMITIVE_CACHE_CAPACITY: '1024' } });
  t.match((await info(u)).malloc, /; oneDNN kernel cache 1024 \(ONEDNN_PRIMITIVE_CACHE_CAPACITY\)$/);
  const from = jitRegions(u.pid);
  await newShapes(t, u, 400);
  t.ok(
    jitRegions(u.pid) - from > 256 + 8,
    `with the user's 1024 the same shapes keep more: ${jitRegions(u.pid) - from} (the bound is what held the first server)`,
  );
  t.equal((await u.stop('SIGTERM')).code, 0);
});

t.test('BERT_SERVE_MALLOC: a wrong value exits 2 with a message', async (t) => {
  const launcher = fileURLToPath(new URL('../../bin/bert-serve', import.meta.url));
  const bad = spawnSync(launcher, ['--help'], { env: { ...process.env, BERT_SERVE_MALLOC: 'tcmalloc' }, encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /BERT_SERVE_MALLOC must be jemalloc, glibc or untuned \(got 'tcmalloc'\)/);
});
