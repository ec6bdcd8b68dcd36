"""Export a benchmark model's checkpoint to ONNX, for the bench's ONNX Runtime row.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_bench_onnx.py SRC_DIR OUT_DIR

SRC_DIR is a directory made by make_bench_models.py (its Hugging Face checkpoint in SRC_DIR/hf).
OUT_DIR/model.onnx is torch.onnx.export (opset 14) of the same eager module the exporter makes
model.pt from, with the same weights: inputs input_ids, attention_mask, token_type_ids (int64
[batch, seq], both axes dynamic), output last_hidden_state for an encoder (the task's output for
the others). This is what a user of ONNX Runtime does with a checkpoint (Hugging Face's optimum and
transformers.js export the same graph); ONNX Runtime then applies its own graph optimizations at
session creation. bench/peer.js checks ONNX Runtime's answers against bert-serve's before timing.

Idempotent: a stamp records the source checkpoint's size and mtime and the script sources.
Prints one line saying what was made.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

from bert import stamp  # noqa: E402  (standard library only)
from bert.layout import CheckpointError, weights_file  # noqa: E402

OPSET = 14
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def make(src_dir: str, out_dir: str) -> str:
    hf_dir = os.path.join(src_dir, "hf")
    weights = os.path.join(hf_dir, weights_file(hf_dir))
    st = os.stat(weights)
    params = {"kind": "bench-onnx", "opset": OPSET,
              "source": {"path": os.path.abspath(weights), "size": st.st_size, "mtime_ns": st.st_mtime_ns}}
    with stamp.build_lock(out_dir):
        if stamp.stamp_matches(out_dir, __file__, params, ["model.onnx"]):
            return f"make_bench_onnx: {out_dir}/model.onnx is up to date (nothing done)"
        t0 = time.time()
        stamp.clear_stamp(out_dir)
        import torch
        from bert.checkpoint import load_model
        torch.set_num_threads(2)
        module = load_model(hf_dir, loader="torch").module.eval()
        ids = torch.tensor([[101, 7592, 2088, 102], [101, 2023, 102, 0]])
        am = (ids != 0).long()
        tt = torch.zeros_like(ids)
        axes = {name: {0: "batch", 1: "seq"} for name in INPUTS}
        out_name = "last_hidden_state" if module(ids, am, tt).dim() == 3 else "logits"
        axes[out_name] = {0: "batch", 1: "seq"} if out_name == "last_hidden_state" else {0: "batch"}
        tmp = os.path.join(out_dir, "model.onnx.tmp")
        with torch.no_grad():
            torch.onnx.export(module, (ids, am, tt), tmp, input_names=INPUTS, output_names=[out_name],
                              dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
        os.replace(tmp, os.path.join(out_dir, "model.onnx"))
        info = {"output": out_name, "bytes": os.path.getsize(os.path.join(out_dir, "model.onnx")),
                "torch_version": torch.__version__, "seconds": round(time.time() - t0, 1)}
        stamp.write_stamp(out_dir, __file__, params, info)
        return f"make_bench_onnx: exported {src_dir} to {out_dir}/model.onnx in {info['seconds']} s ({info})"


def main() -> int:
    ap = argparse.ArgumentParser(description="Export a bench model's checkpoint to ONNX (opset 14).")
    ap.add_argument("src_dir")
    ap.add_argument("out_dir")
    args = ap.parse_args()
    try:
        print(make(args.src_dir, args.out_dir))
    except (CheckpointError, OSError) as e:
        print(f"make_bench_onnx: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
