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
// About 10 Python processes that import torch (2 s each on an idle machine); much more when busy.
t.setTimeout(300_000);

function py(args, { env = {}, input } = {}) {
  // PASSIVE: idle OpenMP threads sleep instead of spinning, which only costs when the machine
  // is shared with other test processes (docs/performance.md).
  const res = spawnSync(python, args, {
    cwd: root, encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024,
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
  for (const f of ['model.pt', 'config.json', 'vocab.txt', 'tokenizer_config.json', '.bert-serve-stamp.json',
    'hf/config.json', 'hf/pytorch_model.bin', 'hf/vocab.txt', 'hf/tokenizer_config.json']) {
    t.ok(existsSync(join(demo, f)), f);
  }
  const config = json(join(demo, 'config.json'));
  t.same(config.architectures, ['BertForMaskedLM']);
  t.match(config, { vocab_size: 30522, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2,
    intermediate_size: 512, max_position_embeddings: 512, type_vocab_size: 2 });
  t.match(config.bert_serve, { dtype: 'float32', signature: 'fill_mask_logits', task: 'fill-mask', torchscript: 'script' });
  t.equal(sha256(join(demo, 'vocab.txt')), VOCAB_SHA256, 'the real uncased vocabulary');
  t.match(json(join(demo, 'tokenizer_config.json')), { do_lower_case: true, model_max_length: 512 });

  const again = script('make_demo_model.py', demo);
  t.equal(again.status, 0, again.stderr);
  t.match(again.stdout, /up to date/, 'a second run does nothing');
});

t.test('HF state dicts load strictly; model.pt agrees with an independent functional BERT', async (t) => {
  cpSync(join(demo, 'hf'), stSrc, { recursive: true });
  const r = check(`
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
`, demo, stSrc);
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
    ['config not JSON', make('bad-json', (d) => writeFileSync(join(d, 'config.json'), '{"architectures": [')), /config\.json: not valid JSON/],
    ['unsupported architecture', make('gpt2', (d) => {
      const c = json(join(d, 'config.json'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, architectures: ['GPT2LMHeadModel'] }));
    }), /unsupported architecture GPT2LMHeadModel: supported are BertForMaskedLM/],
    ['no weights', make('no-weights', (d) => unlinkSync(join(d, 'pytorch_model.bin'))), /no weights \(looked for model\.safetensors, pytorch_model\.bin/],
    ['no tokenizer', make('no-tok', (d) => unlinkSync(join(d, 'vocab.txt'))), /no tokenizer \(needs vocab\.txt or tokenizer\.json\)/],
    ['weights of another shape', make('one-layer', (d) => {
      const c = json(join(d, 'config.json'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, num_hidden_layers: 3 }));
    }), /do not fit the architecture in config\.json: missing keys: bert\.encoder\.layer\.2\./],
    ['not a state dict', make('garbage', (d) => writeFileSync(join(d, 'pytorch_model.bin'), 'garbage')), /pytorch_model\.bin: not a plain PyTorch state dict/],
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
  const res = py([join(root, 'scripts', 'vocab.py'), '--out', join(tmp, 'v2.txt'), '--tokenizer-json', join(tmp, 't2.json')],
    { env: { BERT_SERVE_SHARED_DATA: damaged } });
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
  const r = check(`
import json, torch
m = torch.jit.load(sys.argv[1] + "/traced/model.pt")
ids = torch.tensor([[101, 7592, 103, 102]])
out = m(ids, torch.ones_like(ids))
print(json.dumps({"tuple": isinstance(out, tuple), "shape": list(out[0].shape), "fill": hasattr(m, "fill_mask_logits")}))
`, out);
  t.same(r, { tuple: true, shape: [1, 4, 30522], fill: false }, 'traced: 2 inputs, (logits,), no fast path');
  const again = script('make_test_models.py', out, '--only', 'tokenizer-json,traced');
  t.match(again.stdout, /tokenizer-json: up to date; traced: up to date/);
  const bad = script('make_test_models.py', out, '--only', 'nonsense'); // refused before torch loads
  t.equal(bad.status, 2);
  t.match(bad.stderr, /unknown fixture nonsense/);
});
