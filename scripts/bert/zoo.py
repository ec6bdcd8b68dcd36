"""Building one model directory the way users make theirs, with the eager reference's answers.

Imported by make_zoo.py (the fixed zoo: one case per way of saving a model) and
make_generated_models.py (random shapes and trace orders); not run by itself.

A case is a spec (a dict):
  name, architecture (BertForMaskedLM | BertModel | BertForSequenceClassification |
  BertForTokenClassification), shape (BertConfig fields), seed, labels (classifiers),
  save: "trace" | "script" | "export"
    trace:  signature (zoo_modules.SIGNATURES), output (tuple | dict | tensor), order (the order the
            encoder's parameters are recorded in), stored (float16 | bfloat16: the traced module's
            weights are converted before torch.jit.save)
    export: weights (bin | safetensors), stored (float16 | bfloat16: the checkpoint's tensors),
            legacy (LayerNorm gamma/beta keys), pooler (False: a BertModel checkpoint without one;
            "extra": a head checkpoint that carries bert.pooler keys it does not use)
  st: sentence-transformers modules after the encoder: {"pooling": mode, "dense": {"out":,
      "activation":}, "normalize": bool} (BertModel only)
  expect: "ok", or {"code": ..., "message": regex} for a model the engine must refuse at load
  head_path: the fill-mask path the engine must pick (fill_mask_logits | encoder_then_head |
             full_forward)

build_case(d, spec) writes d/model.pt, config.json, vocab.txt, tokenizer_config.json (and the
checkpoint in d/hf for exports, the sentence-transformers files) and d/case.json: the spec, the
inputs (texts and pairs of whole vocabulary words, so the engine's tokenizer gives exactly the ids
written next to them) and the reference answers: the eager module of scripts/bert/modeling.py on
the same weights (rounded to the stored dtype), float32, one sequence at a time, no padding.
"""
import copy
import functools
import json
import math
import os
import random
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

import vocab as vocab_files  # scripts/vocab.py; the caller has scripts/ on sys.path
from . import safetensors, st_dense, synthetic, zoo_modules
from .export import export
from .modeling import BertConfig, BertModel, build

Log = Callable[[str], None]
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}
LN = ("LayerNorm.weight", "LayerNorm.bias")


@functools.lru_cache(maxsize=None)
def _uncased() -> Tuple[str, ...]:
    return tuple(vocab_files.uncased_vocab()[0])


def vocabulary(size: int) -> List[str]:
    """The first `size` tokens of the real uncased vocabulary (its specials and commonest words)."""
    return list(_uncased()[:size])


def words_of(tokens: List[str]) -> List[str]:
    """Tokens that are whole lowercase words: a text of them tokenizes to exactly their ids."""
    return [t for t in tokens[synthetic.FIRST_WORD_ID:] if t.isascii() and t.isalpha() and t.islower() and len(t) > 1]


def hf_config(spec: Dict) -> Dict:
    cfg = synthetic.hf_config(spec["architecture"], **spec["shape"])
    labels = spec.get("labels")
    if labels:
        cfg["id2label"] = {str(i): l for i, l in enumerate(labels)}
        cfg["label2id"] = {l: i for i, l in enumerate(labels)}
    return cfg


@torch.no_grad()
def eager_model(spec: Dict) -> torch.nn.Module:
    """The seeded eager module, its weights rounded to the stored dtype (what the file will hold)."""
    config = BertConfig.from_dict(hf_config(spec))
    arch = spec["architecture"]
    module = BertModel(config, add_pooling_layer=False).eval() if arch == "BertModel" and spec.get("pooler") is False \
        else build(arch, config)
    synthetic.init_weights(module, config, spec["seed"])
    if hasattr(module, "classifier"):  # classifiers' logits spread as a trained model's do
        module.classifier.weight.mul_(4.0)
    stored = spec.get("stored")
    if stored:
        for p in module.parameters():
            p.copy_(p.to(DTYPES[stored]).float())
    return module


