// releaseFreeMemory (native/engine/host_memory.h), which a model unload ends with (src/server/full_gc.ts):
// under jemalloc, as bin/bert-serve runs the server, freed pages that jemalloc would keep resident
// on an idle process go back to the kernel; under glibc it trims. Each case runs in a child process,
// since the allocator is chosen when a process starts.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { addonPath } from '../../dist/native/binding.js';

// 64 buffers of 1 MiB from malloc (Node's ArrayBuffer allocator), freed; the resident bytes jemalloc
// holds beyond what is allocated, before and after the release, read from the addon's own stats.
const child = `
const b = require(${JSON.stringify(addonPath())});
const stats = () => {
  const probe = new b.Engine(() => {}, () => {});
  const s = probe.stats();
  probe.close(false);
  return s;
};
const held = () => {
  const s = stats();
  return s.mallocBytesResident - s.mallocBytesAllocated;
};
let bufs = Array.from({ length: 64 }, () => Buffer.alloc(1 << 20, 1));
const peak = stats().mallocBytesAllocated;
bufs = null;
// V8 frees ArrayBuffer backing stores on a background thread after a collection, so "freed" is
// polled for (bounded: 500 polls 10 ms apart) rather than assumed after one turn of the loop.
let polls = 0;
const step = () => {
  globalThis.gc();
  if (peak - stats().mallocBytesAllocated < 48 * (1 << 20) && ++polls < 500) return void setTimeout(step, 10);
  const before = held();
  const ran = b.releaseFreeMemory();
  const after = held();
  console.log(JSON.stringify({ ran, before, after, polls }));
};
setImmediate(step);
`;

function run(env) {
  // Without tap's NODE_OPTIONS (its process-info loader allocates beside the case).
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', child], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`child exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const MiB = 1 << 20;

t.test('under jemalloc: the freed pages it held are given back', async (t) => {
  // Where bin/bert-serve looks for it; set-up installs libjemalloc2.
  const multiarch = readdirSync('/usr/lib')
    .filter((d) => d.endsWith('-linux-gnu'))
    .map((d) => `/usr/lib/${d}/libjemalloc.so.2`);
  const lib = [...multiarch, '/usr/lib64/libjemalloc.so.2', '/usr/local/lib/libjemalloc.so.2'].find((p) => existsSync(p));
  t.ok(lib, 'libjemalloc.so.2 is installed (apt-get install libjemalloc2)');
  if (!lib) return;
  // Decay off: jemalloc would otherwise purge some pages on its own clock, by a machine-load-dependent
  // amount, before the release is measured; what remains is what only the release returns.
  const r = run({ LD_PRELOAD: lib, MALLOC_CONF: 'dirty_decay_ms:-1,muzzy_decay_ms:-1' });
  t.equal(r.ran, 'jemalloc purge');
  t.ok(r.before > 32 * MiB, `jemalloc held ${(r.before / MiB).toFixed(1)} MiB of freed pages before (the case is real)`);
  t.ok(r.before - r.after > 32 * MiB, `and ${(r.after / MiB).toFixed(1)} MiB after the release`);
});

t.test('under glibc: malloc_trim runs', async (t) => {
  const r = run({ LD_PRELOAD: '', MALLOC_CONF: '' });
  t.equal(r.ran, 'malloc_trim');
});
