// Model loading refuses every bad model directory with a typed error that names the file and what
// was expected: never a crash or a hang. Also: the models users already have (a traced module with
// the Hugging Face torchscript=True signature, a tokenizer.json instead of vocab.txt) load and answer.
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../dist/engine.js';
import { testModel, root } from './fixtures.mjs';

// tiny's files (a masked LM) under another architecture name: one no task serves, and one whose
// head the masked LM's output does not fit.
function relabeled(architecture) {
  const dir = mkdtempSync(join(tmpdir(), 'bert-serve-relabeled-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(testModel('tiny'), dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, architectures: [architecture] }));
  return dir;
}

const refused = [
  ['no such directory', join(root, 'models', 'test', 'does-not-exist'), 'ERR_MODEL_NOT_FOUND', /config\.json/],
  ['config.json but no model.pt', testModel('missing-model'), 'ERR_MODEL_NOT_FOUND', /model\.pt: not found/],
  ['model.pt that is not TorchScript', testModel('not-torchscript'), 'ERR_MODEL_INVALID', /model\.pt: not a TorchScript file/],
  [
    'forward with the wrong signature',
    testModel('wrong-signature'),
    'ERR_MODEL_INVALID',
    /model\.pt: forward\(.*\) takes 1 input\(s\); expected forward\(input_ids, attention_mask/,
  ],
  [
    'output shape that does not fit the task',
    testModel('wrong-output'),
    'ERR_MODEL_INVALID',
    /model\.pt: forward returned \[3, 16, 7\] for a \[3, 16\] input.*\[batch, seq, 30522\]/,
  ],
  ['vocabulary larger than the embedding', testModel('vocab-mismatch'), 'ERR_VOCAB_MISMATCH', /30522 tokens.*vocab_size\) is 1000/],
  ['config.json that is not JSON', testModel('bad-config'), 'ERR_CONFIG_INVALID', /config\.json: not valid JSON/],
  [
    'an architecture not served',
    relabeled('BertForMultipleChoice'),
    'ERR_MODEL_INVALID',
    /architecture "BertForMultipleChoice" is not served \(supported for BERT: BertForMaskedLM, BertModel, BertForSequenceClassification, BertForTokenClassification, BertForQuestionAnswering\)/,
  ],
  [
    'a question-answering model whose forward gives no start and end logits',
    relabeled('BertForQuestionAnswering'),
    'ERR_MODEL_INVALID',
    /forward returned \[3, 16, 30522\] for a \[3, 16\] input; a BertForQuestionAnswering must return start and end logits/,
  ],
];

for (const [what, dir, code, message] of refused) {
  t.test(`refuses ${what}`, async (t) => {
    const err = await Engine.load({ model: dir, warmup: false }).catch((e) => e);
    t.equal(err.code, code, err.message);
    t.match(err.message, message);
    t.equal(err.name, 'BertServeError');
  });
}

t.test('refuses cuda without CUDA (skipped where a GPU exists)', async (t) => {
  const err = await Engine.load({ model: testModel('tiny'), device: 'cuda' }).catch((e) => e);
  if (!(err instanceof Error)) {
    await err.close();
    t.skip('a CUDA device is present');
    return;
  }
  t.equal(err.code, 'ERR_DEVICE_UNAVAILABLE');
  t.match(err.message, /device "cuda": CUDA is not available/);
});

t.test('refuses bad options before touching native code', async (t) => {
  for (const [opts, re] of [
    [{ model: testModel('tiny'), device: 'tpu' }, /device/],
    [{ model: testModel('tiny'), dtype: 'int8' }, /dtype/],
    [{ model: testModel('tiny'), workers: 0 }, /workers/],
    [{ model: '' }, /model/],
    [{ model: testModel('tiny'), dtype: 'float16' }, /float16 needs a CUDA device/],
  ]) {
    const err = await Engine.load(opts).catch((e) => e);
    t.ok(['ERR_INVALID_ARGUMENT'].includes(err.code), `${JSON.stringify(opts)}: ${err.message}`);
    t.match(err.message, re);
  }
});

t.test('a traced Hugging Face-style module (2 inputs, tuple output) loads and answers', async (t) => {
  const e = await Engine.load({ model: testModel('traced') });
  t.teardown(() => e.close());
  t.equal(e.info.forwardInputs, 2);
  t.equal(e.info.maskedPositionsFastPath, false);
  const out = await e.fillMask('hello [MASK] world');
  t.equal(out.length, 5);
});

t.test('a model directory with tokenizer.json loads and tokenizes like vocab.txt', async (t) => {
  const a = await Engine.load({ model: testModel('tokenizer-json') });
  const b = await Engine.load({ model: testModel('tiny') });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const text = 'Héllo [MASK], ΟΔΟΣ 東京!';
  t.same(await a.tokenize(text), await b.tokenize(text));
});
