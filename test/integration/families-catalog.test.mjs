// The served families are written down three times: for the engine (native/engine/model/
// model_config.cc), for the exporter (scripts/bert/families/catalog.py) and for --help and the
// docs (src/families.ts). They must agree: each is compared here with the others, the engine's
// through its own refusal messages, which list what it serves.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../dist/engine.js';
import { FAMILIES } from '../../dist/families.js';
import { renderHelp } from '../../dist/config.js';
import { python, root } from './fixtures.mjs';

const HEADS = ['ForMaskedLM', 'Model', 'ForSequenceClassification', 'ForTokenClassification', 'ForQuestionAnswering'];

const res = spawnSync(
  python,
  [
    '-c',
    `
import json, sys
sys.path.insert(0, ${JSON.stringify(join(root, 'scripts'))})
from bert.families.catalog import FAMILIES
print(json.dumps([{"modelType": f.model_type, "name": f.name, "prefix": f.prefix,
                   "architectures": list(f.architectures)} for f in FAMILIES.values()]))
`,
  ],
  { encoding: 'utf8' },
);
if (res.status !== 0) throw new Error(`reading scripts/bert/families/catalog.py failed: ${res.stderr}`);
const catalog = JSON.parse(res.stdout);

/** The engine's refusal of a config.json (the message lists what it serves). */
async function refusal(t, config) {
  const dir = mkdtempSync(join(tmpdir(), 'bert-serve-catalog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const err = await Engine.load({ model: dir, warmup: false }).catch((e) => e);
  t.equal(err.code, 'ERR_MODEL_INVALID', err.message);
  return err.message;
}

t.test('the exporter and --help know the same families, in the same order', async (t) => {
  t.same(
    FAMILIES.map(({ modelType, name, prefix }) => ({ modelType, name, prefix })),
    catalog.map(({ modelType, name, prefix }) => ({ modelType, name, prefix })),
  );
  for (const f of catalog)
    t.same(
      f.architectures,
      HEADS.map((h) => f.prefix + h),
      `${f.name}: the five heads`,
    );
  const help = renderHelp();
  for (const f of FAMILIES) t.match(help, `${f.name} (${f.modelType})`, `--help lists ${f.name}`);
});

t.test('the engine serves the same families and architectures', async (t) => {
  const families = await refusal(t, { model_type: 'no-such-family', architectures: ['BertForMaskedLM'], vocab_size: 10 });
  t.match(families, `(supported families, by model_type: ${catalog.map((f) => `${f.modelType} (${f.name})`).join(', ')})`);
  const archs = await refusal(t, { architectures: ['NoSuchForMaskedLM'], vocab_size: 10 });
  t.match(archs, `(supported: ${catalog.flatMap((f) => f.architectures).join(', ')})`);
});
