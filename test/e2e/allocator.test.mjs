// The server's malloc, as bin/bert-serve starts it: glibc tuned by the engine by default;
// BERT_SERVE_MALLOC=jemalloc preloads jemalloc (libjemalloc2 is a set-up package, so it must be
// there) with MALLOC_CONF defaulting to oversize_threshold:0, and the engine leaves glibc alone; the
// launcher is replaced by node (same PID: signals reach the server); the same answers either way; a
// user's MALLOC_CONF and LD_PRELOAD are kept.
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { spawnServer, requireBuilt, demoModel } from '../helpers/server.mjs';
import { postText, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
requireBuilt(demoModel);
const libDirs = readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')).map((d) => `/usr/lib/${d}`);
const lib = libDirs.map((d) => `${d}/libjemalloc.so.2`).find(existsSync);
if (!lib) throw new Error('libjemalloc.so.2 is missing: run `bash scripts/install-system-deps.sh` (npm test does)');

const TEXT = 'The capital of France is [MASK].';
const info = async (s) => (await request(s.port, { path: '/info' })).json;
const mapsOf = (pid) => readFileSync(`/proc/${pid}/maps`, 'utf8');
const JEMALLOC = { BERT_SERVE_MALLOC: 'jemalloc' };

t.test('bin/bert-serve: glibc by default, tuned by the engine; the PID is the server, SIGTERM exits 0', async (t) => {
  const s = await spawnServer(['--model', demoModel], { t });
  t.match(readFileSync(`/proc/${s.pid}/cmdline`, 'utf8'), /dist\/cli\.js/, 'the launcher exec\'d node: the spawned PID is the server');
  t.notMatch(mapsOf(s.pid), /libjemalloc/);
  t.match((await info(s)).malloc, /^glibc, freed memory kept \(/);
  t.equal((await postText(s.port, TEXT)).status, 200);
  t.equal((await s.stop('SIGTERM')).code, 0);
});

t.test('BERT_SERVE_MALLOC=jemalloc: jemalloc in the server process, the same answers as glibc', async (t) => {
  const je = await spawnServer(['--model', demoModel], { t, env: JEMALLOC });
  const gl = await spawnServer(['--model', demoModel], { t });
  t.match(mapsOf(je.pid), /libjemalloc\.so\.2/);
  t.match((await info(je)).malloc, /^jemalloc 5\.\S+ \(MALLOC_CONF=oversize_threshold:0\)$/);
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
  t.equal((await je.stop('SIGTERM')).code, 0);
});

t.test("a user's MALLOC_CONF is kept, and so is a malloc already in LD_PRELOAD; BERT_SERVE_MALLOC=glibc", async (t) => {
  const s = await spawnServer(['--model', demoModel], { t, env: { ...JEMALLOC, MALLOC_CONF: 'narenas:2' } });
  t.match((await info(s)).malloc, /^jemalloc 5\.\S+ \(MALLOC_CONF=narenas:2\)$/);
  const p = await spawnServer(['--model', demoModel], { t, env: { ...JEMALLOC, LD_PRELOAD: lib, MALLOC_CONF: '' } });
  t.match((await info(p)).malloc, /^jemalloc 5\.\S+ \(its defaults\)$/, 'not preloaded twice, no MALLOC_CONF added');
  const g = await spawnServer(['--model', demoModel], { t, env: { BERT_SERVE_MALLOC: 'glibc' } });
  t.match((await info(g)).malloc, /^glibc defaults \(BERT_SERVE_MALLOC=glibc\)$/);
});
