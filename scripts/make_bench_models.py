"""Make the BERT-base-sized benchmark models, one per task, float32 and int8.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_bench_models.py [OUT_ROOT] [--only NAME,...] [-v]

OUT_ROOT defaults to models/bench. For each architecture it writes OUT_ROOT/<name>/hf/ (a Hugging
Face checkpoint: config.json, pytorch_model.bin, vocab.txt, tokenizer_config.json; random weights
from a fixed seed per architecture) and exports it with scripts/export_hf.py into OUT_ROOT/<name>
(float32) and, with --quantize int8, into OUT_ROOT/<name>-int8 (the same weights):

  mlm       BertForMaskedLM                 fill-mask
  embed     BertModel + mean pooling        feature-extraction (sentence-transformers layout)
  classify  BertForSequenceClassification   text-classification, 3 labels
  ner       BertForTokenClassification      token-classification, 9 BIO labels

Shapes are BERT-base's: hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 30522 (the real
uncased vocabulary), 512 positions. bf16 needs no export of its own: the engine converts the float32
weights at load (`dtype: 'bfloat16'`), so bf16 and float32 are compared on the same weights.

Weights are bert/synthetic.py's (activations near unit variance, fill-mask logits with a spread of
~4). The classification and token-classification heads are rescaled so that their answers vary
with the input, as a trained head's do (random heads give one label everywhere): the classifier
is scaled so its logits have a spread of HEAD_STD over sample sentences and its bias centres them;
token classification also gets O_BIAS on "O", so O is the most common label. The label mix on the
sample sentences is printed.

Idempotent per directory: a stamp records the parameters and script sources; nothing is redone when
they match (and torch is not imported). Each BERT-base export takes a minute or two on 2 cores;
the hf/ checkpoints and model.pt files take about 4 GB in all.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

from bert import stamp  # noqa: E402  (standard library only)

BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
            intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)
SENTIMENT = ["negative", "neutral", "positive"]
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
HEAD_STD = 3.0
O_BIAS = 2.0
MODELS = {
    "mlm": dict(architecture="BertForMaskedLM", seed=3001),
    "embed": dict(architecture="BertModel", seed=3002, pooling="mean"),
    "classify": dict(architecture="BertForSequenceClassification", seed=3003, labels=SENTIMENT),
    "ner": dict(architecture="BertForTokenClassification", seed=3004, labels=NER_LABELS),
}
SAMPLES = 64  # sample sentences the heads are shaped on
REQUIRED = ["model.pt", "config.json", "hf/pytorch_model.bin"]
PYTHON = sys.executable


def _export(src: str, out: str, extra: List[str], verbose: bool) -> str:
    r = subprocess.run([PYTHON, os.path.join(HERE, "export_hf.py"), src, out, *extra],
                       capture_output=True, text=True)
    if verbose and r.stderr:
        sys.stderr.write(r.stderr)
    if r.returncode != 0:
        raise RuntimeError(f"export_hf.py {src} {out} {' '.join(extra)} failed ({r.returncode}): "
                           f"{(r.stdout + r.stderr).strip()[-2000:]}")
    return r.stdout.strip().splitlines()[-1]


def _st_files(hf_dir: str, pooling: str) -> None:
    """sentence-transformers' modules.json and Pooling config (mean or cls pooling)."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    pool = {"word_embedding_dimension": BASE["hidden_size"],
            "pooling_mode_cls_token": pooling == "cls", "pooling_mode_mean_tokens": pooling == "mean",
            "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False,
            "include_prompt": True}
    os.makedirs(os.path.join(hf_dir, "1_Pooling"), exist_ok=True)
    for rel, content in [("modules.json", modules), ("1_Pooling/config.json", pool)]:
        with open(os.path.join(hf_dir, rel), "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2)
            f.write("\n")


def _build_checkpoint(name: str, spec: Dict, hf_dir: str) -> Dict:
    import torch
    from bert import synthetic
    from bert.modeling import (BertConfig, BertForMaskedLM, BertForSequenceClassification,
                               BertForTokenClassification, BertModel)

    classes = {"BertForMaskedLM": BertForMaskedLM, "BertModel": BertModel,
               "BertForSequenceClassification": BertForSequenceClassification,
               "BertForTokenClassification": BertForTokenClassification}
    extra = {}
    if "labels" in spec:
        extra = dict(id2label={str(i): l for i, l in enumerate(spec["labels"])},
                     label2id={l: i for i, l in enumerate(spec["labels"])})
    hf = synthetic.hf_config(spec["architecture"], **BASE, **extra)
    config = BertConfig.from_dict(hf)
    model = classes[spec["architecture"]](config).eval()
    synthetic.init_weights(model, config, spec["seed"])
    info: Dict = {}
    with torch.no_grad():
        if "labels" in spec:
            # Shape the head on sample sentences (word ids drawn from the vocabulary, seeded).
            inputs = synthetic.sample_inputs(SAMPLES, spec["seed"], BASE["vocab_size"], max_words=40)
            logits = []
            for ids in inputs:
                t = torch.tensor([ids])
                out = model(t, torch.ones_like(t), torch.zeros_like(t))[0]
                logits.append(out if out.dim() == 1 else out[1:-1])
            z = torch.cat([x.reshape(-1, len(spec["labels"])) for x in logits])
            scale = HEAD_STD / float(z.std(0).mean())
            model.classifier.weight.mul_(scale)
            model.classifier.bias.mul_(scale).sub_(z.mean(0) * scale)
            if spec["architecture"] == "BertForTokenClassification":
                model.classifier.bias[0] += O_BIAS
            z = (z - z.mean(0)) * scale + (torch.nn.functional.one_hot(
                torch.tensor(0), len(spec["labels"])) * O_BIAS
                if spec["architecture"] == "BertForTokenClassification" else 0)
            counts = torch.bincount(z.argmax(-1), minlength=len(spec["labels"])).tolist()
            info["label_mix"] = dict(zip(spec["labels"], counts))
            top2 = z.topk(2, -1).values
            info["median_top2_logit_gap"] = round(float((top2[:, 0] - top2[:, 1]).median()), 3)
    synthetic.write_checkpoint(hf_dir, hf, model.state_dict())
    if spec.get("pooling"):
        _st_files(hf_dir, spec["pooling"])
    return info


def make(root: str, name: str, verbose: bool) -> List[str]:
    spec = MODELS[name]
    out, out8 = os.path.join(root, name), os.path.join(root, name + "-int8")
    params = {"kind": "bench", "name": name, "shape": BASE, "head_std": HEAD_STD, "o_bias": O_BIAS,
              "samples": SAMPLES, **spec}
    lines = []
    with stamp.build_lock(out):
        if stamp.stamp_matches(out, __file__, params, REQUIRED):
            lines.append(f"make_bench_models: {out} is up to date (nothing done)")
        else:
            t0 = time.time()
            os.makedirs(out, exist_ok=True)
            stamp.clear_stamp(out)
            import torch
            torch.set_num_threads(2)
            info = _build_checkpoint(name, spec, os.path.join(out, "hf"))
            lines.append(_export(os.path.join(out, "hf"), out, [], verbose))
            stamp.write_stamp(out, __file__, params, {**info, "seconds": round(time.time() - t0, 1)})
            lines.append(f"make_bench_models: {name} {spec['architecture']} in {time.time() - t0:.0f} s"
                         + (f"; labels on {SAMPLES} sample inputs {info}" if info else ""))
    params8 = {**params, "quantize": "int8"}
    with stamp.build_lock(out8):
        if stamp.stamp_matches(out8, __file__, params8, ["model.pt", "config.json"]):
            lines.append(f"make_bench_models: {out8} is up to date (nothing done)")
        else:
            t0 = time.time()
            os.makedirs(out8, exist_ok=True)
            stamp.clear_stamp(out8)
            lines.append(_export(os.path.join(out, "hf"), out8, ["--quantize", "int8"], verbose))
            stamp.write_stamp(out8, __file__, params8, {"seconds": round(time.time() - t0, 1)})
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description="Make the BERT-base-sized benchmark models.")
    ap.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(HERE), "models", "bench"))
    ap.add_argument("--only", help="comma-separated subset of " + ",".join(MODELS))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(MODELS)
    for n in names:
        if n not in MODELS:
            print(f"make_bench_models: unknown model {n!r} (have {', '.join(MODELS)})", file=sys.stderr)
            return 2
    for n in names:
        try:
            for line in make(args.root, n, args.verbose):
                print(line, flush=True)
        except RuntimeError as e:
            print(f"make_bench_models: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
