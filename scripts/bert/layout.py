"""What a Hugging Face checkpoint directory must hold, checked with the standard library only.

Imported by export_hf.py (to refuse a bad directory before torch is even loaded) and by
checkpoint.py; not run by itself.
"""
import json
import os
from typing import Dict, List, Optional, Tuple

from .families.catalog import ALIASES, ARCHITECTURE_NAMES, FAMILIES, describe, family_of

TOKENIZER_FILES = ["vocab.txt", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json", "added_tokens.json"]
WEIGHT_FILES = ["model.safetensors", "pytorch_model.bin",
                "model.safetensors.index.json", "pytorch_model.bin.index.json"]
# sentence-transformers' files next to the checkpoint, copied to the model directory as they are
# (the pooling module's config.json too, at the path modules.json gives it).
ST_FILES = ["modules.json", "config_sentence_transformers.json", "sentence_bert_config.json"]
# sentence-transformers' Dense activations (the class its config.json names) that bert-serve computes
# after pooling (native/engine/model/st_dense.cc has the same list).
DENSE_ACTIVATIONS = ["torch.nn.modules.activation.Tanh", "torch.nn.modules.linear.Identity",
                     "torch.nn.modules.activation.ReLU", "torch.nn.modules.activation.Sigmoid",
                     "torch.nn.modules.activation.GELU"]
DENSE_WEIGHTS = ["model.safetensors", "pytorch_model.bin"]
# Pooling config keys -> the mode names sentence-transformers itself uses, in its order.
POOLING_MODES = [("pooling_mode_cls_token", "cls"), ("pooling_mode_max_tokens", "max"),
                 ("pooling_mode_mean_tokens", "mean"),
                 ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
                 ("pooling_mode_weightedmean_tokens", "weightedmean"),
                 ("pooling_mode_lasttoken", "lasttoken")]


class CheckpointError(Exception):
    """A problem with the user's files (exit code 2), not a bug in the scripts."""


class VerifyError(Exception):
    """The exported model.pt does not reproduce the eager module (exit code 1)."""


def read_config(src_dir: str) -> Dict:
    if not os.path.isdir(src_dir):
        raise CheckpointError(f"{src_dir}: not a directory")
    path = os.path.join(src_dir, "config.json")
    if not os.path.isfile(path):
        raise CheckpointError(f"{src_dir}: no config.json (a Hugging Face checkpoint directory "
                              "has config.json, the weights and the tokenizer files)")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return config


def model_type_of(config: Dict) -> str:
    """config.json's model_type (BERT's when absent, as old BERT checkpoints have it), or
    CheckpointError naming the supported families."""
    model_type = config.get("model_type", "bert")
    if model_type not in FAMILIES:
        raise CheckpointError(f"config.json model_type is {model_type!r}, which bert-serve does not "
                              f"serve; supported families (model_type): {describe()}")
    return str(model_type)


def architecture_name(config: Dict, override: Optional[str] = None) -> str:
    """The architecture to export: --architecture, else the first of config.json's architectures
    that is served; it must belong to config.json's model_type."""
    family = FAMILIES[model_type_of(config)]
    names = [override] if override else list(config.get("architectures") or [])
    names = [ALIASES.get(n, n) for n in names]
    if not names:
        raise CheckpointError(
            "config.json has no \"architectures\" entry; pass --architecture "
            f"({', '.join(family.architectures)}) to say which head to export "
            f"(model_type is {family.model_type!r})")
    for name in names:
        if name in family.architectures:
            return name
    other = [family_of(n) for n in names]
    if any(other):
        raise CheckpointError(
            f"architecture {', '.join(map(str, names))} is not a {family.name} class, but "
            f"config.json's model_type is {family.model_type!r}: supported {family.name} "
            f"architectures are {', '.join(family.architectures)}")
    raise CheckpointError(f"unsupported architecture {', '.join(map(str, names))}: supported "
                          f"{family.name} architectures are {', '.join(family.architectures)}")


def tokenizer_files(src_dir: str) -> List[str]:
    present = [n for n in TOKENIZER_FILES if os.path.isfile(os.path.join(src_dir, n))]
    if "vocab.txt" not in present and "tokenizer.json" not in present:
        raise CheckpointError(f"{src_dir}: no tokenizer (needs vocab.txt or tokenizer.json)")
    return present


def weights_file(src_dir: str) -> str:
    """The first weights file present, in transformers' order of preference."""
    for name in WEIGHT_FILES:
        if os.path.isfile(os.path.join(src_dir, name)):
            return name
    raise CheckpointError(f"{src_dir}: no weights (looked for {', '.join(WEIGHT_FILES)})")


def _read_json(path: str, what: str) -> object:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read {what} ({e.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: {what} is not valid JSON ({e})") from None


def _module_kind(module_type: str) -> str:
    # "sentence_transformers.models.Pooling" and the longer "...models.pooling.Pooling" alike.
    return module_type.rsplit(".", 1)[-1]


def sentence_transformers(src_dir: str) -> Optional[Dict]:
    """What a sentence-transformers directory adds to the checkpoint, or None when it is not one.

    {"files": relative paths to copy, "dirs": module folders that hold no file (Normalize),
     "pooling_config": relative path or None, "pooling": [mode names], "normalize": bool,
     "dense": [relative module folders]}.
    Only the modules bert-serve computes are accepted (Transformer at the top level, Pooling,
    Dense with a listed activation, after pooling, Normalize last): any other module would change
    the embeddings, so it is refused rather than silently left out.
    """
    path = os.path.join(src_dir, "modules.json")
    if not os.path.isfile(path):
        return None
    modules = _read_json(path, "modules.json")
    if not isinstance(modules, list) or not all(
            isinstance(m, dict) and isinstance(m.get("type"), str) for m in modules):
        raise CheckpointError(f"{path}: expected a list of {{\"type\", \"path\", ...}} objects")
    info: Dict = {"files": [n for n in ST_FILES if os.path.isfile(os.path.join(src_dir, n))],
                  "dirs": [], "pooling_config": None, "pooling": [], "normalize": False, "dense": []}
    for m in modules:
        kind, sub = _module_kind(m["type"]), str(m.get("path", "")).strip("/")
        if ".." in sub.split("/") or os.path.isabs(sub):
            raise CheckpointError(f"{path}: module path {sub!r} leaves the directory")
        if kind == "Transformer":
            if sub:
                raise CheckpointError(
                    f"{path}: the Transformer module is in the subfolder {sub!r} (an older "
                    "sentence-transformers layout); export_hf reads the weights and config.json "
                    "at the top of the directory")
        elif kind == "Pooling":
            if info["pooling_config"] is not None:
                raise CheckpointError(f"{path}: more than one Pooling module")
            rel = f"{sub}/config.json" if sub else "config.json"
            config = _read_json(os.path.join(src_dir, rel), "the pooling config")
            if not isinstance(config, dict):
                raise CheckpointError(f"{os.path.join(src_dir, rel)}: expected a JSON object")
            modes = [name for key, name in POOLING_MODES if config.get(key)]
            if not modes:
                raise CheckpointError(f"{os.path.join(src_dir, rel)}: no pooling_mode_* is true")
            info["pooling_config"], info["pooling"] = rel, modes
            info["files"].append(rel)
        elif kind == "Dense":
            if info["pooling_config"] is None or info["normalize"] or not sub:
                raise CheckpointError(f"{path}: a Dense module ({sub or '.'}) is computed after pooling and "
                                      "before Normalize, in a folder of its own")
            config = _read_json(os.path.join(src_dir, sub, "config.json"), "the Dense config")
            activation = config.get("activation_function", "torch.nn.modules.activation.Tanh") \
                if isinstance(config, dict) else None
            if activation not in DENSE_ACTIVATIONS:
                raise CheckpointError(f"{os.path.join(src_dir, sub, 'config.json')}: Dense activation "
                                      f"{activation!r} is not computed by bert-serve (supported: "
                                      f"{', '.join(a.rsplit('.', 1)[-1] for a in DENSE_ACTIVATIONS)})")
            weights = [w for w in DENSE_WEIGHTS if os.path.isfile(os.path.join(src_dir, sub, w))]
            if not weights:
                raise CheckpointError(f"{os.path.join(src_dir, sub)}: no Dense weights "
                                      f"({' or '.join(DENSE_WEIGHTS)})")
            info["files"] += [f"{sub}/config.json", f"{sub}/{weights[0]}"]
            info["dense"].append(sub)
        elif kind == "Normalize":
            info["normalize"] = True
            if sub:
                info["dirs"].append(sub)
        else:
            raise CheckpointError(
                f"{path}: module {m['type']} ({sub or '.'}) is not supported: bert-serve computes "
                "Transformer, Pooling, Dense and Normalize only, and leaving it out would change the "
                "embeddings")
    return info


def preflight(src_dir: str, architecture: Optional[str] = None) -> Tuple[Dict, str, List[str], str]:
    """(config, architecture name, tokenizer files, weights file), or CheckpointError.

    A sentence-transformers directory (modules.json) is an encoder whatever config.json's
    "architectures" says (many keep the MLM head's name they were trained from): it exports as
    its family's encoder (BertModel, MPNetModel, ...), as sentence-transformers loads it, unless
    --architecture says otherwise.
    """
    config = read_config(src_dir)
    family = FAMILIES[model_type_of(config)]
    if sentence_transformers(src_dir) is not None and not architecture:
        architecture = family.encoder
    arch = architecture_name(config, architecture)
    return config, arch, tokenizer_files(src_dir), weights_file(src_dir)
