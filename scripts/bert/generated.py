"""Random model specs for the generated-model tests: shapes and ways of saving nobody picked by hand.

Imported by make_generated_models.py; not run by itself. Each spec is a bert/zoo.py case spec,
drawn from a seeded generator: the architecture, the shape (layers, hidden size, heads,
intermediate size, vocabulary size, max positions, activation, layer-norm epsilon), the labels, and
how the file is made (a trace with a random forward signature, output kind and encoder parameter
order, sometimes saved in a half type; or torch.jit.script). A trace whose forward names its inputs
x, y in an unusual order cannot be read right by anyone: those specs expect a refusal at load.
"""
import random
from typing import Dict

from . import zoo_modules

ARCHITECTURES = ["BertForMaskedLM", "BertModel", "BertForSequenceClassification", "BertForTokenClassification"]
ACTIVATIONS = ["gelu", "relu", "gelu_new"]
REFUSED = {"code": "ERR_MODEL_INVALID", "message": "name its parameters input_ids, attention_mask and token_type_ids"}


def spec(seed: int) -> Dict:
    rng = random.Random(seed)
    arch = rng.choice(ARCHITECTURES)
    heads = rng.choice([1, 2, 4])
    hidden = heads * rng.choice([4, 8, 16])
    shape = dict(num_hidden_layers=rng.randint(1, 3), hidden_size=hidden, num_attention_heads=heads,
                 intermediate_size=rng.choice([hidden, 2 * hidden, 4 * hidden, rng.randint(8, 96)]),
                 vocab_size=rng.randint(2100, 6000), max_position_embeddings=rng.choice([16, 24, 40, 64, 128]),
                 type_vocab_size=2, hidden_act=rng.choice(ACTIVATIONS), layer_norm_eps=rng.choice([1e-12, 1e-5]))
    out: Dict = dict(name=f"gen-{seed}", architecture=arch, shape=shape, seed=seed, expect="ok")
    if arch == "BertForSequenceClassification":
        out["labels"] = [f"LABEL_{i}" for i in range(rng.randint(1, 6))]
    elif arch == "BertForTokenClassification":
        out["labels"] = ["O"] + [f"{p}-T{i}" for i in range(rng.randint(1, 3)) for p in ("B", "I")]
    if rng.random() < 0.15:
        out["save"] = "script"
    else:
        signature = rng.choice(list(zoo_modules.SIGNATURES))
        inputs = list(zoo_modules.SIGNATURES[signature][1])
        rng.shuffle(inputs)
        out.update(save="trace", signature=signature, order=inputs, output=rng.choice(["tuple", "dict", "tensor"]))
        if rng.random() < 0.2:
            out["stored"] = rng.choice(["float16", "bfloat16"])
        if signature == "unnamed_swapped":
            out["expect"] = REFUSED
    if arch == "BertForMaskedLM":
        out["head_path"] = "encoder_then_head"
    return out
