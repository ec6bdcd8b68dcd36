"""Reading a local Hugging Face checkpoint directory (BERT or a relative) into our modules.

Imported by bert/export.py, reference.py and reference_fill_mask.py; not run by itself.

A checkpoint directory holds config.json, the weights (model.safetensors, pytorch_model.bin, or
their sharded *.index.json forms) and the tokenizer (vocab.txt and/or tokenizer.json, with
tokenizer_config.json / special_tokens_map.json). Everything that is wrong with one raises
CheckpointError with a message meant for the user; the scripts turn it into exit code 2.
"""
import json
import os
import pickle
from typing import Dict, List, Optional, Tuple

import torch

from . import safetensors
from .families.registry import ARCHITECTURES
from .layout import CheckpointError, architecture_name, model_type_of, read_config, weights_file
from .modeling import Architecture, BertConfig


def architecture_of(config: Dict, override: Optional[str] = None) -> Architecture:
    return ARCHITECTURES[architecture_name(config, override)]


def module_config(config: Dict, arch: Architecture) -> BertConfig:
    """The config arch's module is built from; CheckpointError when config.json does not fit."""
    model_type = model_type_of(config)
    if model_type != arch.model_type:
        raise CheckpointError(f"config.json model_type is {model_type!r} but {arch.name} is a "
                              f"{arch.model_type!r} architecture")
    try:
        return arch.config_from(config)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"config.json: {e}") from None


def build_module(arch: Architecture, config: BertConfig,
                 sd: Dict[str, torch.Tensor]) -> Tuple[torch.nn.Module, bool]:
    """arch's module (eval), and whether it was built without its pooler because the weights
    have none (a head checkpoint exported as its encoder: the encoder's forward does not use it)."""
    module = arch.cls(config)
    if hasattr(module, "pooler") and not any(k.startswith("pooler.") for k in sd):
        return arch.cls(config, add_pooling_layer=False).eval(), True
    return module.eval(), False


def _load_file(path: str) -> Dict[str, torch.Tensor]:
    try:
        if path.endswith(".safetensors"):
            return safetensors.load(path)
        # weights_only: a checkpoint is data; refuse pickled code.
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except safetensors.SafetensorsError as e:
        raise CheckpointError(str(e)) from None
    except Exception as e:  # torch.load raises many types for a bad file
        if isinstance(e, pickle.UnpicklingError):
            raise CheckpointError(f"{path}: not a plain PyTorch state dict (unreadable, or it "
                                  "holds more than tensors, which is not loaded)") from None
        raise CheckpointError(f"{path}: cannot read weights ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''})") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"{path}: expected a state dict (names -> tensors)")
    return dict(sd)


def read_state_dict(src_dir: str) -> Tuple[Dict[str, torch.Tensor], str]:
    """Weights of src_dir as one flat dict, and the file(s) they came from."""
    name = weights_file(src_dir)
    path = os.path.join(src_dir, name)
    if not name.endswith(".index.json"):
        return _load_file(path), name
    try:
        with open(path, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path}: not a shard index ({e})") from None
    sd: Dict[str, torch.Tensor] = {}
    shards = sorted(set(weight_map.values()))
    for shard in shards:
        shard_path = os.path.join(src_dir, shard)
        if not os.path.isfile(shard_path):
            raise CheckpointError(f"{path} names {shard}, which is missing")
        sd.update(_load_file(shard_path))
    return sd, f"{name} ({len(shards)} shards)"


