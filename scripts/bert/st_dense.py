"""sentence-transformers' Dense module in plain torch: y = activation(W x + b) after pooling.

Imported by reference.py and bert/zoo.py; not run by itself. The folder (e.g. 2_Dense) holds
config.json (in_features, out_features, bias, activation_function) and linear.weight /
linear.bias in model.safetensors or pytorch_model.bin, as sentence-transformers saves them; the
engine computes the same (native/engine/model/st_dense.cc) with the activations layout.py lists.
"""
import json
import os
from typing import Callable, Dict

import torch

from . import safetensors
from .layout import DENSE_ACTIVATIONS, CheckpointError

ACTIVATIONS: Dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "torch.nn.modules.activation.Tanh": torch.tanh,
    "torch.nn.modules.linear.Identity": lambda x: x,
    "torch.nn.modules.activation.ReLU": torch.relu,
    "torch.nn.modules.activation.Sigmoid": torch.sigmoid,
    "torch.nn.modules.activation.GELU": torch.nn.functional.gelu,
}
assert sorted(ACTIVATIONS) == sorted(DENSE_ACTIVATIONS), "bert/layout.py lists other activations"


def load(model_dir: str, folder: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The Dense module of model_dir/folder as a function of a pooled vector."""
    where = os.path.join(model_dir, folder)
    with open(os.path.join(where, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    act = ACTIVATIONS.get(config.get("activation_function", "torch.nn.modules.activation.Tanh"))
    if act is None:
        raise CheckpointError(f"{where}: activation {config.get('activation_function')!r} is not supported")
    if os.path.isfile(os.path.join(where, "model.safetensors")):
        sd = safetensors.load(os.path.join(where, "model.safetensors"))
    else:
        sd = torch.load(os.path.join(where, "pytorch_model.bin"), map_location="cpu", weights_only=True)
    weight = sd["linear.weight"].float()
    bias = sd["linear.bias"].float() if config.get("bias", True) else None

    def apply(x: torch.Tensor) -> torch.Tensor:
        return act(torch.nn.functional.linear(x, weight, bias))
    return apply
