// bench/run.js stage `trained`: bf16 and int8 against float32 on models trained here, whose answers
// are peaked (random weights give flat ones, so agreement on them says little). The checkpoints are
// in test/data/trained (made by scripts/make_trained_models.py and committed: a
// 4-layer masked LM trained on Python's and Perl's documentation and the license texts, and a
// topic classifier fine-tuned from it); scripts/export_trained_models.py exports them to models/trained (float32 and int8, the
// encoder's linear layers quantized; bf16 is the float32 directory loaded in bf16, emulated where the CPU has no bf16
// instructions, with LayerNorms, residual sums and the head float32, and bf16-throughout the same with every tensor bf16). Each
// model answers its held-out texts (test/data/trained/*/heldout-*.jsonl, never seen in training)
// through bench/accuracy.js. bench/report_trained.js renders the rows and the targets.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MODELS = [
  { name: 'mlm', corpus: 'test/data/trained/mlm/heldout-fill-mask.jsonl' },
  { name: 'classify', corpus: 'test/data/trained/classify/heldout-classify.jsonl' },
  { name: 'embed', corpus: 'test/data/trained/mlm/heldout-fill-mask.jsonl' },
];

export async function trainedStage(ctx, P, fail) {
  // The checkpoints are committed; a checkout without them (e.g. a cut-down copy) still runs the other stages.
  if (!existsSync(join(ctx.root, 'test/data/trained/training.json'))) {
    throw new Error(
      'test/data/trained is missing: make it with `nice -n 19 /usr/bin/python3 scripts/make_trained_models.py` ' +
        '(2000 masked-LM steps and 4 classifier epochs on one thread: about an hour on a shared 2-core machine)',
    );
  }
  const r = spawnSync(ctx.python, ['scripts/export_trained_models.py', 'models/trained'], {
    cwd: ctx.root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const msg = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0) throw new Error(`export_trained_models.py failed: ${msg.split('\n').slice(-1)[0]}`);
  for (const line of msg.split('\n').filter(Boolean)) ctx.log(line);
  const out = { training: JSON.parse(readFileSync(join(ctx.root, 'test/data/trained/training.json'), 'utf8')), rows: [] };
  const n = P.trainedN;
  for (const m of MODELS) {
    ctx.log(`trained: ${m.name}: bf16 and int8 against float32 on ${n} held-out texts`);
    try {
      const lines = await ctx.runJsonLines(
        process.execPath,
        // bf16-throughout (every tensor in bf16) beside bf16 shows what keeping LayerNorms, residual sums and the head float32 buys.
        [
          join(ctx.root, 'bench', 'accuracy.js'),
          ...['--model', `models/trained/${m.name}`, '--corpus', m.corpus, '--n', String(n)],
          ...['--variants', 'bf16,bf16-throughout,int8'],
        ],
        { label: `accuracy trained ${m.name}`, env: { OMP_WAIT_POLICY: 'PASSIVE' }, timeoutMs: 1_800_000 },
      );
      out.rows.push(...lines.filter((l) => l.type === 'accuracy' || l.type === 'skipped'));
    } catch (e) {
      fail(`trained ${m.name}`, e);
    }
  }
  return out;
}
