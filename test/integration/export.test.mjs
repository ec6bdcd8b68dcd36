// The Python side that makes models: scripts/make_demo_model.py, scripts/export_hf.py,
// scripts/make_test_models.py and scripts/vocab.py, run as users run them (child processes with
// Debian's torch, BERT_SERVE_PYTHON to override) on a temporary directory. Checks the model
// directory layout, that Hugging Face state dicts load strictly into our modules and agree with an
// independent functional BERT, that bad checkpoints are refused with a clear message and exit 2,
// and that the vocabulary and tokenizer.json resolve to the real bert-base-uncased files.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const python = process.env.BERT_SERVE_PYTHON ?? '/usr/bin/python3';
const VOCAB_SHA256 = '07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3';
const tmp = mkdtempSync(join(tmpdir(), 'bert-serve-export-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
// About 30 Python processes that import torch (2 s each on an idle machine); much more when busy.
t.setTimeout(600_000);

function py(args, { env = {}, input } = {}) {
  // PASSIVE: idle OpenMP threads sleep instead of spinning, which only costs when the machine
  // is shared with other test processes (docs/performance.md).
  const res = spawnSync(python, args, {
    cwd: root,
    encoding: 'utf8',
    input,
    maxBuffer: 64 * 1024 * 1024,
    env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env },
  });
  if (res.error) throw res.error;
  return res;
}
const script = (name, ...args) => py([join(root, 'scripts', name), ...args]);
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const json = (path) => JSON.parse(readFileSync(path, 'utf8'));

// Runs a Python snippet with scripts/ importable; it prints one JSON line.
function check(code, ...args) {
  const res = py(['-c', `import sys; sys.path.insert(0, ${JSON.stringify(join(root, 'scripts'))})\n${code}`, ...args]);
  if (res.status !== 0) throw new Error(`python check failed (${res.status}): ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop());
}

const demo = join(tmp, 'demo');
const stSrc = join(tmp, 'st-src'); // the demo checkpoint as transformers would save it today

t.test('make_demo_model writes the HF checkpoint and the exported model directory', async (t) => {
  const res = script('make_demo_model.py', demo);
  t.equal(res.status, 0, res.stderr);
  t.equal(res.stdout.trim().split('\n').length, 1, 'prints one line');
  t.match(res.stdout, /made demo BertForMaskedLM .* median [0-9.]+/);
  for (const f of [
    'model.pt',
    'config.json',
    'vocab.txt',
    'tokenizer_config.json',
    '.bert-serve-stamp.json',
    'hf/config.json',
    'hf/pytorch_model.bin',
    'hf/vocab.txt',
    'hf/tokenizer_config.json',
  ]) {
    t.ok(existsSync(join(demo, f)), f);
  }
  const config = json(join(demo, 'config.json'));
  t.same(config.architectures, ['BertForMaskedLM']);
  t.match(config, {
    vocab_size: 30522,
    hidden_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 512,
    max_position_embeddings: 512,
    type_vocab_size: 2,
  });
  t.match(config.bert_serve, { dtype: 'float32', signature: 'fill_mask_logits', task: 'fill-mask', torchscript: 'script' });
  t.equal(sha256(join(demo, 'vocab.txt')), VOCAB_SHA256, 'the real uncased vocabulary');
  t.match(json(join(demo, 'tokenizer_config.json')), { do_lower_case: true, model_max_length: 512 });

  const again = script('make_demo_model.py', demo);
  t.equal(again.status, 0, again.stderr);
  t.match(again.stdout, /up to date/, 'a second run does nothing');
});

t.test('HF state dicts load strictly; model.pt agrees with an independent functional BERT', async (t) => {
  cpSync(join(demo, 'hf'), stSrc, { recursive: true });
  const r = check(
    `
import json, math, torch
from bert import safetensors
from bert.modeling import BertConfig, BertForMaskedLM
d, st_dir = sys.argv[1:3]
sd = torch.load(d + "/hf/pytorch_model.bin")
# For the next test: safetensors without the tied copies, as transformers writes it.
safetensors.save({k: v for k, v in sd.items() if not k.startswith("cls.predictions.decoder.")},
                 st_dir + "/model.safetensors", {"format": "pt"})
cfg = BertConfig.from_dict(json.load(open(d + "/hf/config.json")))
eager = BertForMaskedLM(cfg).eval()
eager.load_state_dict(sd, strict=True)          # the HF checkpoint, as is
ts = torch.jit.load(d + "/model.pt")
ts_sd = {k: v for k, v in ts.state_dict().items() if not k.endswith("position_ids")}
BertForMaskedLM(cfg).load_state_dict(ts_sd, strict=True)
# A second implementation straight from the HF key names (no shared code with modeling.py).
def ln(x, p): return torch.nn.functional.layer_norm(x, x.shape[-1:], sd[p + ".weight"], sd[p + ".bias"], 1e-12)
def lin(x, p): return x @ sd[p + ".weight"].T + sd[p + ".bias"]
def bert(ids, am):
    b, s = ids.shape; H = cfg.num_attention_heads; D = cfg.hidden_size // H
    e = "bert.embeddings."
    x = sd[e + "word_embeddings.weight"][ids] + sd[e + "token_type_embeddings.weight"][0] + sd[e + "position_embeddings.weight"][:s]
    x = ln(x, e + "LayerNorm")
    neg = (1.0 - am[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for i in range(cfg.num_hidden_layers):
        p = f"bert.encoder.layer.{i}."
        q, k, v = (lin(x, p + "attention.self." + n).view(b, s, H, D).transpose(1, 2) for n in ("query", "key", "value"))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + neg, -1) @ v
        x = ln(lin(a.transpose(1, 2).reshape(b, s, H * D), p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        f = torch.nn.functional.gelu(lin(x, p + "intermediate.dense"))
        x = ln(lin(f, p + "output.dense") + x, p + "output.LayerNorm")
    h = ln(torch.nn.functional.gelu(lin(x, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
    return h @ sd["bert.embeddings.word_embeddings.weight"].T + sd["cls.predictions.bias"]
ids = torch.tensor([[101, 1996, 3007, 1997, 103, 2003, 3000, 1012, 102], [101, 7592, 103, 102, 0, 0, 0, 0, 0]])
am = (ids != 0).long(); tt = torch.zeros_like(ids)
with torch.no_grad():
    ref = bert(ids, am); out = ts(ids, am, tt)
    rows = ts.fill_mask_logits(ids, am, tt, torch.tensor([4, 9 + 2]))
valid = am.bool()
print(json.dumps({"diff": float((out - ref)[valid].abs().max()),
                  "rows": float((rows - out.reshape(-1, out.shape[-1])[[4, 11]]).abs().max()),
                  "methods": [m for m in ("forward", "fill_mask_logits") if hasattr(ts, m)],
                  "tied": ts.state_dict()["cls.predictions.decoder.weight"].data_ptr()
                          == ts.state_dict()["bert.embeddings.word_embeddings.weight"].data_ptr()}))
`,
    demo,
    stSrc,
  );
  t.ok(r.diff < 1e-4, `forward vs functional BERT: max abs diff ${r.diff}`);
  t.ok(r.rows < 1e-4, `fill_mask_logits vs forward rows: ${r.rows}`);
  t.same(r.methods, ['forward', 'fill_mask_logits']);
  t.ok(r.tied, 'the decoder weight is the word-embedding tensor in model.pt');
});

t.test('export_hf: safetensors input, tokenizer.json, trace; the reference agrees', async (t) => {
  const src = stSrc; // model.safetensors written by the previous test; tokenizer.json only
  unlinkSync(join(src, 'pytorch_model.bin'));
  unlinkSync(join(src, 'vocab.txt'));
  const v = script('vocab.py', '--tokenizer-json', join(src, 'tokenizer.json'));
  t.equal(v.status, 0, v.stderr);

  const out = join(tmp, 'st-out');
  const res = script('export_hf.py', src, out, '--trace');
  t.equal(res.status, 0, res.stderr);
  t.match(res.stdout, /weights from model\.safetensors/);
  t.match(res.stdout, /decoder\.weight tied/);
  t.match(res.stdout, /exported BertForMaskedLM \(fill-mask, float32, trace, signature fill_mask_logits\)/);
  t.ok(existsSync(join(out, 'tokenizer.json')), 'tokenizer.json copied');
  t.notOk(existsSync(join(out, 'vocab.txt')), 'no vocab.txt invented');
  t.equal(json(join(out, 'config.json')).bert_serve.torchscript, 'trace');

  // Same weights, other route: the reference (which reads model.pt's state dict here, as out/
  // has no hf/) gives the demo's answers exactly.
  const reqs = [{ ids: [101, 1996, 3007, 1997, 103, 2003, 3000, 1012, 102], top_k: 5 }, { ids: [101, 103, 7592, 103, 102] }];
  const input = reqs.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const a = py([join(root, 'scripts', 'reference_fill_mask.py'), out], { input });
  const b = py([join(root, 'scripts', 'reference_fill_mask.py'), demo], { input });
  t.equal(a.status, 0, a.stderr);
  t.equal(a.stdout, b.stdout, 'identical reference answers');
  const first = JSON.parse(b.stdout.split('\n')[0]);
  t.same(first.mask_positions, [4]);
  t.equal(first.top[0].length, 5);
  t.ok(first.top[0][0].score - first.top[0][1].score > 1e-3, 'top scores are well apart');
});

t.test('export_hf refuses bad checkpoints with a clear message and exit 2', async (t) => {
  const good = join(demo, 'hf');
  const make = (name, edit) => {
    const d = join(tmp, name);
    cpSync(good, d, { recursive: true });
    edit(d);
    return d;
  };
  const cases = [
    ['no config.json', make('no-config', (d) => unlinkSync(join(d, 'config.json'))), /no config\.json/],
    [
      'config not JSON',
      make('bad-json', (d) => writeFileSync(join(d, 'config.json'), '{"architectures": [')),
      /config\.json: not valid JSON/,
    ],
    [
      'unsupported architecture',
      make('gpt2', (d) => {
        const c = json(join(d, 'config.json'));
        writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, architectures: ['GPT2LMHeadModel'] }));
      }),
      /unsupported architecture GPT2LMHeadModel: supported BERT architectures are BertForMaskedLM/,
    ],
    [
      'no weights',
      make('no-weights', (d) => unlinkSync(join(d, 'pytorch_model.bin'))),
      /no weights \(looked for model\.safetensors, pytorch_model\.bin/,
    ],
    ['no tokenizer', make('no-tok', (d) => unlinkSync(join(d, 'vocab.txt'))), /no tokenizer \(needs vocab\.txt or tokenizer\.json\)/],
    [
      'weights of another shape',
      make('one-layer', (d) => {
        const c = json(join(d, 'config.json'));
        writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, num_hidden_layers: 3 }));
      }),
      /do not fit the architecture in config\.json: missing keys: bert\.encoder\.layer\.2\./,
    ],
    [
      'not a state dict',
      make('garbage', (d) => writeFileSync(join(d, 'pytorch_model.bin'), 'garbage')),
      /pytorch_model\.bin: not a plain PyTorch state dict/,
    ],
    ['no such directory', join(tmp, 'nope'), /not a directory/],
  ];
  for (const [what, src, message] of cases) {
    const out = join(tmp, `out-${what.replace(/\W+/g, '-')}`);
    const res = script('export_hf.py', src, out);
    t.equal(res.status, 2, `${what}: exit 2`);
    t.match(res.stderr, message, `${what}: ${res.stderr.trim()}`);
    t.notMatch(res.stderr, /Traceback/, `${what}: no traceback`);
    t.notOk(existsSync(join(out, 'model.pt')), `${what}: no model.pt written`);
  }
});

t.test('vocabulary resolution: the first intact copy wins, the repository copy is always there', async (t) => {
  const shared = script('vocab.py', '--out', join(tmp, 'v1.txt'));
  t.equal(shared.status, 0, shared.stderr);
  t.equal(JSON.parse(shared.stdout).sha256, VOCAB_SHA256);
  t.equal(sha256(join(tmp, 'v1.txt')), VOCAB_SHA256);

  // A directory whose copy is damaged is skipped (hash check), and resolution goes on to the next.
  const damaged = join(tmp, 'damaged-data');
  cpSync(join(root, 'test', 'data', 'shared'), damaged, { recursive: true });
  writeFileSync(join(damaged, 'bert-base-uncased-vocab.txt'), '[PAD]\n[UNK]\n');
  const res = py([join(root, 'scripts', 'vocab.py'), '--out', join(tmp, 'v2.txt'), '--tokenizer-json', join(tmp, 't2.json')], {
    env: { BERT_SERVE_SHARED_DATA: damaged },
  });
  t.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  t.notMatch(out.source, /damaged-data/, `not the damaged copy: ${out.source}`);
  t.equal(out.sha256, VOCAB_SHA256);
  t.equal(out.tokens, 30522);
  t.equal(sha256(join(tmp, 'v2.txt')), VOCAB_SHA256);

  // The repository's own copy (what a clean clone without ../shared resolves to) is intact.
  t.equal(sha256(join(root, 'test', 'data', 'shared', 'bert-base-uncased-vocab.txt')), VOCAB_SHA256);

  // The tokenizer.json generator (used when no intact copy is found) equals the real file.
  const generated = check(`import json, vocab
tokens, _ = vocab.uncased_vocab()
print(json.dumps(vocab.tokenizer_json(tokens), ensure_ascii=False))`);
  const real = json(join(root, 'test', 'data', 'shared', 'bert-base-uncased-tokenizer.json'));
  t.same(generated, real, 'generated tokenizer.json equals the real one');
  t.same(json(join(tmp, 't2.json')), real, 'the copied tokenizer.json is the real one');
});

t.test('make_test_models: tokenizer-json and traced fixtures', async (t) => {
  const out = join(tmp, 'fixtures');
  const res = script('make_test_models.py', out, '--only', 'tokenizer-json,traced');
  t.equal(res.status, 0, res.stderr);
  t.ok(existsSync(join(out, 'tokenizer-json', 'tokenizer.json')));
  t.notOk(existsSync(join(out, 'tokenizer-json', 'vocab.txt')));
  t.ok(statSync(join(out, 'traced', 'model.pt')).size > 1e6);
  const index = json(join(out, 'fixtures.json'));
  t.same(Object.keys(index).sort(), ['tokenizer-json', 'traced']);
  const r = check(
    `
import json, torch
m = torch.jit.load(sys.argv[1] + "/traced/model.pt")
ids = torch.tensor([[101, 7592, 103, 102]])
out = m(ids, torch.ones_like(ids))
print(json.dumps({"tuple": isinstance(out, tuple), "shape": list(out[0].shape), "fill": hasattr(m, "fill_mask_logits")}))
`,
    out,
  );
  t.same(r, { tuple: true, shape: [1, 4, 30522], fill: false }, 'traced: 2 inputs, (logits,), no fast path');
  const again = script('make_test_models.py', out, '--only', 'tokenizer-json,traced');
  t.match(again.stdout, /tokenizer-json: up to date; traced: up to date/);
  const bad = script('make_test_models.py', out, '--only', 'nonsense'); // refused before torch loads
  t.equal(bad.status, 2);
  t.match(bad.stderr, /unknown fixture nonsense/);
});

// ---- the other tasks: embeddings, classification, rerank, token classification ----

const fx = join(tmp, 'task-fixtures');
const TASK_FIXTURES = [
  'tiny',
  'embed',
  'embed-cls',
  'classify',
  'classify-multi',
  'rerank',
  'ner',
  'mlm-traced',
  'embed-traced',
  'embed-traced-nopooler',
  'classify-traced',
  'ner-traced',
  'int8',
  'classify-int8',
];
const reference = (dir, reqs) => {
  const res = py([join(root, 'scripts', 'reference.py'), dir], { input: reqs.map((r) => JSON.stringify(r)).join('\n') + '\n' });
  return {
    ...res,
    answers:
      res.status === 0
        ? res.stdout
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l))
        : [],
  };
};
const close = (a, b, tol) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= tol);

t.test('make_test_models: task fixtures export, round-trip and trace as users do', async (t) => {
  const res = script('make_test_models.py', fx, '--only', TASK_FIXTURES.join(','));
  t.equal(res.status, 0, res.stderr);
  const index = json(join(fx, 'fixtures.json'));
  t.same(Object.keys(index).sort(), [...TASK_FIXTURES].sort());
  for (const name of TASK_FIXTURES) t.ok(index[name].description.length > 10, `${name} is described`);
  for (const f of ['modules.json', '1_Pooling/config.json', 'config_sentence_transformers.json', 'hf/modules.json']) {
    t.ok(existsSync(join(fx, 'embed', f)), `embed/${f}`);
  }
  t.same(json(join(fx, 'embed', 'config_sentence_transformers.json')).prompts, { query: 'query: ', passage: 'passage: ' });
  t.notOk(existsSync(join(fx, 'embed-cls', 'modules.json')), 'embed-cls: no pooling config');
  const cfg = (n) => json(join(fx, n, 'config.json'));
  t.match(cfg('embed').bert_serve, {
    task: 'embeddings',
    sentence_transformers: { pooling: 'mean', pooling_config: '1_Pooling/config.json', normalize: false },
  });
  t.same(cfg('classify').id2label, { 0: 'negative', 1: 'neutral', 2: 'positive' });
  t.same(cfg('classify').label2id, { negative: 0, neutral: 1, positive: 2 });
  t.equal(cfg('classify-multi').problem_type, 'multi_label_classification');
  t.same(cfg('rerank').id2label, { 0: 'LABEL_0' });
  t.same(Object.values(cfg('ner').id2label), ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG', 'B-MISC', 'I-MISC']);
  t.match(cfg('ner').bert_serve, { task: 'token-classification', signature: 'forward' });
  for (const n of ['int8', 'classify-int8']) {
    t.match(cfg(n).bert_serve, { quantization: 'int8-dynamic', quantized_engine: /^(onednn|fbgemm|x86|qnnpack)$/, dtype: 'float32' });
    t.ok(cfg(n).bert_serve.verify.top1_agreement >= 0.5, `${n}: top-1 agreement ${cfg(n).bert_serve.verify.top1_agreement}`);
  }
  t.same(
    cfg('classify-int8').bert_serve.float32_linear_layers,
    ['bert.pooler.dense', 'classifier'],
    'classify-int8: the pooler and classifier stay float32',
  );
  for (const n of ['mlm-traced', 'embed-traced', 'embed-traced-nopooler', 'classify-traced', 'ner-traced']) {
    t.notOk('bert_serve' in cfg(n), `${n}: a user's config, no bert_serve block`);
  }

  // Each model.pt against the eager module of its counterpart's HF checkpoint, on a padded batch.
  const r = check(
    `
import json, torch
from bert.checkpoint import load_model
d = sys.argv[1]
ids = torch.tensor([[101, 2198, 3044, 3268, 1999, 2047, 2259, 102], [101, 7592, 2088, 102, 0, 0, 0, 0]])
am = (ids != 0).long(); tt = torch.zeros_like(ids)
tt[0, 5:] = 1  # type-1 tokens for the files that take token_type_ids
src = {"mlm-traced": "tiny", "embed-traced": "embed", "embed-traced-nopooler": "embed", "classify-traced": "classify",
       "ner-traced": "ner", "int8": "tiny", "classify-int8": "classify"}
out = {}
with torch.no_grad():
    for name in ${JSON.stringify(TASK_FIXTURES)}:
        m = torch.jit.load(f"{d}/{name}/model.pt")
        eager = load_model(f"{d}/{src.get(name, name)}/hf", loader="torch").module
        traced = name.endswith("-traced") or name.endswith("-nopooler")
        res = m(ids, am) if traced else m(ids, am, tt)
        n_out = len(res) if isinstance(res, tuple) else 0
        got = res[0] if isinstance(res, tuple) else res
        want = eager(ids, am, torch.zeros_like(ids) if traced else tt)
        diff = (got - want).abs()
        if diff.dim() == 3:
            diff = diff * am[..., None]
        info = {"shape": list(got.shape), "tuple": n_out, "diff": float(diff.max()),
                "scale": float(want.abs().max()), "fill": hasattr(m, "fill_mask_logits"),
                "children": [c for c, _ in m.named_children()]}
        if name == "embed-traced":
            info["pooler_diff"] = float((res[1] - eager.pooler(want)).abs().max())
        if traced:
            sub = m.bert if hasattr(m, "bert") else m
            info["sub_children"] = [c for c, _ in sub.named_children()]
            bf = torch.jit.load(f"{d}/{name}/model.pt"); bf.to(torch.bfloat16)
            try:
                bf(ids, am); info["bf16"] = "ran"
            except Exception as e:
                info["bf16"] = str(e).strip().splitlines()[-1]
        out[name] = info
print(json.dumps(out))
`,
    fx,
  );
  const exact = [
    'tiny',
    'embed',
    'embed-cls',
    'classify',
    'classify-multi',
    'rerank',
    'ner',
    'mlm-traced',
    'embed-traced',
    'embed-traced-nopooler',
    'classify-traced',
    'ner-traced',
  ];
  for (const n of exact) t.ok(r[n].diff <= 1e-5, `${n}: jit.load output vs eager ${r[n].diff}`);
  for (const n of ['int8', 'classify-int8'])
    t.ok(r[n].diff > 0 && r[n].diff <= 0.25 * r[n].scale, `${n}: int8 vs fp32 ${r[n].diff} (scale ${r[n].scale})`);
  t.ok(r['embed-traced'].pooler_diff <= 1e-5, 'embed-traced: pooler_output');
  const shapes = {
    embed: [2, 8, 32],
    'embed-cls': [2, 8, 32],
    classify: [2, 3],
    'classify-multi': [2, 4],
    rerank: [2, 1],
    ner: [2, 8, 9],
    'mlm-traced': [2, 8, 30522],
    'embed-traced': [2, 8, 32],
    'embed-traced-nopooler': [2, 8, 32],
    'classify-traced': [2, 3],
    'ner-traced': [2, 8, 9],
    int8: [2, 8, 30522],
    'classify-int8': [2, 3],
  };
  for (const [n, s] of Object.entries(shapes)) t.same(r[n].shape, s, `${n}: output shape`);
  t.same(
    Object.fromEntries(
      ['mlm-traced', 'embed-traced', 'embed-traced-nopooler', 'classify-traced', 'ner-traced'].map((n) => [n, r[n].tuple]),
    ),
    { 'mlm-traced': 1, 'embed-traced': 2, 'embed-traced-nopooler': 1, 'classify-traced': 1, 'ner-traced': 1 },
    'traced files return tuples',
  );
  t.same(r['mlm-traced'].children, ['bert', 'cls']);
  t.same(r['mlm-traced'].sub_children, ['embeddings', 'encoder']);
  t.same(r['classify-traced'].children, ['bert', 'classifier']);
  t.same(r['classify-traced'].sub_children, ['embeddings', 'encoder', 'pooler']);
  t.same(r['ner-traced'].children, ['bert', 'classifier']);
  t.same(r['embed-traced'].children, ['embeddings', 'encoder', 'pooler']);
  t.same(r['embed-traced-nopooler'].children, ['embeddings', 'encoder']);
  for (const n of ['mlm-traced', 'embed-traced', 'embed-traced-nopooler', 'classify-traced', 'ner-traced']) {
    t.match(r[n].bf16, /expected scalar type/, `${n}: the float32 mask conversion is baked in (${r[n].bf16})`);
  }
  t.ok(r.int8.fill && r.tiny.fill && !r['mlm-traced'].fill, 'fill_mask_logits in tiny and int8, not in the trace');
  t.notOk(r.ner.fill || r.classify.fill, 'no fill_mask_logits outside fill-mask');
});

t.test('export_hf: sentence-transformers layout from safetensors, pooling under another folder name', async (t) => {
  const src = join(tmp, 'st-embed');
  cpSync(join(fx, 'embed', 'hf'), src, { recursive: true });
  const r = check(
    `
import json, os, torch
from bert import safetensors
src = sys.argv[1]
sd = torch.load(src + "/pytorch_model.bin")
os.remove(src + "/pytorch_model.bin")
safetensors.save(sd, src + "/model.safetensors", {"format": "pt"})
os.rename(src + "/1_Pooling", src + "/2_MeanPool")
modules = json.load(open(src + "/modules.json"))
modules[1]["path"] = "2_MeanPool"
modules.append({"idx": 2, "name": "2", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"})
json.dump(modules, open(src + "/modules.json", "w"))
cfg = json.load(open(src + "/config.json"))
cfg["architectures"] = ["BertForMaskedLM"]  # as many sentence-transformers checkpoints say
json.dump(cfg, open(src + "/config.json", "w"))
print(json.dumps({"prefixed": [k for k in sd if k.startswith("bert.")], "n": len(sd),
                  "pooler": any(k.startswith("pooler.") for k in sd)}))
`,
    src,
  );
  t.same(r.prefixed, [], 'keys without the bert. prefix');
  t.ok(r.pooler, 'with the pooler');
  const out = join(tmp, 'st-embed-out');
  const res = script('export_hf.py', src, out);
  t.equal(res.status, 0, res.stderr);
  t.match(res.stdout, /weights from model\.safetensors/);
  t.match(res.stdout, /sentence-transformers: pooling mean \(2_MeanPool\/config\.json\), normalize true/);
  t.match(res.stdout, /exported BertModel \(embeddings, float32, script, signature forward\)/);
  for (const f of ['modules.json', '2_MeanPool/config.json', 'config_sentence_transformers.json', 'sentence_bert_config.json']) {
    t.equal(readFileSync(join(out, f), 'utf8'), readFileSync(join(src, f), 'utf8'), `${f} copied as is`);
  }
  t.ok(statSync(join(out, '3_Normalize')).isDirectory(), 'the Normalize module folder');
  t.match(json(join(out, 'config.json')).bert_serve.sentence_transformers, {
    pooling: 'mean',
    pooling_config: '2_MeanPool/config.json',
    normalize: true,
  });
  t.same(json(join(out, 'config.json')).architectures, ['BertModel']);
  // Same weights as embed: the reference gives embed's answer (default pooling from modules.json).
  const req = [{ task: 'embed', ids: [101, 2198, 3044, 102] }];
  t.same(reference(out, req).answers, reference(join(fx, 'embed'), req).answers, 'same embedding as the embed fixture');

  // Re-exporting a plain checkpoint into the same directory removes the stale pooling files.
  const plain = script('export_hf.py', join(fx, 'embed-cls', 'hf'), out);
  t.equal(plain.status, 0, plain.stderr);
  t.notOk(
    existsSync(join(out, 'modules.json')) || existsSync(join(out, '2_MeanPool', 'config.json')),
    'stale sentence-transformers files removed',
  );

  // A module bert-serve does not compute is refused, not dropped.
  const modules = json(join(src, 'modules.json'));
  writeFileSync(
    join(src, 'modules.json'),
    JSON.stringify([...modules, { idx: 3, name: '3', path: '4_LayerNorm', type: 'sentence_transformers.models.LayerNorm' }]),
  );
  const other = script('export_hf.py', src, join(tmp, 'st-layernorm-out'));
  t.equal(other.status, 2);
  t.match(other.stderr, /module sentence_transformers\.models\.LayerNorm \(4_LayerNorm\) is not supported/);
  t.notMatch(other.stderr, /Traceback/);
  // A Dense module is computed after pooling (models/zoo's st-* cases), not after Normalize.
  writeFileSync(
    join(src, 'modules.json'),
    JSON.stringify([...modules, { idx: 3, name: '3', path: '4_Dense', type: 'sentence_transformers.models.Dense' }]),
  );
  const dense = script('export_hf.py', src, join(tmp, 'st-dense-out'));
  t.equal(dense.status, 2);
  t.match(dense.stderr, /a Dense module \(4_Dense\) is computed after pooling and before Normalize/);
  t.notMatch(dense.stderr, /Traceback/);
  writeFileSync(join(src, '2_MeanPool', 'config.json'), '{"pooling_mode_mean_tokens": tru');
  writeFileSync(join(src, 'modules.json'), JSON.stringify(modules));
  const badPool = script('export_hf.py', src, join(tmp, 'st-badpool-out'));
  t.equal(badPool.status, 2);
  t.match(badPool.stderr, /2_MeanPool\/config\.json: the pooling config is not valid JSON/);
});

t.test('export_hf: token classification (pooler keys dropped), bfloat16', async (t) => {
  const src = join(tmp, 'ner-src');
  cpSync(join(fx, 'ner', 'hf'), src, { recursive: true });
  check(
    `
import torch
p = sys.argv[1] + "/pytorch_model.bin"
sd = torch.load(p)
sd["bert.pooler.dense.weight"] = torch.zeros(32, 32); sd["bert.pooler.dense.bias"] = torch.zeros(32)
torch.save(sd, p)
print("{}")
`,
    src,
  );
  const res = script('export_hf.py', src, join(tmp, 'ner-out'));
  t.equal(res.status, 0, res.stderr);
  t.match(res.stdout, /dropped bert\.pooler\.dense\.weight \(not part of BertForTokenClassification, as in transformers\)/);
  t.match(res.stdout, /exported BertForTokenClassification \(token-classification, float32, script, signature forward\)/);

  const bf = script('export_hf.py', join(fx, 'classify', 'hf'), join(tmp, 'classify-bf16'), '--dtype', 'bfloat16');
  t.equal(bf.status, 0, bf.stderr);
  t.match(bf.stdout, /exported BertForSequenceClassification \(classification, bfloat16, script/);
  t.match(json(join(tmp, 'classify-bf16', 'config.json')).bert_serve, { dtype: 'bfloat16' });
});

t.test('export_hf --quantize int8: engine recorded, verified loosely, clear refusals', async (t) => {
  const out = join(tmp, 'mlm-int8');
  const res = script('export_hf.py', join(fx, 'tiny', 'hf'), out, '--quantize', 'int8');
  t.equal(res.status, 0, res.stderr);
  t.match(
    res.stdout,
    /exported BertForMaskedLM \(fill-mask, float32, int8-dynamic on (onednn|fbgemm|x86|qnnpack), script, signature fill_mask_logits\)/,
  );
  t.match(res.stdout, /verify max_abs_diff [0-9.e-]+, fill_mask_vs_forward [0-9.e-]+, padding_diff [0-9.e-]+, top1_agreement [0-9.]+/);
  const r = check(
    `
import json, torch
from bert.export import pick_quantized_engine
from bert.layout import CheckpointError
m = torch.jit.load(sys.argv[1] + "/model.pt")
names = [n for n, _ in m.named_modules() if n.endswith("._packed_params")]
packed = [n[: -len("._packed_params")] for n in names]
kept = [n for n, s in m.named_modules() if s.original_name == "Linear" and n not in packed]
msgs = []
for supported in ([], ["none"], ["qnnpack", "none"]):
    try:
        msgs.append(pick_quantized_engine(supported))
    except CheckpointError as e:
        msgs.append(str(e))
print(json.dumps({"packed": packed, "kept": kept, "fill": hasattr(m, "fill_mask_logits"), "msgs": msgs}))
`,
    out,
  );
  // The encoder's linear layers are int8; the masked LM's head (transform and vocabulary projection)
  // stays float32, and config.json says which.
  const bs = json(join(out, 'config.json')).bert_serve;
  t.ok(r.packed.length >= 6, `quantized Linear layers in model.pt: ${r.packed.length}`);
  t.ok(
    r.packed.every((n) => n.startsWith('bert.encoder.layer.')),
    `only the encoder's: ${r.packed.join(', ')}`,
  );
  t.same(r.kept, ['cls.predictions.transform.dense', 'cls.predictions.decoder'], 'the head stays float32');
  t.equal(bs.int8_linear_layers, r.packed.length);
  t.same(bs.float32_linear_layers, r.kept);
  t.ok(r.fill, 'fill_mask_logits kept');
  t.match(r.msgs[0], /--quantize int8: this torch has no quantized engine \(supported: none; needs one of onednn, fbgemm, x86, qnnpack\)/);
  t.match(r.msgs[1], /no quantized engine/);
  t.equal(r.msgs[2], 'qnnpack');

  // An encoder: compared by cosine similarity; the sentence-transformers files still come along.
  const enc = script('export_hf.py', join(fx, 'embed', 'hf'), join(tmp, 'embed-int8'), '--quantize', 'int8');
  t.equal(enc.status, 0, enc.stderr);
  const cos = Number(enc.stdout.match(/min_cosine ([0-9.]+)/)?.[1]);
  t.ok(cos > 0.99 && cos < 1, `int8 encoder: min cosine ${cos}`);
  t.ok(existsSync(join(tmp, 'embed-int8', '1_Pooling', 'config.json')));
  const encBs = json(join(tmp, 'embed-int8', 'config.json')).bert_serve;
  t.ok(encBs.int8_linear_layers >= 6, `int8 encoder: ${encBs.int8_linear_layers} quantized linear layers`);
  t.ok(
    encBs.float32_linear_layers.every((n) => !n.split('.').includes('encoder')),
    `int8 encoder: float32 outside the encoder only (${encBs.float32_linear_layers.join(', ') || 'none'})`,
  );

  const refusals = [
    [
      ['--quantize', 'int8', '--dtype', 'bfloat16'],
      /--quantize int8 works on the float32 model; it cannot be combined with --dtype bfloat16/,
    ],
    [['--quantize', 'int8', '--trace'], /--quantize int8 is exported with torch\.jit\.script; drop --trace/],
    [['--quantize', 'int4'], /invalid choice: 'int4'/],
  ];
  for (const [args, message] of refusals) {
    const bad = script('export_hf.py', join(fx, 'tiny', 'hf'), join(tmp, 'int8-refused'), ...args);
    t.equal(bad.status, 2, `${args.join(' ')}: exit 2`);
    t.match(bad.stderr, message, bad.stderr.trim());
    t.notMatch(bad.stderr, /Traceback/);
    t.notOk(existsSync(join(tmp, 'int8-refused', 'model.pt')));
  }
});

t.test('reference.py: pooling, classification and its defaults, traced files', async (t) => {
  const ids = [101, 2198, 3044, 3268, 1999, 2047, 2259, 102];
  const e = reference(join(fx, 'embed'), [
    { task: 'embed_all', ids },
    { task: 'embed', ids },
    ...['cls', 'mean', 'max', 'lasttoken'].map((pooling) => ({ task: 'embed', ids, pooling })),
    { task: 'embed', ids, pooling: 'mean', normalize: true },
  ]);
  t.equal(e.status, 0, e.stderr);
  const [all, dflt, cls, mean, max, last, normed] = e.answers.map((a) => a.embeddings ?? a.embedding);
  t.equal(all.length, ids.length);
  t.equal(all[0].length, 32);
  const dims = [...all[0].keys()];
  t.ok(close(cls, all[0], 0), 'cls = row 0');
  t.ok(close(last, all[ids.length - 1], 0), 'lasttoken = the last row');
  t.ok(
    close(
      mean,
      dims.map((j) => all.reduce((s, row) => s + row[j], 0) / all.length),
      1e-6,
    ),
    'mean over all tokens',
  );
  t.ok(
    close(
      max,
      dims.map((j) => Math.max(...all.map((row) => row[j]))),
      0,
    ),
    'max over tokens',
  );
  t.ok(close(dflt, mean, 0), 'embed defaults to its 1_Pooling config (mean)');
  const norm = Math.hypot(...mean);
  t.ok(
    close(
      normed,
      mean.map((x) => x / norm),
      1e-6,
    ),
    'normalize: L2',
  );

  const c = reference(join(fx, 'classify'), [
    { task: 'classify', ids },
    { task: 'classify', ids, function_to_apply: 'none' },
    { task: 'classify', ids, function_to_apply: 'sigmoid' },
  ]);
  t.equal(c.status, 0, c.stderr);
  const [soft, none, sig] = c.answers;
  t.same(soft.labels, ['negative', 'neutral', 'positive']);
  const ex = soft.logits.map(Math.exp);
  t.ok(
    close(
      soft.scores,
      ex.map((x) => x / ex.reduce((a, b) => a + b)),
      1e-6,
    ),
    'softmax by default',
  );
  t.same(none.scores, none.logits, 'function_to_apply none');
  t.ok(
    close(
      sig.scores,
      sig.logits.map((x) => 1 / (1 + Math.exp(-x))),
      1e-6,
    ),
    'function_to_apply sigmoid',
  );

  // The other layouts, in one process: traced files (weights from model.pt) answer as their
  // exported counterparts (weights from hf/); multi-label and rerank default to sigmoid.
  const r = check(
    `
import json
import reference as R
d = sys.argv[1]
ids = ${JSON.stringify(ids)}
def ask(name, req):
    return R.answer(R.Reference(d + "/" + name), R.parse(json.dumps(req)))
pairs = [("embed", "embed-traced", {"task": "embed", "ids": ids}),
         ("embed-cls", "embed-traced-nopooler", {"task": "embed", "ids": ids}),
         ("classify", "classify-traced", {"task": "classify", "ids": ids}),
         ("tiny", "mlm-traced", {"task": "fill_mask", "ids": [101, 2198, 103, 102], "top_k": 3}),
         ("ner", "ner-traced", {"task": "token_classify", "ids": ids, "text": "x" * len(ids),
                                "offsets": [[0, 0]] + [[i, i + 1] for i in range(1, len(ids) - 1)] + [[0, 0]],
                                "special": [True] + [False] * (len(ids) - 2) + [True],
                                "tokens": ["x"] * len(ids), "ignore_labels": []})]
out = {b: [ask(a, req), ask(b, req)] for a, b, req in pairs}
for name in ("classify-multi", "rerank"):
    out[name] = ask(name, {"task": "classify", "ids": ids})
print(json.dumps(out))
`,
    fx,
  );
  const flat = (a) =>
    JSON.stringify(a)
      .match(/-?[0-9.]+(e-?[0-9]+)?/g)
      .map(Number);
  for (const n of ['embed-traced', 'embed-traced-nopooler', 'classify-traced', 'mlm-traced', 'ner-traced']) {
    const [want, got] = r[n];
    t.ok(close(flat(got), flat(want), 1e-5), `${n} answers as its exported counterpart`);
  }
  t.ok(close(r['embed-traced-nopooler'][0].embedding, cls, 0), 'embed-cls defaults to cls pooling');
  t.equal(r['ner-traced'][1].entities.length, ids.length - 2, 'ner: every non-special token');
  t.equal(r['mlm-traced'][1].top[0].length, 3);
  for (const n of ['classify-multi', 'rerank']) {
    t.ok(
      close(
        r[n].scores,
        r[n].logits.map((x) => 1 / (1 + Math.exp(-x))),
        1e-6,
      ),
      `${n}: sigmoid by default`,
    );
  }
  t.equal(r.rerank.scores.length, 1);
  const wrong = reference(join(fx, 'classify'), [{ task: 'embed', ids }]);
  t.equal(wrong.status, 2);
  t.match(wrong.stderr, /input line 1: task embed needs a model of task embeddings; the model is a BertForSequenceClassification/);
});

t.test('reference.py: token classification, a port of the pipeline on hand-made logits', async (t) => {
  // "Jöhn 😀 Smithson visits U.S. today": the emoji is 2 UTF-16 units and an [UNK]; "smith ##son" is one
  // word whose pieces disagree; "u . s ." is B-LOC I-LOC I-LOC I-LOC; visits and today are O.
  const text = 'Jöhn 😀 Smithson visits U.S. today';
  const tokens = ['[CLS]', 'john', '[UNK]', 'smith', '##son', 'visits', 'u', '.', 's', '.', 'today', '[SEP]'];
  const offsets = [
    [0, 0],
    [0, 4],
    [5, 7],
    [8, 13],
    [13, 16],
    [17, 23],
    [24, 25],
    [25, 26],
    [26, 27],
    [27, 28],
    [29, 34],
    [0, 0],
  ];
  const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG', 'B-MISC', 'I-MISC'];
  const chosen = [
    [null, 0],
    ['B-PER', 4],
    ['I-PER', 2],
    ['I-PER', 3],
    ['B-LOC', 6],
    ['O', 5],
    ['B-LOC', 4],
    ['I-LOC', 3],
    ['I-LOC', 4],
    ['I-LOC', 2],
    ['O', 5],
    [null, 0],
  ];
  const logits = chosen.map(([label, v]) => LABELS.map((l) => (l === label ? v : 0)));
  const base = {
    task: 'token_classify',
    ids: [101, 2198, 100, 3044, 3385, 7879, 1057, 1012, 1055, 1012, 2651, 102],
    text,
    tokens,
    offsets,
    special: tokens.map((tok) => tok === '[CLS]' || tok === '[SEP]'),
    logits,
  };
  const strategies = ['none', 'simple', 'first', 'max', 'average'];
  const res = reference(join(fx, 'ner'), [
    ...strategies.map((s) => ({ ...base, aggregation_strategy: s })),
    { ...base, aggregation_strategy: 'simple', ignore_labels: [] },
    { ...base, logits: undefined, aggregation_strategy: 'simple' },
  ]);
  t.equal(res.status, 0, res.stderr);
  const [none, simple, first, max, average, all] = res.answers.map((a) => a.entities);
  const s = (v) => Math.exp(v) / (Math.exp(v) + 8); // softmax score of the chosen label
  const q = (v) => 1 / (Math.exp(v) + 8); // of each other label
  const mean = (...xs) => xs.reduce((a, b) => a + b) / xs.length;
  const want = {
    none: [
      ['B-PER', s(4), 1, 'john', 0, 4],
      ['I-PER', s(2), 2, '😀', 5, 7],
      ['I-PER', s(3), 3, 'smith', 8, 13],
      ['B-LOC', s(6), 4, '##son', 13, 16],
      ['B-LOC', s(4), 6, 'u', 24, 25],
      ['I-LOC', s(3), 7, '.', 25, 26],
      ['I-LOC', s(4), 8, 's', 26, 27],
      ['I-LOC', s(2), 9, '.', 27, 28],
    ].map(([entity, score, index, word, start, end]) => ({ entity, score, index, word, start, end })),
    // The fast tokenizer's WordPiece decoder: "##" glued except on the first token, " ." -> ".".
    simple: [
      ['PER', mean(s(4), s(2), s(3)), 'john 😀 smith', 0, 13],
      ['LOC', s(6), '##son', 13, 16],
      ['LOC', mean(s(4), s(3), s(4), s(2)), 'u. s.', 24, 28],
    ],
    first: [
      ['PER', mean(s(4), s(2), s(3)), 'john 😀 smithson', 0, 16],
      ['LOC', mean(s(4), s(3), s(4), s(2)), 'u. s.', 24, 28],
    ],
    max: [
      ['PER', mean(s(4), s(2)), 'john 😀', 0, 7],
      ['LOC', s(6), 'smithson', 8, 16],
      ['LOC', mean(s(4), s(3), s(4), s(2)), 'u. s.', 24, 28],
    ],
    average: [
      ['PER', mean(s(4), s(2)), 'john 😀', 0, 7],
      ['LOC', mean(q(3), s(6)), 'smithson', 8, 16],
      ['LOC', mean(s(4), s(3), s(4), s(2)), 'u. s.', 24, 28],
    ],
  };
  for (const k of ['simple', 'first', 'max', 'average']) {
    want[k] = want[k].map(([entity_group, score, word, start, end]) => ({ entity_group, score, word, start, end }));
  }
  const got = { none, simple, first, max, average };
  for (const k of strategies) {
    t.same(
      got[k].map((e) => Object.keys(e)),
      want[k].map((e) => Object.keys(e)),
      `${k}: fields in the pipeline's order`,
    );
    t.same(
      got[k].map(({ score, ...rest }) => rest),
      want[k].map(({ score, ...rest }) => rest),
      `${k}: entities`,
    );
    t.ok(
      close(
        got[k].map((e) => e.score),
        want[k].map((e) => e.score),
        1e-6,
      ),
      `${k}: scores`,
    );
  }
  t.same(
    all.map((e) => [e.entity_group, e.word]),
    [
      ['PER', 'john 😀 smith'],
      ['LOC', '##son'],
      ['O', 'visits'],
      ['LOC', 'u. s.'],
      ['O', 'today'],
    ],
    'ignore_labels []',
  );
  t.ok(Array.isArray(res.answers[6].entities), 'the model itself runs when no logits are given');

  const bad = reference(join(fx, 'ner'), [{ ...base, offsets: offsets.map(([x, y], i) => (i === 2 ? [6, 7] : [x, y])) }]);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /input line 1: offsets\[2\] \[6, 7\] is not a span of text/);
});
