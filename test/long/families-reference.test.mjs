// The long run of test/integration/families.test.mjs and export-families.test.mjs: every head of
// every family of BERT's relatives (DistilBERT, RoBERTa, XLM-RoBERTa, ELECTRA, MPNet), exported and
// plainly traced, on COUNT generated inputs each (texts of 1-30 words; fill-mask texts with one or
// two masks; classification half pairs), served in shared padded batches after the engine's
// warm-up, against the eager reference run one sequence at a time; and export_hf.py --trace of
// every family's masked LM. Prints what it covered.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RELATIVES, checkAgainstReference, checkTraceExport, fixtureNames } from '../helpers/families.mjs';

const COUNT = 200;

t.test(`${COUNT} inputs per fixture, ${fixtureNames().length} fixtures, equal the eager reference`, async (t) => {
  const started = Date.now();
  const runs = await checkAgainstReference(t, fixtureNames(), COUNT, { warmup: true });
  const inputs = runs.reduce((n, r) => n + r.requests.length, 0);
  t.comment(`families-reference: ${runs.length} fixtures, ${inputs} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

t.test("export_hf --trace of every family's masked LM is served as its scripted export", async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'bert-serve-long-families-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  for (const family of RELATIVES) await checkTraceExport(t, family, tmp);
  t.comment(`families-reference: --trace exports of ${RELATIVES.length} families`);
});
