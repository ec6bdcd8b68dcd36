"""The modules users trace or script, as transformers' classes look to torch.jit (for the zoo).

Imported by bert/zoo.py and bert/generated.py; not run by itself. TorchScript compiles from this
file's source, so keep it importable.

Each architecture's module has the submodules and state-dict keys of transformers' class (bert,
cls, classifier; bert.embeddings, bert.encoder, bert.pooler) around the parts of a
scripts/bert/modeling.py eager module, whose arithmetic is transformers' own, so the eager module
is the reference for every variant. What varies is only how the file records the model:
- the order in which a trace records the encoder's parameters (the order its body first uses them:
  transformers' BertModel.forward does not use input_ids first in every version), set by `order`;
- the parent's forward signature (SIGNATURES: names and order, with or without token_type_ids);
- what forward returns (a tuple as torchscript=True gives, a dict as a strict=False trace of a
  ModelOutput gives, or a bare tensor).
"""
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from .modeling import BertModel, mask_fill_value

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


class UserBert(nn.Module):
    """transformers' BertModel with torchscript=True: -> (last_hidden_state, pooler_output), or
    (last_hidden_state,) without a pooler.

    `order` lists the inputs in the order the body touches them first (a trace records the
    parameters of this module in that order); without token_type_ids the zero buffer is sliced, as
    transformers does. The mask is extended as transformers 4.x does for a float32 model (float32
    cast, finfo(float32).min), so a trace bakes both in as users' files have them.
    """

    def __init__(self, bert: BertModel, order: List[str]) -> None:
        super().__init__()
        self.embeddings = bert.embeddings
        if not hasattr(self.embeddings, "token_type_ids"):
            self.embeddings.register_buffer(
                "token_type_ids", torch.zeros(self.embeddings.position_ids.shape, dtype=torch.long),
                persistent=False)
        self.encoder = bert.encoder
        self.pooler = getattr(bert, "pooler", None)
        self.order = list(order)

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                token_type_ids: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        return self.encode(input_ids, attention_mask, token_type_ids)

    def encode(self, input_ids: Tensor, attention_mask: Tensor,
               token_type_ids: Optional[Tensor]) -> Tuple[Tensor, ...]:
        touched = 0
        for name in self.order:
            if name == "input_ids":
                touched = touched + input_ids.size(0)
            elif name == "attention_mask":
                touched = touched + attention_mask.size(0)
            elif token_type_ids is not None:
                touched = touched + token_type_ids.size(0)
        if token_type_ids is None:
            token_type_ids = self.embeddings.token_type_ids[:, :input_ids.size(1)].expand(
                input_ids.size(0), input_ids.size(1))
        embedding_output = self.embeddings(input_ids, token_type_ids)
        extended = attention_mask[:, None, None, :].to(torch.float32)
        extended = (1.0 - extended) * mask_fill_value(torch.float32)
        sequence_output = self.encoder(embedding_output, extended)
        if self.pooler is None:
            return (sequence_output,)
        return (sequence_output, self.pooler(sequence_output))


class UserMaskedLM(nn.Module):
    """BertForMaskedLM: bert (no pooler), cls; answer -> logits [b, s, vocab]."""

    def __init__(self, eager: nn.Module, order: List[str]) -> None:
        super().__init__()
        self.bert = UserBert(eager.bert, order)
        self.cls = eager.cls

    def answer(self, input_ids: Tensor, attention_mask: Tensor,
               token_type_ids: Optional[Tensor]) -> Dict[str, Tensor]:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids)[0]
        return {"logits": self.cls(hidden)}


class UserModel(UserBert):
    """BertModel: its parts at the top level, as transformers' BertModel; answer ->
    last_hidden_state (and pooler_output when it has a pooler)."""

    def answer(self, input_ids: Tensor, attention_mask: Tensor,
               token_type_ids: Optional[Tensor]) -> Dict[str, Tensor]:
        out = self.encode(input_ids, attention_mask, token_type_ids)
        if len(out) == 1:
            return {"last_hidden_state": out[0]}
        return {"last_hidden_state": out[0], "pooler_output": out[1]}


class UserSequenceClassification(nn.Module):
    """BertForSequenceClassification: bert (with pooler), dropout, classifier; answer -> logits."""

    def __init__(self, eager: nn.Module, order: List[str]) -> None:
        super().__init__()
        self.bert = UserBert(eager.bert, order)
        self.dropout = nn.Dropout(0.1)
        self.classifier = eager.classifier

    def answer(self, input_ids: Tensor, attention_mask: Tensor,
               token_type_ids: Optional[Tensor]) -> Dict[str, Tensor]:
        pooled = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids)[1]
        return {"logits": self.classifier(self.dropout(pooled))}


