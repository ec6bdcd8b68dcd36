// BERT's relatives (DistilBERT, RoBERTa, XLM-RoBERTa, ELECTRA, MPNet): every head of every family,
// exported and plainly traced, answers as the eager reference does (a few texts each here;
// test/long/families-reference.test.mjs runs hundreds), the engine knows each family's facts
// (token types, where positions start, how many tokens fit), and a model_type it does not serve is
// refused at load with the list of families.
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../dist/engine.js';
import { runPython, testModel } from './fixtures.mjs';
import { MODEL_TYPE, RELATIVES, checkAgainstReference, fixtureNames } from '../helpers/families.mjs';

t.setTimeout(300_000); // 50 model loads and a Python reference: about 25 s on an idle machine

// What each family implies for its inputs, as /info reports it.
const FACTS = {
  distilbert: { family: 'DistilBERT', tokenTypes: false, positionOffset: 0, forwardInputs: [2, 2] },
  roberta: { family: 'RoBERTa', tokenTypes: false, positionOffset: 2, forwardInputs: [3, 2] },
  xlmr: { family: 'XLM-RoBERTa', tokenTypes: false, positionOffset: 2, forwardInputs: [3, 2] },
  electra: { family: 'ELECTRA', tokenTypes: true, positionOffset: 0, forwardInputs: [3, 3] },
  mpnet: { family: 'MPNet', tokenTypes: false, positionOffset: 2, forwardInputs: [2, 2] },
};

for (const family of RELATIVES) {
  t.test(`${family}: the family's facts, and the fill-mask path each file allows`, async (t) => {
    const facts = FACTS[family];
    for (const [k, name] of [`${family}-mlm`, `${family}-mlm-traced`].entries()) {
      const engine = await Engine.load({ model: testModel(name), warmup: false });
      const i = engine.info;
      await engine.close();
      t.equal(i.modelType, MODEL_TYPE[family], `${name}: model_type`);
      t.equal(i.family, facts.family);
      t.equal(i.tokenTypes, facts.tokenTypes, `${name}: token types ${facts.tokenTypes ? 'used' : 'always 0'}`);
      t.equal(i.positionOffset, facts.positionOffset);
      // RoBERTa, XLM-R and MPNet have 514 positions, two of them before the first token's.
      t.equal(i.maxTokens, 512, `${name}: max tokens`);
      t.equal(i.forwardInputs, facts.forwardInputs[k], `${name}: forward inputs`);
      // The exporter's fill_mask_logits projects the mask rows only. A plain trace runs its encoder
      // and head submodules on the mask rows where forward's graph maps every argument of theirs
      // (docs/models.md); these RoBERTa and XLM-R traces compute their token types in forward
      // (zeros_like), so they run their full forward (correct, slower).
      const traced = ['roberta', 'xlmr'].includes(family)
        ? /^full forward/
        : /submodules: encoder, then the vocabulary projection at mask rows only$/;
      t.match(i.headPath, k === 0 ? /^fill_mask_logits/ : traced, `${name}: head path`);
    }
  });
}

t.test('every head of every family, exported and traced, equals the eager reference', async (t) => {
  await checkAgainstReference(t, fixtureNames(), 6);
});

t.test('the last position fits: 512 tokens through RoBERTa and MPNet (positions up to 513)', async (t) => {
  const long = Array.from({ length: 700 }, (_, i) => ['river', 'music', 'paris', 'light'][i % 4]).join(' ');
  for (const name of ['roberta-embed', 'mpnet-embed-traced', 'xlmr-ner']) {
    const engine = await Engine.load({ model: testModel(name), warmup: false, truncate: true });
    const ids = engine.tokenizer.encode(long, { maxLength: 512 }).ids;
    t.equal(ids.length, 512);
    if (name.endsWith('ner')) {
      const out = JSON.parse((await engine.tokenClassifyJson(long, { aggregationStrategy: 'none' })).body.toString());
      t.ok(Array.isArray(out), `${name}: answered 512 tokens`);
    } else {
      const [got] = await engine.embed([long], { normalize: false });
      const [ref] = runPython('reference.py', [testModel(name)], [{ task: 'embed', ids, pooling: engine.info.taskInfo.pooling }]);
      const maxDiff = Math.max(...ref.embedding.map((v, i) => Math.abs(v - got[i])));
      t.ok(maxDiff <= 1e-4, `${name}: 512 tokens equal the reference (max abs diff ${maxDiff.toExponential(2)})`);
    }
    await engine.close();
  }
});

// A model directory with another config.json: roberta-mlm's files with `change` applied.
function variant(t, change) {
  const dir = mkdtempSync(join(tmpdir(), 'bert-serve-family-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(testModel('roberta-mlm'), dir, { recursive: true, filter: (p) => !p.includes('/hf') });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(change(config)));
  return dir;
}

t.test('a model_type that is not served is refused at load, naming the families', async (t) => {
  const dir = variant(t, (c) => ({ ...c, model_type: 'deberta-v2', architectures: ['DebertaV2ForMaskedLM'] }));
  const err = await Engine.load({ model: dir, warmup: false }).catch((e) => e);
  t.equal(err.code, 'ERR_MODEL_INVALID', err.message);
  t.match(
    err.message,
    /model_type "deberta-v2" is not served \(supported families, by model_type: bert \(BERT\), distilbert \(DistilBERT\), roberta \(RoBERTa\), xlm-roberta \(XLM-RoBERTa\), electra \(ELECTRA\), mpnet \(MPNet\)\)/,
  );
});

t.test('an architecture of another family than model_type is refused, naming both', async (t) => {
  const dir = variant(t, (c) => ({ ...c, architectures: ['BertForMaskedLM'] }));
  const err = await Engine.load({ model: dir, warmup: false }).catch((e) => e);
  t.equal(err.code, 'ERR_CONFIG_INVALID', err.message);
  t.match(
    err.message,
    /architecture "BertForMaskedLM" is a BERT class but model_type is "roberta" \(RoBERTa: RobertaForMaskedLM, RobertaModel, RobertaForSequenceClassification, RobertaForTokenClassification, RobertaForQuestionAnswering\)/,
  );
  const other = variant(t, (c) => ({ ...c, architectures: ['RobertaForMultipleChoice'] }));
  const e2 = await Engine.load({ model: other, warmup: false }).catch((e) => e);
  t.equal(e2.code, 'ERR_MODEL_INVALID');
  t.match(e2.message, /architecture "RobertaForMultipleChoice" is not served \(supported for RoBERTa: RobertaForMaskedLM, RobertaModel/);
});

t.test('positions from padding_idx + 1 leave max_position_embeddings - padding_idx - 1 tokens', async (t) => {
  const dir = variant(t, (c) => ({ ...c, max_position_embeddings: 130 }));
  const engine = await Engine.load({ model: dir, warmup: false });
  t.teardown(() => engine.close());
  t.equal(engine.info.maxTokens, 128);
  const err = await engine.fillMask(`${'word '.repeat(127)}<mask>`).catch((e) => e);
  t.equal(err.code, 'ERR_INPUT_TOO_LONG', '130 tokens do not fit');
  t.match(err.message, /the limit is 128/);
});
