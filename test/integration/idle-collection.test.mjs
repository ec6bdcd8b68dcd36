// fullGc (src/server/full_gc.ts), which a model unload or reload ends with: besides the collection at
// once, one more runs when the server has been idle a while, and that one gives back V8's young
// generation, which traffic grows to its largest semi-spaces and a collection right after the
// traffic does not shrink. Each case runs in a child process (its own heap, without tap's loader):
// it allocates as a server under traffic does (short-lived objects, some surviving a few
// collections) until the young generation has grown, goes idle, and reports the young generation's
// size as it polls (every 100 ms, bounded).
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const fullGc = new URL('../../dist/server/full_gc.js', import.meta.url).href;
const child = (call) => `
import v8 from 'node:v8';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fullGc } from ${JSON.stringify(fullGc)};
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
let keep = [];
for (const t0 = Date.now(); Date.now() - t0 < 1500; ) {
  for (let i = 0; i < 1000; i++) keep.push({ a: i, b: 'x' + i, c: [i, i] });
  if (keep.length > 200000) keep = keep.slice(100000);
}
keep = null;
const grown = newSpace();
${call}
const atOnce = newSpace();
const t0 = Date.now();
const poll = setInterval(() => {
  const now = newSpace();
  if (now < grown / 4 || Date.now() - t0 > 8000) {
    clearInterval(poll);
    console.log(JSON.stringify({ grown, atOnce, last: now, ms: Date.now() - t0 }));
  }
}, 100);
`;

async function run(call) {
  // A child that fails rejects with its stderr.
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', child(call)], {
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop());
}

const MiB = 1 << 20;
// Both at once (each mostly waits): the wall time of one.
const [withIdle, without] = await Promise.all([run('fullGc(6000);'), run("setFlagsFromString('--expose-gc'); runInNewContext('gc')();")]);

t.test('the idle collection gives the grown young generation back', async (t) => {
  const r = withIdle;
  t.ok(r.grown >= 8 * MiB, `the young generation grew to ${(r.grown / MiB).toFixed(1)} MiB (the case is real)`);
  t.ok(r.atOnce >= r.grown / 2, `the collection at once left ${(r.atOnce / MiB).toFixed(1)} MiB`);
  t.ok(r.last < r.grown / 4, `${(r.last / MiB).toFixed(1)} MiB ${r.ms} ms later`);
});

t.test('without it, a collection right after the traffic keeps it grown', async (t) => {
  const r = without;
  t.ok(r.grown >= 8 * MiB, `the young generation grew to ${(r.grown / MiB).toFixed(1)} MiB`);
  t.ok(r.last >= r.grown / 2, `${(r.last / MiB).toFixed(1)} MiB ${r.ms} ms later`);
});
