// scripts/export_hf.py on BERT's relatives: the checkpoint variants transformers writes (tied weights
// left out, legacy buffers, a pooler the head does not use, a discriminator), heads exported as
// their encoder, refusals that name what is served, and --trace exports, whose fill_mask_logits
// the engine serves with the answers of the scripted export.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { python, root } from './fixtures.mjs';
import { checkTraceExport } from '../helpers/families.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'bert-serve-export-families-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

function py(args) {
  const res = spawnSync(python, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (res.error) throw res.error;
  return res;
}

t.test('checkpoint variants load strictly into the family modules, as transformers loads them', async (t) => {
  // One Python process: each case edits a copy of a fixture's HF checkpoint, loads it with
  // checkpoint.load_model, and compares the module's output with the unedited one's.
  const code = `
import json, os, shutil, sys
sys.path.insert(0, ${JSON.stringify(join(root, 'scripts'))})
import torch
from bert.checkpoint import CheckpointError, load_model
from bert.layout import CheckpointError as LayoutError
fx, tmp = sys.argv[1], sys.argv[2]
out = {}

def variant(name, src, edit_sd=None, edit_cfg=None):
    d = os.path.join(tmp, name)
    shutil.copytree(os.path.join(fx, src, "hf"), d)
    sd = torch.load(os.path.join(d, "pytorch_model.bin"))
    if edit_sd: edit_sd(sd)
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    cfg = json.load(open(os.path.join(d, "config.json")))
    if edit_cfg: edit_cfg(cfg)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    return d

def run(m, n):
    ids = torch.tensor([[0, 2400, 3500, 2100, 2]])
    with torch.no_grad():
        return m(*(ids, torch.ones_like(ids), torch.zeros_like(ids))[:n])

def same(a, b):
    return float((run(a.module, a.arch.forward_inputs) - run(b.module, b.arch.forward_inputs)).abs().max())

def pop(*keys):
    return lambda sd: [sd.pop(k) for k in keys]

base = load_model(os.path.join(fx, "roberta-mlm", "hf"), loader="torch")
# safetensors files leave tied tensors out; old .bin files kept position_ids / token_type_ids
# buffers; roberta-base's MLM checkpoint carries a pooler RobertaForMaskedLM does not have.
def legacy(sd):
    sd.pop("lm_head.decoder.weight"); sd.pop("lm_head.decoder.bias")
    sd["roberta.embeddings.position_ids"] = torch.arange(514)[None]
    sd["roberta.embeddings.token_type_ids"] = torch.zeros(1, 514, dtype=torch.long)
    sd["roberta.pooler.dense.weight"] = torch.zeros(32, 32); sd["roberta.pooler.dense.bias"] = torch.zeros(32)
v = load_model(variant("roberta-legacy", "roberta-mlm", legacy), loader="torch")
out["roberta_legacy"] = {"diff": same(v, base), "notes": v.notes}
# A head's checkpoint exported as its encoder: the prefix goes, the head is dropped.
enc = load_model(os.path.join(fx, "mpnet-mlm", "hf"), "MPNetModel", loader="torch")
mlm = load_model(os.path.join(fx, "mpnet-mlm", "hf"), loader="torch")
out["mpnet_encoder"] = {"arch": enc.arch.name, "notes": enc.notes,
    "diff": float((run(enc.module, 2) - run(mlm.module.mpnet, 2)).abs().max())}
# ELECTRA's discriminator (ElectraForPreTraining) is served as its encoder.
def disc(sd):
    for k in [k for k in sd if k.startswith("generator_")]: sd.pop(k)
    sd["discriminator_predictions.dense.weight"] = torch.zeros(32, 32)
    sd["discriminator_predictions.dense.bias"] = torch.zeros(32)
    sd["discriminator_predictions.dense_prediction.weight"] = torch.zeros(1, 32)
    sd["discriminator_predictions.dense_prediction.bias"] = torch.zeros(1)
d = load_model(variant("electra-disc", "electra-mlm", disc, lambda c: c.update(architectures=["ElectraForPreTraining"])), loader="torch")
g = load_model(os.path.join(fx, "electra-mlm", "hf"), loader="torch")
out["electra_discriminator"] = {"arch": d.arch.name,
    "diff": float((run(d.module, 3) - run(g.module.electra, 3)).abs().max())}
errors = {}
for name, src, edit_sd, edit_cfg in [
        ("missing-bias", "mpnet-classify", pop("mpnet.encoder.relative_attention_bias.weight"), None),
        ("model-type-mismatch", "roberta-mlm", None, lambda c: c.update(architectures=["BertForMaskedLM"])),
        ("unknown-model-type", "distilbert-ner", None, lambda c: c.update(model_type="albert")),
        ("distilbert-shape", "distilbert-ner", None, lambda c: c.update(n_layers=3))]:
    try:
        load_model(variant(name, src, edit_sd, edit_cfg), loader="torch")
        errors[name] = None
    except (CheckpointError, LayoutError) as e:
        errors[name] = str(e)
out["errors"] = errors
print(json.dumps(out))
`;
  const res = py(['-c', code, join(root, 'models', 'test'), tmp]);
  t.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout.trim().split('\n').pop());
  t.equal(r.roberta_legacy.diff, 0, 'tied decoder restored, buffers and pooler dropped: the same model');
  t.match(r.roberta_legacy.notes.join('\n'), /lm_head\.decoder\.weight tied to roberta\.embeddings\.word_embeddings\.weight/);
  t.match(r.roberta_legacy.notes.join('\n'), /dropped buffer roberta\.embeddings\.position_ids/);
  t.match(
    r.roberta_legacy.notes.join('\n'),
    /dropped roberta\.pooler\.dense\.weight \(not part of RobertaForMaskedLM, as in transformers\)/,
  );
  t.equal(r.mpnet_encoder.arch, 'MPNetModel');
  t.equal(r.mpnet_encoder.diff, 0, 'the encoder of the MLM checkpoint');
  t.match(r.mpnet_encoder.notes.join('\n'), /dropped \d+ head keys \(lm_head\..*\) for the bare encoder/);
  t.match(r.mpnet_encoder.notes.join('\n'), /no pooler in the checkpoint/);
  t.equal(r.electra_discriminator.arch, 'ElectraModel');
  t.equal(r.electra_discriminator.diff, 0);
  t.match(r.errors['missing-bias'], /missing keys: mpnet\.encoder\.relative_attention_bias\.weight/);
  t.match(
    r.errors['model-type-mismatch'],
    /architecture BertForMaskedLM is not a RoBERTa class, but config\.json's model_type is 'roberta'/,
  );
  t.match(
    r.errors['unknown-model-type'],
    /model_type is 'albert', which bert-serve does not serve; supported families \(model_type\): bert \(BERT\), distilbert \(DistilBERT\), roberta \(RoBERTa\), xlm-roberta \(XLM-RoBERTa\), electra \(ELECTRA\), mpnet \(MPNet\)/,
  );
  t.match(r.errors['distilbert-shape'], /missing keys: distilbert\.transformer\.layer\.2\./);
});

t.test('export_hf refuses a model_type it does not serve before loading torch, exit 2', async (t) => {
  const src = join(tmp, 'unknown-model-type'); // made by the test above
  const res = py([join(root, 'scripts', 'export_hf.py'), src, join(tmp, 'out-unknown')]);
  t.equal(res.status, 2, res.stderr);
  t.match(res.stderr, /model_type is 'albert', which bert-serve does not serve; supported families/);
  t.notMatch(res.stderr, /importing torch|Traceback/);
});

// MPNet here (relative position bias, two inputs); every family in test/long/families-reference.test.mjs.
t.test("export_hf --trace: MPNet's fill_mask_logits traced, served as the scripted export", async (t) => {
  await checkTraceExport(t, 'mpnet', tmp);
});
