"""Export the trained fixture checkpoints (test/data/trained, made by make_trained_models.py) into
model directories, float32 and int8, for the accuracy bench and the long tests.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/export_trained_models.py [OUT_ROOT] [--source DIR]
           [--only mlm,classify,embed]

OUT_ROOT defaults to models/trained. Made with scripts/export_hf.py's export, from the committed
checkpoints, nothing trained here:
  mlm, mlm-int8             the masked LM (fill-mask)
  classify, classify-int8   the topic classifier fine-tuned from it (text-classification)
  embed, embed-int8         the masked LM's encoder with mean pooling (a sentence-transformers
                            layout made here: modules.json, 1_Pooling/config.json), embeddings
bf16 needs no export: the engine converts the float32 weights at load. Idempotent: a stamp records
the checkpoints' sizes and mtimes and the script sources. Prints one line per directory.
"""
import argparse
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

from bert import stamp  # noqa: E402  (standard library only)
from bert.layout import CheckpointError, VerifyError  # noqa: E402

SOURCE = os.path.join(ROOT, "test", "data", "trained")
CHECKPOINT_FILES = ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"]


def _embed_source(root: str, source: str) -> str:
    """The masked LM's checkpoint as a sentence-transformers BertModel directory with mean pooling."""
    hf = os.path.join(root, "embed-hf")
    os.makedirs(os.path.join(hf, "1_Pooling"), exist_ok=True)
    for name in CHECKPOINT_FILES:
        shutil.copyfile(os.path.join(source, "mlm", name), os.path.join(hf, name))
    with open(os.path.join(hf, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    config["architectures"] = ["BertModel"]
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    pool = {"word_embedding_dimension": config["hidden_size"], "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False, "include_prompt": True}
    for rel, content in [("config.json", config), ("modules.json", modules), ("1_Pooling/config.json", pool)]:
        with open(os.path.join(hf, rel), "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2)
            f.write("\n")
    return hf


NAMES = ["mlm", "classify", "embed"]


def make(root: str, source: str = SOURCE, names: list = NAMES) -> list:
    from bert.export import export
    sources = {"mlm": os.path.join(source, "mlm"), "classify": os.path.join(source, "classify")}
    for d in sources.values():
        for name in CHECKPOINT_FILES:
            if not os.path.isfile(os.path.join(d, name)):
                raise CheckpointError(f"{d}/{name} is missing (scripts/make_trained_models.py makes it)")
    ident = {k: [(n, os.path.getsize(os.path.join(d, n)), os.stat(os.path.join(d, n)).st_mtime_ns) for n in CHECKPOINT_FILES]
             for k, d in sources.items()}
    lines = []
    for name in names:
        for quant in [None, "int8"]:
            out = os.path.join(root, name + ("-int8" if quant else ""))
            params = {"kind": "trained", "name": name, "quantize": quant, "source": ident["classify" if name == "classify" else "mlm"]}
            with stamp.build_lock(out):
                if stamp.stamp_matches(out, __file__, params, ["model.pt", "config.json"]):
                    lines.append(f"export_trained_models: {out} is up to date (nothing done)")
                    continue
                t0 = time.time()
                stamp.clear_stamp(out)
                src = _embed_source(root, source) if name == "embed" else sources[name]
                info = export(src, out, quantize=quant, log=lambda _line: None)
                stamp.write_stamp(out, __file__, params, {"seconds": round(time.time() - t0, 1)})
                lines.append(f"export_trained_models: {out} ({info['architecture']}{', int8' if quant else ''}) in {time.time() - t0:.1f} s")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description="Export the trained fixtures (test/data/trained) to model directories.")
    ap.add_argument("root", nargs="?", default=os.path.join(ROOT, "models", "trained"))
    ap.add_argument("--source", default=SOURCE, help="the checkpoints (default test/data/trained)")
    ap.add_argument("--only", default=",".join(NAMES), help="comma-separated subset of " + ",".join(NAMES))
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n]
    if any(n not in NAMES for n in names):
        print(f"export_trained_models: --only: expected some of {', '.join(NAMES)}", file=sys.stderr)
        return 2
    try:
        import torch
        torch.set_num_threads(2)
        for line in make(args.root, args.source, names):
            print(line, flush=True)
    except CheckpointError as e:
        print(f"export_trained_models: error: {e}", file=sys.stderr)
        return 2
    except VerifyError as e:
        print(f"export_trained_models: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
