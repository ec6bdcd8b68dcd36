"""Deterministic synthetic BERT checkpoints for the demo and test models.

Imported by make_demo_model.py and make_test_models.py; not run by itself.

Why not HF's init (normal(0, 0.02)): with it the fill-mask softmax is nearly uniform and the
top-5 order at a mask is decided by differences around 1e-7, below the noise of batching and
padding, so every numerical test would be flaky. Here the scales are chosen so that activations
stay near unit variance through every layer, attention is far from uniform, and the logits at a
mask have a spread of about `logit_std` (default 4): the top probabilities are then tenths to
hundredths apart, and the order of the top ids is decided by logit gaps around 0.1-1.
"""
import json
import math
import os
from typing import Dict, Iterable, List

import torch

from .layout import TOKENIZER_FILES, WEIGHT_FILES
from .modeling import BertConfig

# What HF writes besides the shapes; transformers can load these configs as they are.
HF_DEFAULTS = dict(model_type="bert", hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0,
                   position_embedding_type="absolute", hidden_dropout_prob=0.1,
                   attention_probs_dropout_prob=0.1, initializer_range=0.02, torch_dtype="float32")
TOKENIZER_CONFIG = {"do_lower_case": True, "model_max_length": 512,
                    "tokenizer_class": "BertTokenizer"}
FIRST_WORD_ID = 1996  # bert-base-uncased: ids below are [PAD]/[unusedN]/specials/single chars
# The masked-LM output bias of each family (BERT, RoBERTa/XLM-R/MPNet, DistilBERT, ELECTRA).
MLM_BIAS_KEYS = ("predictions.bias", "lm_head.bias", "vocab_projector.bias",
                 "generator_lm_head.bias")


def hf_config(architecture: str, **shape: int) -> Dict:
    cfg = dict(HF_DEFAULTS)
    cfg.update(shape)
    cfg["architectures"] = [architecture]
    return cfg


@torch.no_grad()
def init_weights(module: torch.nn.Module, config: BertConfig, seed: int,
                 logit_std: float = 4.0, mlm_bias_std: float = 1.0,
                 special_penalty: float = 8.0) -> None:
    """Fill every parameter from one seeded generator, in state-dict order (deterministic)."""
    g = torch.Generator().manual_seed(seed)
    emb_std = logit_std / math.sqrt(config.hidden_size)
    for name, p in module.named_parameters():  # tied parameters come once
        leaf = name.rsplit(".", 1)[-1]
        if "LayerNorm" in name or "layer_norm" in name:
            # Not all ones: a model whose LayerNorm is the identity hides scale bugs.
            p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g) if leaf == "weight"
                    else 0.05 * torch.randn(p.shape, generator=g))
        elif name.endswith("word_embeddings.weight"):
            # Also the tied decoder: logits = LN(...) @ E^T have std ~ logit_std.
            p.copy_(emb_std * torch.randn(p.shape, generator=g))
            p[config.pad_token_id].zero_()  # as HF's init: [PAD] embeds to zero
        elif "embeddings" in name and "embeddings_project" not in name:
            # Position/type embeddings smaller than word embeddings, so the word dominates.
            p.copy_(0.5 * emb_std * torch.randn(p.shape, generator=g))
        elif name.endswith(MLM_BIAS_KEYS):
            bias = mlm_bias_std * torch.randn(p.shape, generator=g)
            # Keep [PAD]/[unusedN]/[CLS]/[SEP]/[MASK] out of the answers, as a trained model does.
            bias[: min(FIRST_WORD_ID, p.numel())] -= special_penalty
            p.copy_(bias)
        elif leaf == "weight" and p.dim() == 2:
            # 1/sqrt(fan_in) keeps unit variance; attention logits q.k/sqrt(d) get std ~1.
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))
        else:
            p.copy_(0.1 * torch.randn(p.shape, generator=g))


def write_checkpoint(hf_dir: str, config: Dict, state_dict: Dict[str, torch.Tensor],
                     tokenizer: str = "vocab.txt") -> str:
    """A HF-style checkpoint directory: config.json, pytorch_model.bin and the tokenizer files.

    tokenizer: "vocab.txt" or "tokenizer.json" (which one the directory carries).
    Returns where the vocabulary came from.
    """
    import vocab  # scripts/vocab.py; the caller has scripts/ on sys.path

    os.makedirs(hf_dir, exist_ok=True)
    for stale in WEIGHT_FILES + TOKENIZER_FILES:  # a leftover model.safetensors would win
        if os.path.exists(os.path.join(hf_dir, stale)):
            os.remove(os.path.join(hf_dir, stale))
    with open(os.path.join(hf_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    # Plain contiguous copies (no views into other storages); tied tensors stay one storage,
    # as in the files transformers writes.
    copies: Dict[tuple, torch.Tensor] = {}
    sd = {}
    for k, v in state_dict.items():
        same = (v.data_ptr(), tuple(v.shape), v.stride())
        if same not in copies:
            copies[same] = v.detach().clone().contiguous()
        sd[k] = copies[same]
    torch.save(sd, os.path.join(hf_dir, "pytorch_model.bin"))
    with open(os.path.join(hf_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(TOKENIZER_CONFIG, f, indent=2)
        f.write("\n")
    if tokenizer == "tokenizer.json":
        return vocab.write_tokenizer_json(os.path.join(hf_dir, "tokenizer.json"))
    return vocab.write_vocab(os.path.join(hf_dir, "vocab.txt"))


def sample_inputs(n: int, seed: int, vocab_size: int, mask_id: int = 103, cls_id: int = 101,
                  sep_id: int = 102, max_words: int = 30) -> List[List[int]]:
    """n id sequences [CLS] words.. [SEP] with one or two [MASK]s, deterministic."""
    g = torch.Generator().manual_seed(seed)
    lo = FIRST_WORD_ID if vocab_size > FIRST_WORD_ID + 1000 else 5
    out = []
    for _ in range(n):
        n_words = int(torch.randint(2, max_words + 1, (1,), generator=g))
        words = torch.randint(lo, vocab_size, (n_words,), generator=g).tolist()
        n_masks = 1 + int(torch.randint(0, 4, (1,), generator=g) == 0)
        for pos in torch.randperm(n_words, generator=g)[:n_masks].tolist():
            words[pos] = mask_id
        out.append([cls_id] + words + [sep_id])
    return out


@torch.no_grad()
def top5_gaps(model: torch.nn.Module, inputs: Iterable[List[int]], mask_id: int = 103) -> Dict:
    """Gaps between consecutive top-5 softmax scores (and top-6 logits) over the masks."""
    prob_gaps: List[float] = []
    logit_gaps: List[float] = []
    top1: List[float] = []
    for ids in inputs:
        t = torch.tensor([ids])
        logits = model(t, torch.ones_like(t), torch.zeros_like(t))[0]
        for pos in (t[0] == mask_id).nonzero().flatten().tolist():
            p = torch.softmax(logits[pos].float(), -1)
            top = torch.topk(p, 5).values
            prob_gaps += (top[:-1] - top[1:]).tolist()
            lt = torch.topk(logits[pos].float(), 6).values
            logit_gaps += (lt[:-1] - lt[1:]).tolist()
            top1.append(float(top[0]))
    prob_gaps.sort()
    logit_gaps.sort()
    return {"masks": len(top1),
            "median_prob_gap": prob_gaps[len(prob_gaps) // 2],
            "min_prob_gap": prob_gaps[0],
            "p10_prob_gap": prob_gaps[len(prob_gaps) // 10],
            "min_logit_gap_top6": logit_gaps[0],
            "median_top1": sorted(top1)[len(top1) // 2]}
