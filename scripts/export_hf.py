"""Export a local Hugging Face BERT checkpoint to a bert-serve model directory.

Usage:
  "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/export_hf.py SRC_DIR OUT_DIR \
      [--dtype float32|float16|bfloat16] [--trace] [--architecture NAME] [--loader auto|torch|transformers]

SRC_DIR: config.json, weights (model.safetensors | pytorch_model.bin | sharded *.index.json) and
the tokenizer (vocab.txt and/or tokenizer.json, tokenizer_config.json). Works offline with torch
only; transformers is used to load (and to cross-check) when it is importable.

OUT_DIR gets: model.pt (TorchScript of scripts/bert/modeling.py with the weights loaded strictly,
eval, in --dtype), config.json (the source's, with "architectures" set and a "bert_serve" block
saying exporter, dtype and preferred signature) and the tokenizer files, copied.
BertForMaskedLM's model.pt has forward(input_ids, attention_mask, token_type_ids) -> [b, s, vocab]
and fill_mask_logits(..., mask_index) -> [m, vocab]; BertModel's forward -> [b, s, hidden];
BertForSequenceClassification's forward -> [b, labels].

Progress goes to stderr, one line per stage with the seconds since the start; the result line to
stdout. After saving, model.pt is loaded back with torch.jit.load, run on inputs of other shapes than any
trace used, and compared with the eager module; the max abs differences are printed.
Exit codes: 0 ok; 2 the checkpoint or the arguments are unusable (the message says why);
1 the exported file does not reproduce the eager module.
"""
import argparse
import os
import sys
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

from bert.layout import CheckpointError, VerifyError, preflight  # noqa: E402  (stdlib only)
from bert.progress import stage_printer  # noqa: E402  (stdlib only)

DTYPE_NAMES = ["float32", "float16", "bfloat16"]


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Export a local HF BERT checkpoint to model.pt + "
                                             "config + tokenizer (see the file's docstring).")
    ap.add_argument("src_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", default="float32", choices=DTYPE_NAMES)
    ap.add_argument("--trace", action="store_true", help="torch.jit.trace instead of script")
    ap.add_argument("--architecture", help="override config.json architectures[0]")
    ap.add_argument("--loader", default="auto", choices=["auto", "torch", "transformers"])
    args = ap.parse_args(argv)
    try:
        # Refuse a directory that cannot work before paying for torch's import.
        preflight(args.src_dir, args.architecture)
        progress = stage_printer("export_hf")
        progress("importing torch")
        import torch
        from bert.export import export
        torch.set_num_threads(2)
        try:
            s = export(args.src_dir, args.out_dir, args.dtype, args.trace, args.architecture,
                       args.loader, progress=progress)
        except VerifyError as e:
            print(f"export_hf: verification failed: {e}", file=sys.stderr)
            return 1
    except CheckpointError as e:
        print(f"export_hf: error: {e}", file=sys.stderr)
        return 2
    print(f"export_hf: exported {s['architecture']} ({s['task']}, {s['dtype']}, "
          f"{s['torchscript']}, signature {s['signature']}) to {s['out_dir']}: model.pt "
          f"{s['model_pt_bytes'] / 1e6:.1f} MB in {s['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
