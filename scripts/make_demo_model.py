"""Make the demo fill-mask model: a deterministic BERT checkpoint, exported like a user's would be.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/make_demo_model.py OUT_DIR [--size demo|base] [-v]

Writes OUT_DIR/hf/ (config.json, pytorch_model.bin, vocab.txt, tokenizer_config.json: a Hugging
Face checkpoint that transformers could load) and then runs export_hf on it into OUT_DIR (model.pt,
config.json, vocab.txt, tokenizer_config.json), so the exporter is exercised on every build.
  demo: BertForMaskedLM, the real uncased vocabulary (30522), hidden 128, 2 layers, 2 heads,
        intermediate 512, 512 positions, 2 token types. Seconds to make; for tests and the demo.
  base: BERT-base shapes (hidden 768, 12 layers, 12 heads, intermediate 3072), for benchmarks.
Weights come from a fixed seed (bert/synthetic.py explains the scales: the top-5 scores at a
mask are well apart, so numerical tests are not decided by 1e-7 differences). The median gap
between consecutive top-5 probabilities over sample inputs is measured and printed.
Idempotent: when OUT_DIR/model.pt exists and OUT_DIR/.bert-serve-stamp.json records the same
parameters and script sources, nothing is done (and torch is not even imported).
Prints one line saying what was made; -v adds the exporter's lines. While it works, one line per
stage goes to stderr with the seconds since it started.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

from bert import stamp  # noqa: E402  (standard library only)
from bert.progress import stage_printer  # noqa: E402  (standard library only)
from bert.layout import CheckpointError, VerifyError  # noqa: E402
from vocab import VocabError  # noqa: E402

SIZES = {
    "demo": dict(vocab_size=30522, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=512, max_position_embeddings=512, type_vocab_size=2),
    "base": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2),
}
SEED = 20240601
GAP_SAMPLES = {"demo": 100, "base": 30}
REQUIRED = ["model.pt", "config.json", "hf/pytorch_model.bin"]


def make(out_dir: str, size: str, verbose: bool = False) -> str:
    with stamp.build_lock(out_dir):
        return _make(out_dir, size, verbose)


def _make(out_dir: str, size: str, verbose: bool) -> str:
    shape = SIZES[size]
    params = {"kind": "demo-mlm", "size": size, "seed": SEED, "shape": shape}
    if stamp.stamp_matches(out_dir, __file__, params, REQUIRED):
        return f"make_demo_model: {size} model in {out_dir} is up to date (nothing done)"
    progress = stage_printer("make_demo_model")
    progress(f"making the {size} model in {out_dir}: importing torch")
    import torch
    from bert import synthetic
    from bert.export import export
    from bert.modeling import BertConfig, BertForMaskedLM

    torch.set_num_threads(2)
    t0 = time.time()
    os.makedirs(out_dir, exist_ok=True)
    stamp.clear_stamp(out_dir)
    hf = synthetic.hf_config("BertForMaskedLM", **shape)
    config = BertConfig.from_dict(hf)
    progress(f"initializing weights (seed {SEED})")
    model = BertForMaskedLM(config).eval()
    synthetic.init_weights(model, config, SEED)
    hf_dir = os.path.join(out_dir, "hf")
    progress(f"writing the Hugging Face checkpoint to {hf_dir}")
    synthetic.write_checkpoint(hf_dir, hf, model.state_dict())
    summary = export(hf_dir, out_dir, log=print if verbose else (lambda _line: None), progress=progress)
    progress("measuring the gaps between the top-5 scores")
    gaps = synthetic.top5_gaps(model, synthetic.sample_inputs(GAP_SAMPLES[size], 7, shape["vocab_size"]))
    stamp.write_stamp(out_dir, __file__, params, {"top5_gaps": gaps,
                                                  "seconds": round(time.time() - t0, 1)})
    return (f"make_demo_model: made {size} BertForMaskedLM (hidden {shape['hidden_size']}, "
            f"{shape['num_hidden_layers']} layers, vocab {shape['vocab_size']}) in {out_dir} in "
            f"{time.time() - t0:.1f} s; export max abs diff {summary.get('max_abs_diff', 0):.2g}; "
            f"top-5 prob gaps over {gaps['masks']} masks: median {gaps['median_prob_gap']:.4f}, "
            f"p10 {gaps['p10_prob_gap']:.2g}, min {gaps['min_prob_gap']:.2g}; "
            f"median top-1 {gaps['median_top1']:.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description="Make the deterministic demo fill-mask model.")
    ap.add_argument("out_dir")
    ap.add_argument("--size", default="demo", choices=list(SIZES))
    ap.add_argument("-v", "--verbose", action="store_true", help="show the exporter's lines")
    args = ap.parse_args()
    try:
        print(make(args.out_dir, args.size, args.verbose))
    except (CheckpointError, VocabError) as e:
        print(f"make_demo_model: error: {e}", file=sys.stderr)
        return 2
    except VerifyError as e:
        print(f"make_demo_model: export verification failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
