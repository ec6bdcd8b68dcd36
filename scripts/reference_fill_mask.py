"""Eager PyTorch fill-mask reference for the engine's numerical tests.

Usage: "${BERT_SERVE_PYTHON:-/usr/bin/python3}" scripts/reference_fill_mask.py MODEL_DIR \
           [--impl auto|ours|transformers] < requests.jsonl > answers.jsonl

Input lines:  {"ids": [101, ..., 103, ..., 102], "top_k": 5}   (token ids with [CLS]/[SEP]; top_k
              defaults to 5). One sequence per line, run one at a time: no padding, no batching,
              float32, CPU, token_type_ids all zero (none for DistilBERT/MPNet), attention_mask
              all one. Any family's masked LM (bert/families/catalog.py).
Output lines: {"mask_positions": [p, ...], "top": [[{"id": i, "score": s}, ...] per mask]}, in
              the input's order; score = softmax over the whole vocabulary at that position,
              top_k highest first (the Hugging Face fill-mask pipeline's semantics).
Weights: MODEL_DIR/hf (a HF checkpoint, as make_demo_model / make_test_models leave it) when
present, else the state dict inside MODEL_DIR/model.pt (scripted or traced) loaded strictly into
the eager module of scripts/bert/modeling.py (or bert/families/). --impl transformers (or auto,
when transformers is importable and MODEL_DIR/hf exists) uses transformers' own class instead.
The mask token is the one tokenizer_config.json / special_tokens_map.json name (as the engine's
tokenizer reads them), else [MASK], else <mask>; its id comes from MODEL_DIR's vocab.txt /
tokenizer.json (103 if absent).
Exit 2 on an unusable model directory or a malformed input line (the message names the line).
"""
import argparse
import json
import os
import sys
from typing import Callable, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ (it is not git-ignored)

import torch  # noqa: E402

from bert.checkpoint import (CheckpointError, architecture_of, build_module,  # noqa: E402
                             load_model, load_strict, load_transformers, module_config,
                             normalize_state_dict, read_config, tokenizer_vocab)

Logits = Callable[[torch.Tensor], torch.Tensor]  # ids [1, seq] -> logits [seq, vocab]


def load_reference(model_dir: str, impl: str) -> Logits:
    raw = read_config(model_dir)
    arch = architecture_of(raw)
    if arch.task != "fill-mask":
        raise CheckpointError(f"{model_dir}/config.json: architectures "
                              f"{raw.get('architectures')} is not fill-mask (a *ForMaskedLM)")
    types = arch.forward_inputs == 3
    hf_dir = os.path.join(model_dir, "hf")
    if os.path.isdir(hf_dir):
        if impl in ("auto", "transformers"):
            hf = load_transformers(hf_dir, arch)
            if hf is not None:
                return lambda ids: hf(input_ids=ids, attention_mask=torch.ones_like(ids),
                                      **({"token_type_ids": torch.zeros_like(ids)} if types
                                         else {})).logits[0]
            if impl == "transformers":
                raise CheckpointError("--impl transformers: transformers is not importable")
        module = load_model(hf_dir, arch.name, loader="torch").module
    else:
        if impl == "transformers":
            raise CheckpointError(f"--impl transformers needs {hf_dir}")
        path = os.path.join(model_dir, "model.pt")
        try:
            sd = torch.jit.load(path, map_location="cpu").state_dict()
        except Exception as e:  # missing or not TorchScript
            raise CheckpointError(f"{path}: cannot load ({str(e).splitlines()[0]})") from None
        config = module_config(raw, arch)
        sd, _ = normalize_state_dict({k: v.float() for k, v in sd.items()}, arch, config)
        module, _ = build_module(arch, config, sd)
        load_strict(module, sd)
    module = module.float().eval()
    return lambda ids: module(*(ids, torch.ones_like(ids),
                                torch.zeros_like(ids))[:arch.forward_inputs])[0]


def mask_token_of(model_dir: str) -> Optional[str]:
    """The mask token tokenizer_config.json or special_tokens_map.json names (the latter wins)."""
    token = None
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        try:
            with open(os.path.join(model_dir, name), encoding="utf-8") as f:
                value = json.load(f).get("mask_token")
        except (OSError, ValueError, AttributeError):
            continue
        value = value.get("content") if isinstance(value, dict) else value
        if isinstance(value, str):
            token = value
    return token


def mask_id_in(vocab: Dict[str, int], mask_token: Optional[str] = None) -> int:
    """The named mask token's id, else BERT's [MASK], else RoBERTa's <mask>, else 103. (An MPNet
    vocabulary holds both [MASK] and <mask>; its tokenizer's is <mask>.)"""
    if mask_token is not None and mask_token in vocab:
        return vocab[mask_token]
    return vocab.get("[MASK]", vocab.get("<mask>", 103))


def mask_id_of(model_dir: str) -> int:
    try:
        return mask_id_in(tokenizer_vocab(model_dir), mask_token_of(model_dir))
    except CheckpointError:
        return 103


@torch.no_grad()
def answer(logits_of: Logits, ids: List[int], top_k: int, mask_id: int) -> dict:
    positions = [i for i, t in enumerate(ids) if t == mask_id]
    if not positions:
        return {"mask_positions": [], "top": []}
    logits = logits_of(torch.tensor([ids], dtype=torch.long))
    top = []
    for p in positions:
        probs = torch.softmax(logits[p].float(), dim=-1)
        values, indices = probs.topk(min(top_k, probs.numel()))
        top.append([{"id": int(i), "score": float(v)} for v, i in zip(values, indices)])
    return {"mask_positions": positions, "top": top}


def main() -> int:
    ap = argparse.ArgumentParser(description="Eager fill-mask reference (JSON lines in and out).")
    ap.add_argument("model_dir")
    ap.add_argument("--impl", default="auto", choices=["auto", "ours", "transformers"])
    args = ap.parse_args()
    torch.set_num_threads(2)
    try:
        logits_of = load_reference(args.model_dir, args.impl)
    except CheckpointError as e:
        print(f"reference_fill_mask: error: {e}", file=sys.stderr)
        return 2
    mask_id = mask_id_of(args.model_dir)
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            ids = [int(i) for i in req["ids"]]
            top_k = int(req.get("top_k", 5))
            if not ids or top_k < 1:
                raise ValueError("ids must be non-empty and top_k >= 1")
        except (ValueError, KeyError, TypeError) as e:
            print(f"reference_fill_mask: input line {n}: {e}", file=sys.stderr)
            return 2
        sys.stdout.write(json.dumps(answer(logits_of, ids, top_k, mask_id)) + "\n")
        sys.stdout.flush()  # a test may read answers as they come
    return 0


if __name__ == "__main__":
    sys.exit(main())
