"""What a Hugging Face checkpoint directory must hold, checked with the standard library only.

Imported by export_hf.py (to refuse a bad directory before torch is even loaded) and by
checkpoint.py; not run by itself.
"""
import json
import os
from typing import Dict, List, Optional, Tuple

# Kept equal to modeling.ARCHITECTURES (checkpoint.py asserts it) without importing torch here.
ARCHITECTURE_NAMES = ("BertForMaskedLM", "BertModel", "BertForSequenceClassification")
# Checkpoints saved from these classes carry the weights of the one named (plus keys that
# checkpoint.normalize_state_dict drops); transformers' fill-mask pipeline loads them the same way.
ALIASES = {"BertForPreTraining": "BertForMaskedLM"}
TOKENIZER_FILES = ["vocab.txt", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json", "added_tokens.json"]
WEIGHT_FILES = ["model.safetensors", "pytorch_model.bin",
                "model.safetensors.index.json", "pytorch_model.bin.index.json"]


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


def architecture_name(config: Dict, override: Optional[str] = None) -> str:
    names = [override] if override else list(config.get("architectures") or [])
    names = [ALIASES.get(n, n) for n in names]
    if not names:
        model_type = config.get("model_type")
        raise CheckpointError(
            "config.json has no \"architectures\" entry; pass --architecture "
            f"({', '.join(ARCHITECTURE_NAMES)}) to say which head to export"
            + (f" (model_type is {model_type!r})" if model_type else ""))
    for name in names:
        if name in ARCHITECTURE_NAMES:
            return name
    raise CheckpointError(f"unsupported architecture {', '.join(map(str, names))}: "
                          f"supported are {', '.join(ARCHITECTURE_NAMES)}")


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


def preflight(src_dir: str, architecture: Optional[str] = None) -> Tuple[Dict, str, List[str], str]:
    """(config, architecture name, tokenizer files, weights file), or CheckpointError."""
    config = read_config(src_dir)
    model_type = config.get("model_type", "bert")
    if model_type != "bert":
        raise CheckpointError(f"config.json model_type is {model_type!r}; only 'bert' is supported")
    arch = architecture_name(config, architecture)
    return config, arch, tokenizer_files(src_dir), weights_file(src_dir)