class UserTokenClassification(nn.Module):
    """BertForTokenClassification: bert (no pooler), dropout, classifier; answer -> logits."""

    def __init__(self, eager: nn.Module, order: List[str]) -> None:
        super().__init__()
        self.bert = UserBert(eager.bert, order)
        self.dropout = nn.Dropout(0.1)
        self.classifier = eager.classifier

    def answer(self, input_ids: Tensor, attention_mask: Tensor,
               token_type_ids: Optional[Tensor]) -> Dict[str, Tensor]:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids)[0]
        return {"logits": self.classifier(self.dropout(hidden))}


USER_MODULES = {"BertForMaskedLM": UserMaskedLM, "BertModel": UserModel,
                "BertForSequenceClassification": UserSequenceClassification,
                "BertForTokenClassification": UserTokenClassification}


def _pack(answer: Dict[str, Tensor], output: str):
    if output == "dict":
        return answer
    values = tuple(answer.values())
    return values[0] if output == "tensor" else values


# The parent forward's signature (a trace names its parameters after them): the inputs each takes,
# in order, and the names it gives them.
def _ids_mask_types(self, input_ids, attention_mask, token_type_ids):
    return _pack(self.answer(input_ids, attention_mask, token_type_ids), self.output)


def _mask_ids_types(self, attention_mask, input_ids, token_type_ids):
    return _pack(self.answer(input_ids, attention_mask, token_type_ids), self.output)


def _types_mask_ids(self, token_type_ids, attention_mask, input_ids):
    return _pack(self.answer(input_ids, attention_mask, token_type_ids), self.output)


def _ids_mask(self, input_ids, attention_mask):
    return _pack(self.answer(input_ids, attention_mask, None), self.output)


def _mask_ids(self, attention_mask, input_ids):
    return _pack(self.answer(input_ids, attention_mask, None), self.output)


def _unnamed(self, x, y):
    return _pack(self.answer(x, y, None), self.output)


def _unnamed_swapped(self, a, b):
    return _pack(self.answer(b, a, None), self.output)


# name -> (forward, the inputs in the order forward takes them)
SIGNATURES = {
    "ids_mask_types": (_ids_mask_types, ["input_ids", "attention_mask", "token_type_ids"]),
    "mask_ids_types": (_mask_ids_types, ["attention_mask", "input_ids", "token_type_ids"]),
    "types_mask_ids": (_types_mask_ids, ["token_type_ids", "attention_mask", "input_ids"]),
    "ids_mask": (_ids_mask, ["input_ids", "attention_mask"]),
    "mask_ids": (_mask_ids, ["attention_mask", "input_ids"]),
    "unnamed": (_unnamed, ["input_ids", "attention_mask"]),
    "unnamed_swapped": (_unnamed_swapped, ["attention_mask", "input_ids"]),
}


def user_module(eager: nn.Module, architecture: str, signature: str, output: str,
                order: List[str]) -> nn.Module:
    """The module a user would trace: `eager`'s weights (shared), the given forward signature,
    output kind (tuple | dict | tensor) and encoder parameter order."""
    base = USER_MODULES[architecture]
    forward, _ = SIGNATURES[signature]
    cls = type(f"{base.__name__}_{signature}", (base,), {"forward": forward})
    module = cls(eager, order)
    module.output = output
    return module.eval()


def trace(module: nn.Module, signature: str, ids: Tensor, types: Tensor,
          strict: bool = True) -> torch.jit.ScriptModule:
    """torch.jit.trace with the example inputs in the order the signature takes them."""
    by_name = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": types}
    example = tuple(by_name[n] for n in SIGNATURES[signature][1])
    # check_trace re-runs the module to compare; these modules have no data-dependent control flow.
    return torch.jit.trace(module, example, strict=strict, check_trace=False)


class ScriptedMaskedLM(nn.Module):
    """A masked LM as a user scripts one: forward -> (logits,) through a method of its own (a
    scripted graph keeps it as a call on self) and the bert and cls submodules; no fill_mask_logits."""

    def __init__(self, eager: nn.Module) -> None:
        super().__init__()
        self.bert = eager.bert
        self.cls = eager.cls

    def sequence_output(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor) -> Tensor:
        return self.bert(input_ids, attention_mask, token_type_ids)

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                token_type_ids: Tensor) -> Tuple[Tensor]:
        return (self.cls(self.sequence_output(input_ids, attention_mask, token_type_ids)),)


def script(eager: nn.Module, architecture: str) -> torch.jit.ScriptModule:
    """torch.jit.script as users do: the masked LM through ScriptedMaskedLM (the eager class would
    bring the exporter's fill_mask_logits), the other architectures as they are."""
    module = ScriptedMaskedLM(eager) if architecture == "BertForMaskedLM" else eager
    return torch.jit.script(module.eval())
