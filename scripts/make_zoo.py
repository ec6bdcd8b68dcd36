"""Make the model zoo: one model directory per way users save a BERT model, with reference answers.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_zoo.py OUT_DIR [--only a,b] [--list] [-v]

For each of the four architectures (mlm: BertForMaskedLM, model: BertModel, cls:
BertForSequenceClassification, ner: BertForTokenClassification), made the ways users make them:
  trace-ids-first       torch.jit.trace, forward(input_ids, attention_mask, token_type_ids) -> tuple;
                        the encoder's recorded parameters: (input_ids, attention_mask, token_type_ids)
  trace-mask-first      the same, the encoder recorded as (attention_mask, input_ids, token_type_ids)
  trace-types-first     the encoder recorded as (token_type_ids, attention_mask, input_ids)
  trace-no-types        forward(input_ids, attention_mask) (token types from the zero buffer), the
                        encoder recorded as (attention_mask, input_ids)
  trace-reordered-inputs forward(attention_mask, input_ids, token_type_ids) -> dict
  trace-dict            strict=False trace -> {"logits"} / {"last_hidden_state", "pooler_output"}
  trace-tensor-unnamed  forward(x, y) -> a bare tensor; the encoder recorded as (attention_mask, input_ids)
  trace-unnamed-swapped forward(a, b) with a the mask: names that say nothing, in an unusual order;
                        refused at load (the probe sees the misread inputs)
  trace-float16         traced in float32, saved with float16 weights (served in float32)
  trace-bfloat16        traced in float32, saved with bfloat16 weights
  script                torch.jit.script (the masked LM through a method of its own, no
                        fill_mask_logits)
  export-bin            a Hugging Face checkpoint (pytorch_model.bin) exported by export_hf
  export-safetensors    model.safetensors (one copy of tied weights, as transformers writes)
  export-float16        a checkpoint saved in float16
  export-bfloat16       a checkpoint saved in bfloat16
  export-gamma-beta     legacy LayerNorm gamma/beta keys
and besides:
  mlm-export-extra-pooler, ner-export-extra-pooler  head checkpoints that carry bert.pooler keys
  model-export-no-pooler, model-trace-no-pooler      a BertModel without a pooler
  st-mean-normalize     sentence-transformers: Pooling (mean) + Normalize, exported
  st-cls-dense-normalize  Pooling (cls) + Dense (2_Dense, tanh, model.safetensors) + Normalize, exported
  st-trace-mean-dense   a traced BertModel with Pooling (mean) + Dense (identity, pytorch_model.bin)
  st-dense-unsupported  a Dense with an activation the engine does not compute: refused at load
  issue-mlm-mask-first  a BertForMaskedLM of 4 layers, hidden 256, the real 30522-token vocabulary,
                        traced with forward(input_ids, attention_mask) and its bert recorded as
                        forward(attention_mask, input_ids)
OUT_DIR/<case>/case.json holds the spec, the inputs and the eager reference's answers
(bert/zoo.py); OUT_DIR/zoo.json lists the cases. A case is rebuilt only when its stamp records
other script sources.
"""
import argparse
import json
import os
import shutil
import sys
import time
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

from bert import stamp  # noqa: E402  (standard library only)

SHAPE = dict(vocab_size=6000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
             intermediate_size=64, max_position_embeddings=64, type_vocab_size=2)
ARCHITECTURES = {"mlm": "BertForMaskedLM", "model": "BertModel", "cls": "BertForSequenceClassification",
                 "ner": "BertForTokenClassification"}
LABELS = {"cls": ["negative", "neutral", "positive"], "ner": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]}
IDS, MASK, TYPES = "input_ids", "attention_mask", "token_type_ids"
REFUSED_INPUTS = {"code": "ERR_MODEL_INVALID", "message": "name its parameters input_ids, attention_mask and token_type_ids"}
TRACES = {
    "trace-ids-first": dict(signature="ids_mask_types", output="tuple", order=[IDS, MASK, TYPES]),
    "trace-mask-first": dict(signature="ids_mask_types", output="tuple", order=[MASK, IDS, TYPES]),
    "trace-types-first": dict(signature="ids_mask_types", output="tuple", order=[TYPES, MASK, IDS]),
    "trace-no-types": dict(signature="ids_mask", output="tuple", order=[MASK, IDS]),
    "trace-reordered-inputs": dict(signature="mask_ids_types", output="dict", order=[IDS, MASK, TYPES]),
    "trace-dict": dict(signature="ids_mask_types", output="dict", order=[IDS, MASK, TYPES]),
    "trace-tensor-unnamed": dict(signature="unnamed", output="tensor", order=[MASK, IDS]),
    "trace-unnamed-swapped": dict(signature="unnamed_swapped", output="tuple", order=[MASK, IDS], expect=REFUSED_INPUTS),
    "trace-float16": dict(signature="ids_mask_types", output="tuple", order=[MASK, IDS, TYPES], stored="float16"),
    "trace-bfloat16": dict(signature="ids_mask_types", output="tuple", order=[TYPES, IDS, MASK], stored="bfloat16"),
}
EXPORTS = {
    "export-bin": dict(weights="bin"),
    "export-safetensors": dict(weights="safetensors"),
    "export-float16": dict(weights="safetensors", stored="float16"),
    "export-bfloat16": dict(weights="bin", stored="bfloat16"),
    "export-gamma-beta": dict(weights="bin", legacy=True),
}


