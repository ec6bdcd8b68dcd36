// BERT's relatives over real HTTP, with clients we did not write: a RoBERTa masked LM answers the
// recipe's raw-text contract with <mask> (curl) and the Hugging Face client's fill-mask call, an
// MPNet sentence-transformers encoder answers OpenAI's embeddings client, a plainly traced DistilBERT
// classifier answers the Hugging Face client; each answer equals the in-process engine's on the same
// model (the engine's answers are compared with the eager reference in
// test/integration/families.test.mjs). /info names the family, a route of another task names the
// family's class for it.
import t from 'tap';
import { InferenceClient } from '@huggingface/inference';
import OpenAI from 'openai';
import { Engine } from '../../dist/engine.js';
import { spawnServer, requireBuilt, testModel } from '../helpers/server.mjs';
import { curlPost, postJson, request } from '../helpers/http.mjs';

t.setTimeout(300_000);
const NAMES = ['roberta-mlm', 'mpnet-embed', 'distilbert-classify-traced'];
requireBuilt(...NAMES.map(testModel));
const servers = {};
for (const name of NAMES) servers[name] = await spawnServer(['--model', testModel(name)], { t });
const hf = new InferenceClient();

async function inProcess(name, fn) {
  const engine = await Engine.load({ model: testModel(name), warmup: false });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

t.test('/info names the family and what it implies', async (t) => {
  const r = (await request(servers['roberta-mlm'].port, { path: '/info' })).json;
  t.match(r, {
    architecture: 'RobertaForMaskedLM',
    model_type: 'roberta',
    family: 'RoBERTa',
    token_types: false,
    position_ids: 'from padding_idx + 1 (2)',
    max_input_length: 512,
    head_path: 'fill_mask_logits',
  });
  const m = (await request(servers['mpnet-embed'].port, { path: '/info' })).json;
  t.match(m, { architecture: 'MPNetModel', model_type: 'mpnet', family: 'MPNet', pooling: 'mean', token_types: false });
  const d = (await request(servers['distilbert-classify-traced'].port, { path: '/info' })).json;
  t.match(d, { architecture: 'DistilBertForSequenceClassification', family: 'DistilBERT', labels: ['negative', 'neutral', 'positive'] });
});

t.test('RoBERTa fill-mask: curl with <mask> in the raw body, and the Hugging Face client', async (t) => {
  const text = 'Paris is the <mask> of France.';
  const want = await inProcess('roberta-mlm', (e) => e.fillMask(text));
  const viaCurl = await curlPost(servers['roberta-mlm'].url, text);
  t.equal(viaCurl.status, 200, viaCurl.text);
  t.same(viaCurl.json, want, `${viaCurl.via}: the engine's answer`);
  t.equal(want.length, 5);
  t.ok(
    want.every((p) => p.sequence.includes(p.token_str)),
    'each sequence holds its token',
  );
  const viaClient = await hf.fillMask({ endpointUrl: servers['roberta-mlm'].url, inputs: text });
  t.same(
    viaClient.map((p) => p.token),
    want.map((p) => p.token),
  );
  const none = await curlPost(servers['roberta-mlm'].url, 'no mask here [MASK]');
  t.equal(none.status, 422);
  t.match(none.json.error, /no mask token \(<mask>\) in the input/);
  const wrong = await postJson(servers['roberta-mlm'].port, '/embed', { inputs: 'x' });
  t.equal(wrong.status, 422);
  t.match(
    wrong.json.error,
    /needs a feature-extraction model \(RobertaModel\); this server's model serves fill-mask \(RobertaForMaskedLM\)/,
  );
});

t.test('MPNet embeddings: OpenAI client', async (t) => {
  const inputs = ['hello world', 'the river runs through paris'];
  const want = await inProcess('mpnet-embed', (e) => e.embed(inputs));
  const client = new OpenAI({ baseURL: `${servers['mpnet-embed'].url.replace(/\/$/, '')}/v1`, apiKey: 'unused' });
  const got = await client.embeddings.create({ model: 'm', input: inputs });
  t.equal(got.data.length, 2);
  got.data.forEach((d, i) => {
    const diff = Math.max(...d.embedding.map((v, k) => Math.abs(v - want[i][k])));
    t.ok(diff <= 1e-6, `embedding ${i} equals the engine's (max abs diff ${diff})`);
  });
});

t.test('DistilBERT classifier, a plain trace: Hugging Face client', async (t) => {
  const want = await inProcess('distilbert-classify-traced', (e) => e.classify('i really love this wonderful movie'));
  const got = await hf.textClassification({
    endpointUrl: servers['distilbert-classify-traced'].url,
    inputs: 'i really love this wonderful movie',
  });
  t.equal(got[0].label, want[0].label);
  t.ok(Math.abs(got[0].score - want[0].score) < 1e-6);
});
