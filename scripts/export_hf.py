"""Export a local Hugging Face checkpoint (BERT or a relative) to a bert-serve model directory.

Usage:
  "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/export_hf.py SRC_DIR OUT_DIR \
      [--dtype float32|float16|bfloat16] [--quantize int8] [--trace] [--architecture NAME]
      [--loader auto|torch|transformers]

SRC_DIR: config.json, weights (model.safetensors | pytorch_model.bin | sharded *.index.json) and
the tokenizer (vocab.txt and/or tokenizer.json, tokenizer_config.json). Works offline with torch
only; transformers is used to load (and to cross-check) when it is importable.
Families (config.json model_type; docs/models.md): bert, distilbert, roberta, xlm-roberta,
electra, mpnet. Architectures, with the family's prefix (Bert, DistilBert, Roberta, XLMRoberta,
Electra, MPNet): <Family>ForMaskedLM (fill-mask), <Family>Model (embeddings),
<Family>ForSequenceClassification (classification; rerank with one label),
<Family>ForTokenClassification (token classification), <Family>ForQuestionAnswering (extractive
question answering); BertForPreTraining exports as
BertForMaskedLM, ElectraForPreTraining (the discriminator) as ElectraModel.
A sentence-transformers directory (modules.json; weights without the family prefix) exports as
the family's encoder (BertModel, MPNetModel, ...); OUT_DIR also gets modules.json, the Pooling module's config.json at the same relative
path (1_Pooling/config.json usually), config_sentence_transformers.json (prompts) and
sentence_bert_config.json when present, and a Dense module's folder (its config.json and weights;
the engine computes it after pooling). Modules other than Transformer, Pooling, Dense (Tanh,
Identity, ReLU, Sigmoid or GELU) and Normalize are refused: leaving one out would change the
embeddings.

OUT_DIR gets: model.pt (TorchScript of scripts/bert/modeling.py, or bert/families/, with the
weights loaded strictly, eval, in --dtype), config.json (the source's, with "architectures" set and a "bert_serve" block
saying exporter, dtype and preferred signature) and the tokenizer files, copied.
BertForMaskedLM's model.pt has forward(input_ids, attention_mask, token_type_ids) -> [b, s, vocab]
and fill_mask_logits(..., mask_index) -> [m, vocab]; BertModel's forward -> [b, s, hidden];
BertForSequenceClassification's forward -> [b, labels]; BertForTokenClassification's forward
-> [b, s, labels]; BertForQuestionAnswering's forward -> [b, s, 2] (start and end logits). The other families' alike, except that DistilBERT and MPNet have no token
types: forward(input_ids, attention_mask) and fill_mask_logits(input_ids, attention_mask,
mask_index).

--quantize int8: the encoder's nn.Linear layers dynamically quantized (int8 weights, activations
quantized at run time; torch.ao.quantization.quantize_dynamic) on the first quantized engine this
torch has of onednn, fbgemm, x86, qnnpack, then scripted (fill_mask_logits kept). The heads (the
masked LM's transform and vocabulary projection, the pooler, a classifier) stay float32: they
decide the answer and cost little. config.json's bert_serve block records "quantization":
"int8-dynamic", "quantized_engine" (the loader must set that engine before loading: the weights
are repacked for the current engine), "int8_linear_layers" (how many) and
"float32_linear_layers" (the names of those kept). CPU only; float32
activations, so not with --dtype float16/bfloat16. It is checked against the float32 eager
module with a loose tolerance (max abs diff <= 0.25 x the largest fp32 output, since each
activation tensor gets one 8-bit scale, taken over the whole batch), and the top-1 agreement
with fp32 is printed (mask rows for fill-mask, rows for classification, tokens for NER; for
an encoder, the lowest cosine similarity of a token's hidden state instead).
--dtype bfloat16 converts the weights before scripting, so the graph computes in bf16 throughout
(a trace of a float32 model keeps float32 constants in its graph and fails once cast to bf16).

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
    ap = argparse.ArgumentParser(description="Export a local HF checkpoint (BERT or a relative) "
                                             "to model.pt + config + tokenizer (see the file's "
                                             "docstring).")
    ap.add_argument("src_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", default="float32", choices=DTYPE_NAMES)
    ap.add_argument("--quantize", choices=["int8"],
                    help="dynamic int8 quantization of the Linear layers (CPU)")
    ap.add_argument("--trace", action="store_true", help="torch.jit.trace instead of script")
    ap.add_argument("--architecture", help="override config.json architectures[0]")
    ap.add_argument("--loader", default="auto", choices=["auto", "torch", "transformers"])
    args = ap.parse_args(argv)
    try:
        # Refuse a directory or arguments that cannot work before paying for torch's import.
        if args.quantize and args.dtype != "float32":
            raise CheckpointError(f"--quantize {args.quantize} works on the float32 model; it "
                                  f"cannot be combined with --dtype {args.dtype}")
        preflight(args.src_dir, args.architecture)
        progress = stage_printer("export_hf")
        progress("importing torch")
        import torch
        from bert.export import export
        torch.set_num_threads(2)
        try:
            s = export(args.src_dir, args.out_dir, args.dtype, args.trace, args.architecture,
                       args.loader, quantize=args.quantize, progress=progress)
        except VerifyError as e:
            print(f"export_hf: verification failed: {e}", file=sys.stderr)
            return 1
    except CheckpointError as e:
        print(f"export_hf: error: {e}", file=sys.stderr)
        return 2
    quant = f"{s['quantization']} on {s['quantized_engine']}, " if s["quantization"] else ""
    print(f"export_hf: exported {s['architecture']} ({s['task']}, {s['dtype']}, {quant}"
          f"{s['torchscript']}, signature {s['signature']}) to {s['out_dir']}: model.pt "
          f"{s['model_pt_bytes'] / 1e6:.1f} MB in {s['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