def normalize_state_dict(sd: Dict[str, torch.Tensor], arch: Architecture,
                         config: BertConfig) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Bring a HF state dict to exactly our module's keys, doing what from_pretrained does.

    Returns the new dict and one note per change, so the exporter can say what it did.
    """
    notes: List[str] = []
    out: Dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        new = key
        # TF-era checkpoints name LayerNorm parameters gamma/beta.
        if new.endswith(".gamma"):
            new = new[: -len(".gamma")] + ".weight"
        elif new.endswith(".beta"):
            new = new[: -len(".beta")] + ".bias"
        out[new] = value
    if any(k != n for k, n in zip(sd, out)):
        notes.append("renamed LayerNorm gamma/beta to weight/bias")

    # A head checkpoint exported as the bare encoder: strip the prefix, drop the heads.
    prefix = arch.model_prefix
    if arch.base_prefix == "" and any(k.startswith(prefix) for k in out):
        dropped = [k for k in out if not k.startswith(prefix)]
        out = {k[len(prefix):]: v for k, v in out.items() if k.startswith(prefix)}
        if dropped:
            notes.append(f"dropped {len(dropped)} head keys ({dropped[0]}, ...) for the bare encoder")

    for key in list(out):
        # Buffers, not parameters: persistent in HF < 4.31 checkpoints, rebuilt by the module.
        if key.endswith("embeddings.position_ids") or key.endswith("embeddings.token_type_ids"):
            del out[key]
            notes.append(f"dropped buffer {key}")
        elif any(key.startswith(p) for p in arch.ignored_prefixes):
            del out[key]
            notes.append(f"dropped {key} (not part of {arch.name}, as in transformers)")

    for dec_w, word in arch.tied_weights if config.tie_word_embeddings else []:
        if dec_w not in out and word in out:
            out[dec_w] = out[word]
            notes.append(f"{dec_w} tied to {word}")
        elif dec_w in out and word in out and not torch.equal(out[dec_w], out[word]):
            raise CheckpointError(f"{dec_w} differs from {word} but config.json has "
                                  "tie_word_embeddings true; set it to false to keep both")
    if arch.tied_bias is not None:
        dec_b, bias = arch.tied_bias
        if dec_b not in out and bias in out:
            out[dec_b] = out[bias]
            notes.append(f"{dec_b} tied to {bias}")
        elif bias not in out and dec_b in out:
            out[bias] = out[dec_b]
            notes.append(f"{bias} tied to {dec_b}")
    return out, notes


def load_strict(module: torch.nn.Module, sd: Dict[str, torch.Tensor]) -> None:
    """load_state_dict(strict=True) with a message that lists what does not fit."""
    own = module.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in sd and sd[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        def few(items: List[str]) -> str:
            return ", ".join(items[:6]) + (f", ... ({len(items)} in all)" if len(items) > 6 else "")
        parts = []
        if missing:
            parts.append(f"missing keys: {few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {few(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches: {few(shapes)}")
        raise CheckpointError("the weights do not fit the architecture in config.json: "
                              + "; ".join(parts))
    module.load_state_dict(sd, strict=True)


def tokenizer_vocab(src_dir: str) -> Dict[str, int]:
    """token -> id from vocab.txt, else from tokenizer.json: a WordPiece or BPE model's vocab
    (token -> id), a Unigram model's (a list of [piece, score], ids in order), and the added
    tokens (RoBERTa's and XLM-R's <mask> are added tokens)."""
    path = os.path.join(src_dir, "vocab.txt")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            return {line.rstrip("\n"): i for i, line in enumerate(f)}
    path = os.path.join(src_dir, "tokenizer.json")
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        model = doc["model"]
        kind, vocab = model.get("type", "WordPiece"), model["vocab"]
        if kind in ("WordPiece", "BPE") and isinstance(vocab, dict):
            out = {str(k): int(v) for k, v in vocab.items()}
        elif kind == "Unigram" and isinstance(vocab, list):
            out = {str(entry[0]): i for i, entry in enumerate(vocab)}
        else:
            raise CheckpointError(f"{path}: model type {kind!r} with a vocab of type "
                                  f"{type(vocab).__name__} (expected WordPiece, BPE or Unigram)")
        for added in doc.get("added_tokens") or []:
            out[str(added["content"])] = int(added["id"])
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        raise CheckpointError(f"{path}: no vocabulary ({e})") from None
    return out


class Loaded:
    """A checkpoint loaded into our eager module (float32, eval)."""

    def __init__(self, module: torch.nn.Module, raw_config: Dict, arch: Architecture,
                 notes: List[str], hf_model: Optional[torch.nn.Module]) -> None:
        self.module = module
        self.raw_config = raw_config
        self.arch = arch
        self.notes = notes
        self.hf_model = hf_model  # transformers' own module when it was used, else None


def load_model(src_dir: str, architecture: Optional[str] = None, loader: str = "auto") -> Loaded:
    """Our eager module with the checkpoint's weights.

    loader "auto" uses transformers when it is importable (it knows every legacy layout, and
    its module is an independent implementation to compare with), else reads the files itself
    ("torch"); "transformers" insists on it.
    """
    raw = read_config(src_dir)
    arch = architecture_of(raw, architecture)
    config = module_config(raw, arch)
    hf = load_transformers(src_dir, arch) if loader in ("auto", "transformers") else None
    if loader == "transformers" and hf is None:
        raise CheckpointError("--loader transformers: transformers is not importable")
    if hf is not None:
        sd, source = hf.state_dict(), "transformers " + _transformers_version()
    else:
        sd, source = read_state_dict(src_dir)
    sd, notes = normalize_state_dict(sd, arch, config)
    module, no_pooler = build_module(arch, config, sd)
    if no_pooler:
        notes.append("no pooler in the checkpoint: exported without one (forward does not use it)")
    load_strict(module, sd)
    module.float()
    notes.insert(0, f"weights from {source}")
    return Loaded(module, raw, arch, notes, hf)


def _transformers_version() -> str:
    import transformers
    return str(getattr(transformers, "__version__", "?"))


def load_transformers(src_dir: str, arch: Architecture) -> Optional[torch.nn.Module]:
    """The checkpoint as transformers loads it, or None when transformers is not installed."""
    try:
        import transformers  # optional by design
    except ImportError:
        return None
    cls = getattr(transformers, arch.name)
    try:
        try:
            # The eager attention path is the one our module reproduces op for op.
            model, info = cls.from_pretrained(src_dir, attn_implementation="eager",
                                              output_loading_info=True)
        except TypeError:  # transformers < 4.36 has no attn_implementation
            model, info = cls.from_pretrained(src_dir, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as e:  # RuntimeError: a size mismatch
        raise CheckpointError(f"transformers cannot load {src_dir}: "
                              f"{str(e).strip().splitlines()[0]}") from None
    # from_pretrained fills missing weights with random values and only warns: refuse instead,
    # as the strict path does. (The encoder's pooler is not used by its forward.)
    missing = [k for k in info.get("missing_keys", [])
               if not (arch.task == "embeddings" and k.startswith("pooler."))]
    mismatched = [str(k[0]) if isinstance(k, tuple) else str(k)
                  for k in info.get("mismatched_keys", [])]
    if missing or mismatched:
        raise CheckpointError("the weights do not fit the architecture in config.json "
                              f"(transformers): missing {missing[:6]}, mismatched {mismatched[:6]}")
    return model.float().eval()