def cases() -> Dict[str, Dict]:
    out: Dict[str, Dict] = {}
    for seed, (short, arch) in enumerate(ARCHITECTURES.items(), start=3001):
        base = dict(architecture=arch, shape=dict(SHAPE), seed=seed, labels=LABELS.get(short))
        for name, how in TRACES.items():
            out[f"{short}-{name}"] = dict(base, save="trace", **how)
        out[f"{short}-script"] = dict(base, save="script")
        for name, how in EXPORTS.items():
            out[f"{short}-{name}"] = dict(base, save="export", **how)
    mlm, model, ner = (dict(architecture=ARCHITECTURES[k], shape=dict(SHAPE), seed=s, labels=LABELS.get(k))
                       for k, s in (("mlm", 3001), ("model", 3002), ("ner", 3004)))
    out["mlm-export-extra-pooler"] = dict(mlm, save="export", weights="bin", pooler="extra")
    out["ner-export-extra-pooler"] = dict(ner, save="export", weights="safetensors", pooler="extra")
    out["model-export-no-pooler"] = dict(model, save="export", weights="bin", pooler=False)
    out["model-trace-no-pooler"] = dict(model, save="trace", pooler=False, **TRACES["trace-mask-first"])
    out["st-mean-normalize"] = dict(model, save="export", weights="safetensors", st=dict(pooling="mean", normalize=True))
    out["st-cls-dense-normalize"] = dict(model, save="export", weights="bin", st=dict(
        pooling="cls", normalize=True, dense=dict(out=16, activation="torch.nn.modules.activation.Tanh")))
    out["st-trace-mean-dense"] = dict(model, save="trace", st=dict(
        pooling="mean", dense=dict(out=24, activation="torch.nn.modules.linear.Identity", format="bin")),
        **TRACES["trace-no-types"])
    out["st-dense-unsupported"] = dict(model, save="trace", st=dict(
        pooling="mean", dense=dict(out=24, activation="torch.nn.modules.activation.Softplus")),
        expect={"code": "ERR_MODEL_INVALID", "message": "Softplus"}, **TRACES["trace-ids-first"])
    out["issue-mlm-mask-first"] = dict(
        architecture="BertForMaskedLM", seed=3005, labels=None, save="trace", signature="ids_mask", output="tuple",
        order=[MASK, IDS], shape=dict(vocab_size=30522, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                                      intermediate_size=1024, max_position_embeddings=512, type_vocab_size=2))
    for name, spec in out.items():
        spec["name"] = name
        spec.setdefault("expect", "ok")
        if spec["architecture"] == "BertForMaskedLM":
            spec["head_path"] = "fill_mask_logits" if spec["save"] == "export" else "encoder_then_head"
        if spec.get("labels") is None:
            spec.pop("labels", None)
    return out


def make(out_dir: str, names: List[str], log) -> List[str]:
    specs = cases()
    with stamp.build_lock(out_dir):
        todo = [n for n in names if not stamp.stamp_matches(os.path.join(out_dir, n), __file__, specs[n], ["case.json"])]
        lines = [f"{len(names) - len(todo)} up to date"]
        if todo:
            import torch
            from bert import zoo
            torch.set_num_threads(1)
        for name in todo:
            d = os.path.join(out_dir, name)
            t0 = time.time()
            if os.path.isdir(d):
                shutil.rmtree(d)
            zoo.build_case(d, specs[name], log)
            stamp.write_stamp(d, __file__, specs[name])
            lines.append(f"{name}: made in {time.time() - t0:.1f} s")
        index = {n: {"path": n, **{k: specs[n][k] for k in ("architecture", "save", "expect") if k in specs[n]},
                     **({"head_path": specs[n]["head_path"]} if "head_path" in specs[n] else {})}
                 for n in specs if os.path.isfile(os.path.join(out_dir, n, "case.json"))}
        with open(os.path.join(out_dir, "zoo.json"), "w", encoding="utf-8") as f:
            json.dump(index, f, indent=2, sort_keys=True)
            f.write("\n")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description="Make the model zoo (one directory per way of saving a model).")
    ap.add_argument("out_dir")
    ap.add_argument("--only", help="comma-separated case names (default: all)")
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    specs = cases()
    if args.list:
        print("\n".join(specs))
        return 0
    names = args.only.split(",") if args.only else list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        print(f"make_zoo: unknown case {', '.join(unknown)}", file=sys.stderr)
        return 2
    t0 = time.time()
    lines = make(args.out_dir, names, print if args.verbose else (lambda _line: None))
    print(f"make_zoo: {args.out_dir}: " + "; ".join(lines) + f" ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