def make_inputs(spec: Dict, tokens: List[str], count: int) -> List[Dict]:
    """Texts of whole words (1-2 masks each for fill-mask), every third a pair when the model
    takes token types; with the ids and token types the engine's tokenizer gives them."""
    rng = random.Random(spec["seed"] * 7 + 1)
    words = words_of(tokens)
    index = {t: i for i, t in enumerate(tokens)}
    max_words = max(2, min(12, (spec["shape"]["max_position_embeddings"] - 3) // 2))
    # Pairs where the engine takes them: embeddings and classification (fill-mask and token
    # classification take single texts).
    pairs = takes_types(spec) and spec["architecture"] in ("BertModel", "BertForSequenceClassification")
    out = []
    for k in range(count):
        a = [rng.choice(words) for _ in range(rng.randint(1, max_words))]
        if spec["architecture"] == "BertForMaskedLM":
            for pos in rng.sample(range(len(a)), min(len(a), 1 + (k % 3 == 2))):
                a[pos] = "[MASK]"
        b = [rng.choice(words) for _ in range(rng.randint(1, max_words))] if pairs and k % 3 == 1 else None
        ids = [index["[CLS]"]] + [index[w] for w in a] + [index["[SEP]"]]
        types = [0] * len(ids)
        if b:
            ids += [index[w] for w in b] + [index["[SEP]"]]
            types += [1] * (len(b) + 1)
        out.append({"text": " ".join(a), "pair": " ".join(b) if b else None, "ids": ids, "token_type_ids": types})
    return out


def takes_types(spec: Dict) -> bool:
    if spec["save"] != "trace":
        return True
    return "token_type_ids" in zoo_modules.SIGNATURES[spec["signature"]][1]


def st_pooling(hidden: torch.Tensor, mode: str) -> torch.Tensor:
    """sentence-transformers' Pooling over one unpadded sequence [seq, hidden]."""
    if mode == "cls":
        return hidden[0]
    if mode == "mean":
        return hidden.mean(0)
    if mode == "max":
        return hidden.max(0).values
    if mode == "lasttoken":
        return hidden[-1]
    raise ValueError(mode)


@torch.no_grad()
def reference(spec: Dict, eager: torch.nn.Module, inputs: List[Dict], dense: Optional[Dict]) -> List[Any]:
    arch = spec["architecture"]
    out = []
    for x in inputs:
        ids = torch.tensor([x["ids"]])
        types = torch.tensor([x["token_type_ids"]]) if takes_types(spec) else torch.zeros_like(ids)
        y = eager(ids, torch.ones_like(ids), types)[0].float()
        if arch == "BertForMaskedLM":
            answer = []
            for pos in [i for i, t in enumerate(x["ids"]) if t == 103]:
                top = torch.softmax(y[pos], -1).topk(5)
                answer.append({"ids": top.indices.tolist(), "scores": top.values.tolist()})
            out.append(answer)
        elif arch == "BertModel":
            v = st_pooling(y, (spec.get("st") or {}).get("pooling", "cls"))
            if dense is not None:
                v = st_dense.ACTIVATIONS[dense["activation"]](dense["weight"] @ v + dense["bias"])
            out.append(v.tolist())
        elif arch == "BertForSequenceClassification":
            fn = torch.sigmoid if len(spec["labels"]) == 1 else lambda t: torch.softmax(t, -1)
            out.append({"logits": y.tolist(), "scores": fn(y).tolist()})
        else:
            probs = torch.softmax(y, -1)
            out.append([{"index": i, "label": spec["labels"][int(probs[i].argmax())], "score": float(probs[i].max())}
                        for i in range(1, len(x["ids"]) - 1)])
    return out


def write_tokenizer(d: str, tokens: List[str]) -> None:
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(vocab_files.vocab_text(tokens))
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(synthetic.TOKENIZER_CONFIG, f, indent=2)
        f.write("\n")


def write_json(path: str, value: Any) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def save_torchscript(module: torch.jit.ScriptModule, path: str, stored: Optional[str]) -> None:
    if stored:
        module = module.to(DTYPES[stored])  # as users save a model after .half() / .to(bfloat16)
    for p in module.parameters():
        p.requires_grad_(False)
    torch.jit.save(module, path)


def checkpoint_state(spec: Dict, eager: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """The state dict as the checkpoint file holds it: stored dtype, legacy names, extra keys."""
    sd = {k: v.detach().clone() for k, v in eager.state_dict().items()}
    if spec.get("pooler") == "extra":  # e.g. saved from BertForPreTraining: the pooler comes along
        g = torch.Generator().manual_seed(spec["seed"])
        h = spec["shape"]["hidden_size"]
        sd["bert.pooler.dense.weight"] = torch.randn(h, h, generator=g) / math.sqrt(h)
        sd["bert.pooler.dense.bias"] = torch.zeros(h)
    if spec.get("stored"):
        sd = {k: v.to(DTYPES[spec["stored"]]) if v.is_floating_point() else v for k, v in sd.items()}
    if spec.get("legacy"):
        sd = {(k[: -len("weight")] + "gamma" if k.endswith(LN[0]) else k[: -len("bias")] + "beta" if k.endswith(LN[1]) else k): v
              for k, v in sd.items()}
    return sd


def write_checkpoint(hf: str, spec: Dict, eager: torch.nn.Module, tokens: List[str]) -> None:
    os.makedirs(hf, exist_ok=True)
    config = hf_config(spec)
    if spec.get("stored"):
        config["torch_dtype"] = spec["stored"]
    write_json(os.path.join(hf, "config.json"), config)
    sd = checkpoint_state(spec, eager)
    if spec.get("weights") == "safetensors":
        # One copy of tied tensors, as transformers writes them (it drops the tied decoder weight).
        sd = {k: v.contiguous() for k, v in sd.items() if k != "cls.predictions.decoder.weight"}
        safetensors.save(sd, os.path.join(hf, "model.safetensors"), {"format": "pt"})
    else:
        torch.save(sd, os.path.join(hf, "pytorch_model.bin"))
    write_tokenizer(hf, tokens)


def write_st(d: str, spec: Dict) -> Optional[Dict]:
    """sentence-transformers' modules.json, Pooling config and Dense module (weights as
    model.safetensors, its config.json); returns the Dense weights for the reference."""
    st = spec["st"]
    h = spec["shape"]["hidden_size"]
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    pooling = {"word_embedding_dimension": h, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False,
               "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
               "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True}
    key = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens", "max": "pooling_mode_max_tokens",
           "lasttoken": "pooling_mode_lasttoken"}[st["pooling"]]
    pooling[key] = True
    write_json(os.path.join(d, "1_Pooling", "config.json"), pooling)
    dense = None
    if st.get("dense"):
        out = st["dense"]["out"]
        g = torch.Generator().manual_seed(spec["seed"] + 5)
        dense = {"weight": torch.randn(out, h, generator=g) / math.sqrt(h), "bias": 0.1 * torch.randn(out, generator=g),
                 "activation": st["dense"]["activation"]}
        modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
        write_json(os.path.join(d, "2_Dense", "config.json"),
                   {"in_features": h, "out_features": out, "bias": True, "activation_function": dense["activation"]})
        weights = {"linear.weight": dense["weight"], "linear.bias": dense["bias"]}
        if st["dense"].get("format") == "bin":
            torch.save(weights, os.path.join(d, "2_Dense", "pytorch_model.bin"))
        else:
            safetensors.save(weights, os.path.join(d, "2_Dense", "model.safetensors"))
    if st.get("normalize"):
        modules.append({"idx": len(modules), "name": str(len(modules)), "path": f"{len(modules)}_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
        os.makedirs(os.path.join(d, f"{len(modules) - 1}_Normalize"), exist_ok=True)
    write_json(os.path.join(d, "modules.json"), modules)
    return dense


def example_ids(tokens: List[str], length: int) -> torch.Tensor:
    words = words_of(tokens)
    index = {t: i for i, t in enumerate(tokens)}
    return torch.tensor([[index["[CLS]"]] + [index[w] for w in words[: length - 2]] + [index["[SEP]"]]])


def build_case(d: str, spec: Dict, log: Log, inputs_per_case: int = 6) -> Dict:
    """Writes the case's model directory and case.json; returns what case.json holds."""
    os.makedirs(d, exist_ok=True)
    tokens = vocabulary(spec["shape"]["vocab_size"])
    eager = eager_model(spec)
    arch = spec["architecture"]
    save = spec["save"]
    dense = None
    if save == "export":
        hf = os.path.join(d, "hf")
        write_checkpoint(hf, spec, eager, tokens)
        if spec.get("st"):
            dense = write_st(hf, spec)
        export(hf, d, log=log)
    else:
        if save == "trace":
            # A copy: the trace shares its parameters, and saving in a half type converts them.
            module = zoo_modules.user_module(copy.deepcopy(eager), arch, spec["signature"], spec["output"], spec["order"])
            ids = example_ids(tokens, min(8, spec["shape"]["max_position_embeddings"]))
            scripted = zoo_modules.trace(module, spec["signature"], ids, torch.zeros_like(ids), strict=spec["output"] != "dict")
        else:
            scripted = zoo_modules.script(copy.deepcopy(eager), arch)
        save_torchscript(scripted, os.path.join(d, "model.pt"), spec.get("stored"))
        write_json(os.path.join(d, "config.json"), hf_config(spec))
        write_tokenizer(d, tokens)
        if spec.get("st"):
            dense = write_st(d, spec)
    inputs = make_inputs(spec, tokens, inputs_per_case)
    case = {"spec": spec, "inputs": inputs,
            "reference": reference(spec, eager, inputs, dense) if spec.get("expect", "ok") == "ok" else []}
    write_json(os.path.join(d, "case.json"), case)
    return case
