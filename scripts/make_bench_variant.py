"""Make a benchmark variant of a demo-style fill-mask model: its int8 export or a user's HF trace.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_bench_variant.py SRC_DIR OUT_DIR --variant int8|hf-trace

SRC_DIR is a directory made by make_demo_model.py (it keeps the Hugging Face checkpoint in
SRC_DIR/hf); OUT_DIR gets the same weights as
  int8      export_hf's --quantize int8 of SRC_DIR/hf (the encoder's Linear layers quantized; the
            engine and engine_limit load it with its quantized engine);
  hf-trace  torch.jit.trace of the checkpoint as Hugging Face's BertForMaskedLM traces with
            torchscript=True: forward(input_ids, attention_mask) -> (logits,), submodules bert
            and cls, no fill_mask_logits, and a config.json without a bert_serve block: the file
            a user brings (built as make_test_models.py builds mlm-traced, on these weights). It is
            checked against the eager module on a padded batch before it is written.
bench/run.js makes models/demo-int8, models/demo-traced, models/base-int8 and models/base-traced
with it. Idempotent: a stamp records the variant, the source checkpoint's size and mtime and the
script sources; when they match nothing is done (and torch is not imported).
Prints one line saying what was made.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

from bert import stamp  # noqa: E402  (standard library only)
from bert.layout import CheckpointError, VerifyError  # noqa: E402

VARIANTS = ["int8", "hf-trace"]
CHECKPOINT = "pytorch_model.bin"  # what synthetic.write_checkpoint writes for make_demo_model


def make(src_dir: str, out_dir: str, variant: str) -> str:
    hf_dir = os.path.join(src_dir, "hf")
    weights = os.path.join(hf_dir, CHECKPOINT)
    if not os.path.exists(weights):
        raise CheckpointError(f"{weights} not found: SRC_DIR must be made by make_demo_model.py")
    st = os.stat(weights)
    # The source's size and mtime identify its build: make_demo_model rewrites the file when it
    # remakes the model, and hashing 440 MB on every bench run would cost seconds.
    params = {"kind": "bench-variant", "variant": variant,
              "source": {"path": os.path.abspath(weights), "size": st.st_size, "mtime_ns": st.st_mtime_ns}}
    with stamp.build_lock(out_dir):
        if stamp.stamp_matches(out_dir, __file__, params, ["model.pt", "config.json", "vocab.txt"]):
            return f"make_bench_variant: {variant} of {src_dir} in {out_dir} is up to date (nothing done)"
        t0 = time.time()
        stamp.clear_stamp(out_dir)
        import torch
        torch.set_num_threads(2)
        if variant == "int8":
            from bert.export import export
            info = export(hf_dir, out_dir, quantize="int8", log=lambda _line: None)
            info = {k: info.get(k) for k in ("max_abs_diff", "top1_agreement", "quantized_engine")}
        else:
            from bert import fixtures
            from bert.checkpoint import load_model
            from bert.task_fixture_dirs import user_trace
            with open(os.path.join(hf_dir, "config.json"), encoding="utf-8") as f:
                config = json.load(f)
            mlm = load_model(hf_dir, "BertForMaskedLM", loader="torch").module.eval()
            info = user_trace(out_dir, fixtures.HFTracedMaskedLM(mlm), mlm, config)
        stamp.write_stamp(out_dir, __file__, params, {**info, "seconds": round(time.time() - t0, 1)})
        return f"make_bench_variant: made {variant} of {src_dir} in {out_dir} in {time.time() - t0:.1f} s ({info})"


def main() -> int:
    ap = argparse.ArgumentParser(description="Make the int8 or HF-trace variant of a demo-style model.")
    ap.add_argument("src_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--variant", required=True, choices=VARIANTS)
    args = ap.parse_args()
    try:
        print(make(args.src_dir, args.out_dir, args.variant))
    except CheckpointError as e:
        print(f"make_bench_variant: error: {e}", file=sys.stderr)
        return 2
    except (VerifyError, RuntimeError) as e:
        print(f"make_bench_variant: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
