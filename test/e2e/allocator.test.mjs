// The server's malloc, as bin/bert-serve starts it: jemalloc preloaded (libjemalloc2 is a set-up
// package, so it must be there), MALLOC_CONF defaulting to the launcher's settings, the engine's glibc
// tuning skipped, the launcher replaced by node (same PID: signals reach the server); the same
// answers as under glibc; BERT_SERVE_MALLOC=glibc and a user's MALLOC_CONF respected.
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { spawnServer, requireBuilt, demoModel } from '../helpers/server.mjs';
import { postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(demoModel);
const libDirs = readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')).map((d) => `/usr/lib/${d}`);
if (!libDirs.some((d) => existsSync(`${d}/libjemalloc.so.2`))) {
  throw new Error('libjemalloc.so.2 is missing: run `bash scripts/install-system-deps.sh` (npm test does)');
}

const TEXT = 'The capital of France is [MASK].';
const info = async (s) => (await request(s.port, { path: '/info' })).json;
const mapsOf = (pid) => readFileSync(`/proc/${pid}/maps`, 'utf8');

t.test('bin/bert-serve: jemalloc in the server process, same PID, SIGTERM drains and exits 0', async (t) => {
  const s = await spawnServer(['--model', demoModel], { t });
  t.match(readFileSync(`/proc/${s.pid}/cmdline`, 'utf8'), /dist\/cli\.js/, 'the launcher exec\'d node: the spawned PID is the server');
  t.match(mapsOf(s.pid), /libjemalloc\.so\.2/);
  const i = await info(s);
  t.match(i.malloc, /^jemalloc 5\.\S+ \(MALLOC_CONF=oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1\)$/);
  const r = await postText(s.port, TEXT);
  t.equal(r.status, 200);
  const { code } = await s.stop('SIGTERM');
  t.equal(code, 0);
});

t.test('the same answers under jemalloc and glibc (BERT_SERVE_MALLOC=glibc: glibc with its defaults)', async (t) => {
  const je = await spawnServer(['--model', demoModel], { t });
  const gl = await spawnServer(['--model', demoModel], { t, env: { BERT_SERVE_MALLOC: 'glibc' } });
  t.notMatch(mapsOf(gl.pid), /libjemalloc/);
  t.match((await info(gl)).malloc, /^glibc defaults \(BERT_SERVE_MALLOC=glibc\)$/);
  const texts = [TEXT, 'Paris is the [MASK] of France.', 'a [MASK] b [MASK] c', `${'word '.repeat(200)}[MASK]`];
  for (const text of texts) {
    const [a, b] = await Promise.all([postText(je.port, text), postText(gl.port, text)]);
    t.equal(a.status, 200, text.slice(0, 30));
    // Same tokens; scores equal up to float summation order (each server's warm-up picks its own
    // single-thread bound, so a batch may run on one thread in one and on two in the other).
    const flat = (j) => j.flat();
    t.same(flat(a.json).map((p) => p.token), flat(b.json).map((p) => p.token), `same tokens: ${text.slice(0, 30)}`);
    const worst = Math.max(...flat(a.json).map((p, k) => Math.abs(p.score - flat(b.json)[k].score)));
    t.ok(worst < 1e-5, `scores within 1e-5 (worst ${worst})`);
  }
});

t.test("a user's MALLOC_CONF is kept, and so is a malloc already in LD_PRELOAD", async (t) => {
  const s = await spawnServer(['--model', demoModel], { t, env: { MALLOC_CONF: 'narenas:2' } });
  t.match((await info(s)).malloc, /^jemalloc 5\.\S+ \(MALLOC_CONF=narenas:2\)$/);
  const lib = libDirs.map((d) => `${d}/libjemalloc.so.2`).find(existsSync);
  const p = await spawnServer(['--model', demoModel], { t, env: { LD_PRELOAD: lib, MALLOC_CONF: '' } });
  t.match((await info(p)).malloc, /^jemalloc 5\.\S+ \(its defaults\)$/, 'not preloaded twice, no MALLOC_CONF added');
});
