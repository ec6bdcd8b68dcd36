// The libFuzzer targets of native/tests/fuzz, briefly (docs/fuzzing.md): builds them with clang
// (ASan + UBSan, no libtorch) into build-fuzz/, replays every input under
// native/tests/fuzz/regressions/, then fuzzes each target for BERT_SERVE_FUZZ_SECONDS (default 8)
// seconds. Any crash, sanitizer report or broken invariant fails the test; the input is left in
// build-fuzz/artifacts/. Cost: the clang build (about a minute from scratch on 2 cores, seconds when
// nothing changed) plus 6 x 8 s: BERT's tokenizer, the three tokenizer.json kinds, the file loader
// and the model config. Fails when clang or libFuzzer's runtime is missing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const seconds = Number(process.env.BERT_SERVE_FUZZ_SECONDS ?? 8);
t.setTimeout((300 + 6 * seconds) * 1000);

const clang = ['clang++-14', 'clang++'].find((c) => spawnSync(c, ['--version']).status === 0);
const libFuzzer = clang && spawnSync(clang, ['-print-file-name=libclang_rt.fuzzer-x86_64.a'], { encoding: 'utf8' }).stdout.trim();
if (!clang || !libFuzzer || !existsSync(libFuzzer)) {
  t.fail('clang with libFuzzer is not installed: scripts/install-system-deps.sh --test installs clang-14 and libclang-rt-14-dev');
} else {
  t.test(`fuzz targets: regressions replayed, ${seconds} s each without a finding`, async (t) => {
    const r = spawnSync('bash', [join(root, 'scripts', 'fuzz.sh'), 'ci', String(seconds)], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      env: { ...process.env, CXX: clang },
    });
    const out = `${r.stdout}\n${r.stderr}`;
    for (const line of out.split('\n').filter((l) => /^\[fuzz\]|^Done |stat::number_of_executed_units|cov: .*ft:.*DONE/.test(l)))
      t.comment(line);
    if (r.status !== 0) t.comment(out.slice(-6000));
    t.equal(r.status, 0, 'scripts/fuzz.sh ci exits 0');
  });
}
